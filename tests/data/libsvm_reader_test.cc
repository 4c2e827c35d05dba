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
        Malformed{"binary_garbage", "\x01\x02\xff\xfe\n", StatusCode::kCorruption,
                  "looks like binary data, not LIBSVM text"}),
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

// Byte-range parts: together they are the whole file, each line in exactly
// one part, in order, for every number of parts (also more parts than lines,
// and boundaries that fall inside lines, comments and blank lines).
TEST(LibsvmReaderTest, PartsTogetherHoldEveryLineOnceInFileOrder) {
  TempDir dir;
  std::string text = "# header comment: 1:2\n";
  for (int i = 0; i < 37; ++i) {
    text += (i % 2 ? "+1" : "-1");
    for (int j = 1; j <= 1 + i % 5; ++j) {
      text += ' ';
      text += std::to_string(j * 3 + i % 3);
      text += ':';
      text += std::to_string(i + j);
    }
    text += i % 7 == 0 ? "  # note\n\n" : "\n";
  }
  text += "1 2:5";  // no newline at the end
  const auto path = dir.Write("parts.libsvm", text);
  const Dataset whole = ReadLibsvm(path).value();
  ASSERT_EQ(whole.num_samples(), 38u);
  for (const int count : {1, 2, 3, 5, 8, 38, 60}) {
    std::vector<double> labels, values, widths;
    std::size_t width = 0;
    for (int k = 0; k < count; ++k) {
      auto part = ReadLibsvm(path, {}, {k, count});
      ASSERT_TRUE(part.ok()) << part.status().ToString();
      width = std::max(width, part->num_features());
      for (std::size_t i = 0; i < part->num_samples(); ++i) {
        labels.push_back(part->labels[i]);
        for (SparseMatrix::InnerIterator it(part->sparse, static_cast<Eigen::Index>(i)); it; ++it) {
          values.push_back(it.value());
          widths.push_back(static_cast<double>(it.col()));
        }
      }
    }
    std::vector<double> whole_values, whole_columns;
    for (Eigen::Index i = 0; i < whole.sparse.rows(); ++i) {
      for (SparseMatrix::InnerIterator it(whole.sparse, i); it; ++it) {
        whole_values.push_back(it.value());
        whole_columns.push_back(static_cast<double>(it.col()));
      }
    }
    EXPECT_EQ(labels, whole.labels) << count << " parts";
    EXPECT_EQ(values, whole_values) << count << " parts";
    EXPECT_EQ(widths, whole_columns) << count << " parts";
    EXPECT_EQ(width, whole.num_features());
  }
}

TEST(LibsvmReaderTest, APartReadsOnlyItsShareAndMayBeEmpty) {
  TempDir dir;
  const auto path = dir.Write("two.libsvm", "1 1:1\n-1 2:1\n");
  // Two lines of 6 bytes: of 4 parts, parts 0 and 2 start the lines.
  std::vector<std::size_t> sizes;
  for (int k = 0; k < 4; ++k) sizes.push_back(ReadLibsvm(path, {}, {k, 4}).value().num_samples());
  EXPECT_EQ(sizes, (std::vector<std::size_t>{1, 0, 1, 0}));
  EXPECT_EQ(ReadLibsvm(path, {}, {1, 2}).value().num_features(), 2u);  // only what it read
  EXPECT_FALSE(ReadLibsvm(path, {}, {2, 2}).ok());
  EXPECT_FALSE(ReadLibsvm(path, {}, {0, 0}).ok());
}

TEST(LibsvmReaderTest, AnErrorInALaterPartNamesItsLineInTheWholeFile) {
  TempDir dir;
  std::string text;
  for (int i = 0; i < 100; ++i) text += i == 76 ? "1 3:x\n" : "1 3:1\n";
  const auto path = dir.Write("late.libsvm", text);
  EXPECT_TRUE(ReadLibsvm(path, {}, {0, 4}).ok());
  auto bad = ReadLibsvm(path, {}, {3, 4});  // lines 76..100
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kCorruption);
  EXPECT_NE(bad.status().message().find("late.libsvm:77: feature value 'x'"), std::string::npos)
      << bad.status().message();
}

// Lines longer than the reader's 4 MiB block are read whole.
TEST(LibsvmReaderTest, ReadsALineLongerThanABlock) {
  TempDir dir;
  std::string text = "1";
  for (int j = 1; j <= 500000; ++j) {
    text += ' ';
    text += std::to_string(j);
    text += ":0.5";
  }
  text += "\n-1 1:2\n";
  ASSERT_GT(text.size(), std::size_t{1} << 22);
  auto data = ReadLibsvm(dir.Write("long.libsvm", text));
  ASSERT_TRUE(data.ok()) << data.status().ToString();
  EXPECT_EQ(data->num_samples(), 2u);
  EXPECT_EQ(data->sparse.row(0).nonZeros(), 500000);
  EXPECT_EQ(data->num_features(), 500000u);
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
