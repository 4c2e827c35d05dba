#include <zlib.h>

#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "crpsgd/dataset.h"
#include "testing/problems.h"
#include "testing/temp_dir.h"

namespace crpsgd {
namespace {

using testing::IdxBytes;
using testing::TempDir;

// 4 images of 2x3 pixels, classes 0, 1, 2, 0.
struct TinyIdx {
  std::vector<std::uint8_t> pixels = {0,  255, 10, 20, 30, 40,  //
                                      1,  2,   3,  4,  5,  6,   //
                                      7,  8,   9,  10, 11, 12,  //
                                      13, 14,  15, 16, 17, 255};
  std::vector<std::uint8_t> labels = {0, 1, 2, 0};
};

void WriteGzip(const std::filesystem::path& path, const std::string& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())), static_cast<int>(bytes.size()));
  gzclose(f);
}

TEST(IdxReaderTest, OneAgainstTheRestScaledToUnitInterval) {
  TempDir dir;
  TinyIdx t;
  const auto images = dir.Write("train-images-idx3-ubyte", IdxBytes({4, 2, 3}, t.pixels));
  const auto labels = dir.Write("train-labels-idx1-ubyte", IdxBytes({4}, t.labels));
  EXPECT_EQ(IdxLabelsPathFor(images), labels);
  auto data = ReadIdx(images, labels);
  ASSERT_TRUE(data.ok()) << data.status().ToString();
  EXPECT_FALSE(data->is_sparse);
  EXPECT_EQ(data->num_samples(), 4u);
  EXPECT_EQ(data->num_features(), 6u);
  EXPECT_EQ(data->labels, (std::vector<double>{1, -1, -1, 1}));
  EXPECT_DOUBLE_EQ(data->dense(0, 1), 1.0);
  EXPECT_DOUBLE_EQ(data->dense(0, 2), 10.0 / 255.0);
  EXPECT_DOUBLE_EQ(data->dense(3, 5), 1.0);
}

TEST(IdxReaderTest, GzipAndClassAAgainstB) {
  TempDir dir;
  TinyIdx t;
  WriteGzip(dir / "t10k-images-idx3-ubyte.gz", IdxBytes({4, 2, 3}, t.pixels));
  WriteGzip(dir / "t10k-labels-idx1-ubyte.gz", IdxBytes({4}, t.labels));
  IdxOptions options;
  options.positive_class = 2;
  options.negative_class = 1;
  auto data = ReadIdx(dir / "t10k-images-idx3-ubyte.gz", dir / "t10k-labels-idx1-ubyte.gz", options);
  ASSERT_TRUE(data.ok()) << data.status().ToString();
  ASSERT_EQ(data->num_samples(), 2u);  // only classes 1 and 2 are kept, in file order
  EXPECT_EQ(data->labels, (std::vector<double>{-1, 1}));
  EXPECT_DOUBLE_EQ(data->dense(1, 0), 7.0 / 255.0);
}

TEST(IdxReaderTest, RawClassNumbersWhenNoBinaryTask) {
  TempDir dir;
  TinyIdx t;
  IdxOptions options;
  options.positive_class = -1;
  auto data = ReadIdx(dir.Write("i", IdxBytes({4, 2, 3}, t.pixels)), dir.Write("l", IdxBytes({4}, t.labels)), options);
  ASSERT_TRUE(data.ok());
  EXPECT_EQ(data->labels, (std::vector<double>{0, 1, 2, 0}));
}

struct Malformed {
  const char* name;
  std::string images;
  std::string labels;
  const char* fragment;
};

void PrintTo(const Malformed& m, std::ostream* os) { *os << m.name; }

class IdxMalformedTest : public ::testing::TestWithParam<Malformed> {};

TEST_P(IdxMalformedTest, IsRefusedBeforeAnyLargeAllocation) {
  const Malformed& m = GetParam();
  TempDir dir;
  auto data = ReadIdx(dir.Write("images", m.images), dir.Write("labels", m.labels));
  ASSERT_FALSE(data.ok());
  EXPECT_EQ(data.status().code(), StatusCode::kCorruption);
  EXPECT_NE(data.status().message().find(m.fragment), std::string::npos) << data.status().message();
}

const std::vector<std::uint8_t> kSix(6, 1);

INSTANTIATE_TEST_SUITE_P(
    Table, IdxMalformedTest,
    ::testing::Values(
        Malformed{"empty", "", IdxBytes({1}, {0}), "too short for an IDX header"},
        Malformed{"bad_magic", std::string("\x01\x00\x08\x03", 4), IdxBytes({1}, {0}), "bad magic number"},
        Malformed{"float_type", IdxBytes({1, 2, 3}, kSix, 0x0D), IdxBytes({1}, {0}), "element type 13"},
        Malformed{"wrong_rank", IdxBytes({6}, kSix), IdxBytes({1}, {0}), "has 1 dimensions, expected 3"},
        Malformed{"truncated_header", IdxBytes({1, 2, 3}, {}).substr(0, 9), IdxBytes({1}, {0}), "header is truncated"},
        Malformed{"truncated_data", IdxBytes({1, 2, 3}, {1, 2, 3}), IdxBytes({1}, {0}), "data is truncated"},
        Malformed{"trailing_bytes", IdxBytes({1, 2, 3}, std::vector<std::uint8_t>(7, 1)), IdxBytes({1}, {0}),
                  "bytes after"},
        Malformed{"zero_dimension", IdxBytes({0, 2, 3}, {}), IdxBytes({1}, {0}), "dimension 0 is zero"},
        // 2^32-1 cubed: refused from the header alone, nothing allocated.
        Malformed{"absurd_size", IdxBytes({0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF}, {}), IdxBytes({1}, {0}),
                  "header claims more than"},
        Malformed{"count_mismatch", IdxBytes({1, 2, 3}, kSix), IdxBytes({2}, {0, 1}), "has 2 labels but"}),
    [](const auto& p) { return std::string(p.param.name); });

TEST(IdxReaderTest, MissingLabelsFileIsNotFound) {
  TempDir dir;
  TinyIdx t;
  auto data = ReadIdx(dir.Write("i", IdxBytes({4, 2, 3}, t.pixels)), dir / "missing-labels");
  EXPECT_EQ(data.status().code(), StatusCode::kNotFound);
  EXPECT_NE(data.status().message().find("missing-labels"), std::string::npos);
}

// The real Fashion-MNIST test set from Debian's dataset-fashion-mnist.
TEST(IdxReaderTest, ReadsRealFashionMnist) {
  const std::filesystem::path images = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz";
  if (!std::filesystem::exists(images)) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  auto data = ReadIdx(images, IdxLabelsPathFor(images));
  ASSERT_TRUE(data.ok()) << data.status().ToString();
  EXPECT_EQ(data->num_samples(), 10000u);
  EXPECT_EQ(data->num_features(), 784u);
  int positives = 0;
  for (double y : data->labels) positives += y > 0;
  EXPECT_EQ(positives, 1000);  // 1000 test images per class
  EXPECT_GE(data->dense.minCoeff(), 0.0);
  EXPECT_LE(data->dense.maxCoeff(), 1.0);
}

}  // namespace
}  // namespace crpsgd
