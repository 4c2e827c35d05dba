#include "crpsgd/status.h"

#include <gtest/gtest.h>

namespace crpsgd {
namespace {

Result<int> Half(int v) {
  if (v % 2 != 0) return Status::InvalidArgument("--n must be even (got " + std::to_string(v) + ")");
  return v / 2;
}

Status Quarter(int v, int* out) {
  CRPSGD_ASSIGN_OR_RETURN(int half, Half(v));
  CRPSGD_ASSIGN_OR_RETURN(*out, Half(half));
  return Status::OK();
}

TEST(StatusTest, OkAndErrorsCarryCodeAndMessage) {
  EXPECT_TRUE(Status::OK().ok());
  EXPECT_EQ(Status::OK().ToString(), "OK");
  const Status s = Status::Corruption("a.libsvm:3: bad label");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kCorruption);
  EXPECT_EQ(s.ToString(), "Corruption: a.libsvm:3: bad label");
  EXPECT_EQ(s.WithContext("ReadLibsvm()").message(), "ReadLibsvm(): a.libsvm:3: bad label");
  EXPECT_TRUE(Status::OK().WithContext("x").ok());
}

TEST(StatusTest, MacrosPropagateTheFirstError) {
  int out = 0;
  EXPECT_TRUE(Quarter(8, &out).ok());
  EXPECT_EQ(out, 2);
  const Status s = Quarter(6, &out);  // 6 -> 3 -> odd
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("got 3"), std::string::npos);
}

TEST(StatusListTest, NoneOneOrACountedListAndListsFlatten) {
  StatusList list;
  EXPECT_TRUE(list.ToStatus().ok());
  list.Add(Status::OK());
  list.Add(Status::NotFound("a.libsvm: no such file"));
  EXPECT_EQ(list.ToStatus().message(), "a.libsvm: no such file");  // one: itself
  EXPECT_EQ(list.ToStatus().code(), StatusCode::kNotFound);
  StatusList inner;
  inner.Add(Status::InvalidArgument("--b1 must be >= 1"));
  inner.Add(Status::InvalidArgument("--rho must be > 1"));
  list.Add(inner.ToStatus(), "runs[0]");
  const Status all = list.ToStatus();
  EXPECT_EQ(all.code(), StatusCode::kNotFound);  // the first one's
  EXPECT_EQ(
      all.message(),
      "3 settings are wrong:\n  a.libsvm: no such file\n  runs[0]: --b1 must be >= 1\n  runs[0]: --rho must be > 1");
}

}  // namespace
}  // namespace crpsgd
