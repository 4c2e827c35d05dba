#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "crpsgd/dataset.h"
#include "testing/temp_dir.h"

namespace crpsgd {
namespace {

using testing::TempDir;

TEST(LibsvmReaderTest, ReadsSparseRowsLabelsAndComments) {
  TempDir dir;
  const auto path = dir.Write("a.libsvm",
                              "# a comment line\n"
                              "+1 1:0.5 3:-2   # trailing comment\n"
                              "\n"
                              "0 2:1e-1\r\n"
                              "-1\n"
                              "1 3:4\n");
  auto data = ReadLibsvm(path);
  ASSERT_TRUE(data.ok()) << data.status().ToString();
  EXPECT_TRUE(data->is_sparse);
  ASSERT_EQ(data->num_samples(), 4u);
  EXPECT_EQ(data->num_features(), 3u);
  EXPECT_EQ(data->labels, (std::vector<double>{1, -1, -1, 1}));  // 0 is mapped to -1
  EXPECT_DOUBLE_EQ(data->sparse.coeff(0, 0), 0.5);
  EXPECT_DOUBLE_EQ(data->sparse.coeff(0, 2), -2.0);
  EXPECT_DOUBLE_EQ(data->sparse.coeff(1, 1), 0.1);
  EXPECT_EQ(data->sparse.row(2).nonZeros(), 0);  // a sample with no features
  EXPECT_DOUBLE_EQ(data->sparse.coeff(3, 2), 4.0);
}

TEST(LibsvmReaderTest, RegressionLabelsAndDeclaredWidth) {
  TempDir dir;
  const auto path = dir.Write("r.libsvm", "2.5 1:1\n-0.75 2:1\n");
  LibsvmOptions options;
  options.labels = LabelKind::kRegression;
  options.num_features = 5;
  auto data = ReadLibsvm(path, options);
  ASSERT_TRUE(data.ok()) << data.status().ToString();
  EXPECT_EQ(data->labels, (std::vector<double>{2.5, -0.75}));
  EXPECT_EQ(data->num_features(), 5u);
}

struct Malformed {
  const char* name;
  const char* content;
  StatusCode code;
  const char* fragment;  // the message must contain this
};

void PrintTo(const Malformed& m, std::ostream* os) { *os << m.name; }

class LibsvmMalformedTest : public ::testing::TestWithParam<Malformed> {};

TEST_P(LibsvmMalformedTest, IsRefusedWithFileLineAndReason) {
  const Malformed& m = GetParam();
  TempDir dir;
  const auto path = dir.Write("bad.libsvm", m.content);
  auto data = ReadLibsvm(path);
  ASSERT_FALSE(data.ok());
  EXPECT_EQ(data.status().code(), m.code);
  EXPECT_NE(data.status().message().find(m.fragment), std::string::npos) << data.status().message();
  EXPECT_NE(data.status().message().find("bad.libsvm"), std::string::npos) << data.status().message();
}

INSTANTIATE_TEST_SUITE_P(
    Table, LibsvmMalformedTest,
    ::testing::Values(
        Malformed{"bad_label", "1 1:1\nabc 1:2\n", StatusCode::kCorruption, ":2: label 'abc'"},
        Malformed{"non_binary_label", "1 1:1\n2 1:2\n", StatusCode::kCorruption, ":2: label '2' is not a binary label"},
        Malformed{"index_zero", "1 0:1\n", StatusCode::kCorruption, ":1: feature index 0 is below 1"},
        Malformed{"negative_index", "1 -3:1\n", StatusCode::kCorruption, ":1: feature index -3 is below 1"},
        Malformed{"huge_index", "1 244444444444444422:-0.31\n", StatusCode::kCorruption,
                  ":1: feature index 244444444444444422 exceeds the limit of 67108864 features"},
        Malformed{"not_increasing", "1 2:1 2:3\n", StatusCode::kCorruption, ":1: feature index 2 does not increase"},
        Malformed{"index_not_integer", "1 x:1\n", StatusCode::kCorruption, ":1: feature index 'x' is not an integer"},
        Malformed{"value_not_number", "-1 1:1\n1 2:abc\n", StatusCode::kCorruption,
                  ":2: feature value 'abc' is not a finite number"},
        Malformed{"value_nan", "1 1:nan\n", StatusCode::kCorruption, ":1: feature value 'nan'"},
        Malformed{"value_inf", "1 1:inf\n", StatusCode::kCorruption, ":1: feature value 'inf'"},
        Malformed{"no_colon", "1 5\n", StatusCode::kCorruption, ":1: '5' is not of the form index:value"},
        Malformed{"empty_file", "", StatusCode::kCorruption, "contains no samples"},
        Malformed{"only_comments", "# nothing\n\n", StatusCode::kCorruption, "contains no samples"},
        Malformed{"binary_garbage", "\x01\x02\xff\xfe\n", StatusCode::kCorruption, ":1: label"}),
    [](const auto& p) { return std::string(p.param.name); });

TEST(LibsvmReaderTest, MissingFileAndDirectory) {
  TempDir dir;
  auto missing = ReadLibsvm(dir / "nope.libsvm");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("nope.libsvm"), std::string::npos);
  auto directory = ReadLibsvm(dir.path());
  EXPECT_EQ(directory.status().code(), StatusCode::kInvalidArgument);
}

TEST(LibsvmReaderTest, IndexBeyondDeclaredWidthIsRefused) {
  TempDir dir;
  LibsvmOptions options;
  options.num_features = 2;
  auto data = ReadLibsvm(dir.Write("w.libsvm", "1 3:1\n"), options);
  ASSERT_FALSE(data.ok());
  EXPECT_NE(data.status().message().find("exceeds the 2 features"), std::string::npos);
}

// heart_scale ships with Debian's liblinear-tools: 270 samples, 13 features.
TEST(LibsvmReaderTest, ReadsRealHeartScale) {
  const std::filesystem::path path = "/usr/share/doc/liblinear-tools/examples/heart_scale";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "liblinear-tools is not installed";
  auto data = ReadLibsvm(path);
  ASSERT_TRUE(data.ok()) << data.status().ToString();
  EXPECT_EQ(data->num_samples(), 270u);
  EXPECT_EQ(data->num_features(), 13u);
  int positives = 0;
  for (double y : data->labels) positives += y > 0;
  EXPECT_EQ(positives, 120);
}

}  // namespace
}  // namespace crpsgd
