#include <gtest/gtest.h>

#include "crpsgd/enum_table.h"

namespace crpsgd {
namespace {

enum class Color { kRed, kGreen, kBlue };
constexpr EnumTable<Color, 3> kColors{{{{Color::kRed, "red"}, {Color::kGreen, "green"}, {Color::kBlue, "blue"}}}};

TEST(EnumTableTest, NamesAndParsesFromOneTable) {
  EXPECT_STREQ(kColors.Name(Color::kGreen), "green");
  EXPECT_EQ(kColors.Parse("blue", "--color").value(), Color::kBlue);
  EXPECT_EQ(kColors.Choices(), "red, green or blue");
  const Status bad = kColors.Parse("Blue", "--color").status();
  EXPECT_EQ(bad.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.message(), "--color must be red, green or blue, got 'Blue'");
}

}  // namespace
}  // namespace crpsgd
