#include <string>

#include <gtest/gtest.h>

#include "crpsgd/dataset.h"
#include "testing/temp_dir.h"

namespace crpsgd {
namespace {

using testing::TempDir;

// One CIFAR-10 record: label, then red, green, blue planes of 32x32 bytes.
std::string Record(unsigned char label, unsigned char red, unsigned char green, unsigned char blue) {
  std::string r(1, static_cast<char>(label));
  r += std::string(1024, static_cast<char>(red));
  r += std::string(1024, static_cast<char>(green));
  r += std::string(1024, static_cast<char>(blue));
  return r;
}

TEST(Cifar10ReaderTest, ReadsRecordsAcrossFilesChannelByChannel) {
  TempDir dir;
  dir.Write("data_batch_1.bin", Record(3, 0, 128, 255) + Record(9, 10, 20, 30));
  dir.Write("data_batch_2.bin", Record(0, 255, 255, 255));
  auto files = Cifar10TrainingFiles(dir.path());
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  ASSERT_EQ(files->size(), 2u);
  auto data = ReadCifar10(*files);
  ASSERT_TRUE(data.ok()) << data.status().ToString();
  EXPECT_EQ(data->num_samples(), 3u);
  EXPECT_EQ(data->num_features(), 3072u);
  EXPECT_EQ(data->image_shape, (std::vector<std::size_t>{3, 32, 32}));
  EXPECT_EQ(data->labels, (std::vector<double>{3, 9, 0}));
  EXPECT_DOUBLE_EQ(data->dense(0, 0), 0.0);               // red plane
  EXPECT_DOUBLE_EQ(data->dense(0, 1024), 128.0 / 255.0);  // green plane
  EXPECT_DOUBLE_EQ(data->dense(0, 3071), 1.0);            // blue plane
  EXPECT_DOUBLE_EQ(data->dense(1, 2048), 30.0 / 255.0);
}

TEST(Cifar10ReaderTest, BinaryTaskKeepsTwoClasses) {
  TempDir dir;
  const auto file = dir.Write("test_batch.bin", Record(3, 0, 0, 0) + Record(5, 0, 0, 0) + Record(1, 0, 0, 0));
  Cifar10Options options;
  options.positive_class = 5;
  options.negative_class = 3;
  auto data = ReadCifar10({file}, options);
  ASSERT_TRUE(data.ok());
  EXPECT_EQ(data->labels, (std::vector<double>{-1, 1}));
}

TEST(Cifar10ReaderTest, WrongSizeIsRefusedBeforeReading) {
  TempDir dir;
  const auto file = dir.Write("data_batch_1.bin", Record(1, 0, 0, 0) + "xyz");
  auto data = ReadCifar10({file});
  ASSERT_FALSE(data.ok());
  EXPECT_EQ(data.status().code(), StatusCode::kCorruption);
  EXPECT_NE(data.status().message().find("size 3076 bytes is not a whole number of 3073-byte"), std::string::npos)
      << data.status().message();
  EXPECT_EQ(ReadCifar10({dir.Write("empty.bin", "")}).status().code(), StatusCode::kCorruption);
}

TEST(Cifar10ReaderTest, BadLabelNamesTheRecord) {
  TempDir dir;
  const auto file = dir.Write("data_batch_1.bin", Record(1, 0, 0, 0) + Record(12, 0, 0, 0));
  auto data = ReadCifar10({file});
  ASSERT_FALSE(data.ok());
  EXPECT_NE(data.status().message().find("data_batch_1.bin: record 1 (byte offset 3073) has label 12, expected 0..9"),
            std::string::npos)
      << data.status().message();
}

TEST(Cifar10ReaderTest, MissingFilesAreNotFound) {
  TempDir dir;
  EXPECT_EQ(Cifar10TrainingFiles(dir.path()).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(ReadCifar10({dir / "test_batch.bin"}).status().code(), StatusCode::kNotFound);
}

TEST(ImageHelpersTest, ChannelStatisticsAndNormalisation) {
  TempDir dir;
  auto data = ReadCifar10({dir.Write("b.bin", Record(0, 0, 100, 200) + Record(1, 100, 100, 0))}).value();
  std::vector<double> mean, stddev;
  ChannelStatistics(data, &mean, &stddev);
  EXPECT_NEAR(mean[0], 50.0 / 255, 1e-12);
  EXPECT_NEAR(stddev[0], 50.0 / 255, 1e-12);
  EXPECT_NEAR(stddev[1], 0.0, 1e-12);
  EXPECT_EQ(NormalizeChannels(data, mean, stddev).code(), StatusCode::kInvalidArgument);  // green has no variance
  stddev[1] = 1.0;
  ASSERT_TRUE(NormalizeChannels(data, mean, stddev).ok());
  EXPECT_NEAR(data.dense(0, 0), -1.0, 1e-12);
  EXPECT_NEAR(data.dense(1, 0), 1.0, 1e-12);
  EXPECT_NEAR(data.dense(0, 2048), 1.0, 1e-12);
}

}  // namespace
}  // namespace crpsgd
