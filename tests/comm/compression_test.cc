// --compress's wire (compression.h): what bf16 and int8 keep of a message,
// what they cost, and the in-process all-reduce of compressed messages.
#include "crpsgd/compression.h"

#include <cmath>
#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include "crpsgd/inproc.h"

namespace crpsgd {
namespace {

TEST(CompressionTest, Bf16KeepsEightSignificantBitsRoundingToNearestEven) {
  std::vector<double> values = {1.0, -2.5, 0.0, 1.0 + 1.0 / 256, 1.0 + 3.0 / 256, 1.0 + 1.0 / 512, 3.0e38};
  CompressionRoundTrip(values, Compression::kBf16);
  EXPECT_EQ(values[0], 1.0);
  EXPECT_EQ(values[1], -2.5);
  EXPECT_EQ(values[2], 0.0);
  EXPECT_EQ(values[3], 1.0);              // a tie: to the even neighbour, 1
  EXPECT_EQ(values[4], 1.0 + 4.0 / 256);  // a tie: to the even neighbour, 1 + 2⁻⁶
  EXPECT_EQ(values[5], 1.0);              // below half a step
  EXPECT_NEAR(values[6], 3.0e38, 3.0e38 / 128);
  EXPECT_EQ(EncodeValues(values, Compression::kBf16).size(), 2 * values.size());
}

TEST(CompressionTest, Int8KeepsEachValueWithinHalfAStepOfItsBlock) {
  std::vector<double> values(785);
  for (std::size_t i = 0; i < values.size(); ++i)
    values[i] = std::sin(static_cast<double>(i)) * (i < 200 ? 100.0 : 1.0);
  std::vector<double> sent = values;
  CompressionRoundTrip(sent, Compression::kInt8);
  // 785 values: 4 blocks of 197 (3 padded): 4 × (4 + 197) bytes, 0.256× float32's.
  EXPECT_EQ(EncodeValues(values, Compression::kInt8).size(), 804u);
  EXPECT_LE(804.0 / (785.0 * 4.0), 0.26);
  for (std::size_t b = 0; b < 4; ++b) {
    double largest = 0.0;
    for (std::size_t i = b * 197; i < std::min<std::size_t>(785, (b + 1) * 197); ++i) {
      largest = std::max(largest, std::abs(values[i]));
    }
    const double step = static_cast<double>(static_cast<float>(largest / 127.0));
    for (std::size_t i = b * 197; i < std::min<std::size_t>(785, (b + 1) * 197); ++i) {
      ASSERT_LE(std::abs(sent[i] - values[i]), 0.5 * step * (1 + 1e-6)) << "value " << i;
    }
  }
  // The block of the large values (the first) is coarse; the others keep their own precision.
  EXPECT_GT(std::abs(sent[100] - values[100]), 1e-4);
  EXPECT_LT(std::abs(sent[700] - values[700]), 0.5 / 127 + 1e-9);
  std::vector<double> zeros(10, 0.0);
  CompressionRoundTrip(zeros, Compression::kInt8);
  EXPECT_EQ(zeros, std::vector<double>(10, 0.0));
}

// Three workers in process: every worker ends with the encoded mean of the
// encoded messages, the same bits on each, and the mean of what they sent
// within the wire's precision.
TEST(CompressionTest, InProcessCompressedMeanIsTheEncodedMeanOfTheEncodedMessages) {
  const std::size_t len = 600;
  const auto message = [](int rank, std::size_t i) {
    return std::cos(static_cast<double>(rank * 1000 + i)) * (rank + 1);
  };
  for (Compression compression : {Compression::kBf16, Compression::kInt8}) {
    std::vector<std::vector<double>> results(3);
    const Status status = RunInProcess(3, [&](Communicator& comm) -> Status {
      std::vector<double> data(len);
      for (std::size_t i = 0; i < len; ++i) data[i] = message(comm.rank(), i);
      CRPSGD_RETURN_IF_ERROR(comm.AllreduceMeanCompressed(data, compression));
      results[static_cast<std::size_t>(comm.rank())] = data;
      return Status::OK();
    });
    ASSERT_TRUE(status.ok()) << status.ToString();
    EXPECT_EQ(results[0], results[1]);
    EXPECT_EQ(results[0], results[2]);
    for (std::size_t i = 0; i < len; ++i) {
      const double mean = (message(0, i) + message(1, i) + message(2, i)) / 3.0;
      ASSERT_NEAR(results[0][i], mean, compression == Compression::kBf16 ? 0.02 : 0.05) << i;
    }
  }
}

TEST(CompressionTest, NamesParseAndABadOneIsRefused) {
  for (Compression c : {Compression::kNone, Compression::kBf16, Compression::kInt8}) {
    EXPECT_EQ(ParseCompression(CompressionName(c)).value(), c);
  }
  const auto bad = ParseCompression("int4");
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("--compress"), std::string::npos);
}

}  // namespace
}  // namespace crpsgd
