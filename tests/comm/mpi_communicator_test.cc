// Runs under mpirun with any number of ranks (CTest starts it with 1, 2, 4).
#include <cmath>
#include <vector>

#include <gtest/gtest.h>

#include "crpsgd/compression.h"
#include "crpsgd/mpi.h"

namespace crpsgd {
namespace {

double Contribution(int r, std::size_t i) { return std::pow(10.0, (r * 7 + static_cast<int>(i)) % 17 - 8) / 3.0; }

// --overlap's exchange thread calls MPI while the main thread computes: the
// session asks for MPI_THREAD_SERIALIZED, and Debian's OpenMPI grants it (a
// library that did not would make the tool refuse --overlap under mpirun).
TEST(MpiSessionTest, GrantsTheThreadLevelOverlapNeeds) { EXPECT_TRUE(MpiSession::ThreadsSerialized()); }

class MpiTest : public ::testing::TestWithParam<MpiReduction> {};

TEST_P(MpiTest, AllreduceMeanMatchesTheRankOrderSum) {
  auto comm = MakeMpiCommunicator(GetParam());
  ASSERT_TRUE(comm.ok()) << comm.status().ToString();
  Communicator& c = **comm;
  const int n = c.size();
  for (std::size_t len : {std::size_t{1}, std::size_t{37}, std::size_t{10000}}) {
    std::vector<double> data(len);
    for (std::size_t i = 0; i < len; ++i) data[i] = Contribution(c.rank(), i);
    ASSERT_TRUE(c.AllreduceMean(data).ok());
    for (std::size_t i = 0; i < len; ++i) {
      double sum = Contribution(0, i);
      for (int r = 1; r < n; ++r) sum += Contribution(r, i);
      if (GetParam() == MpiReduction::kOrdered) {
        ASSERT_EQ(data[i], sum / n) << "position " << i;  // bit-identical to inproc's order
      } else {
        ASSERT_NEAR(data[i], sum / n, 1e-12 * std::abs(sum));
      }
    }
  }
  EXPECT_EQ(c.stats().training.calls, 3u);
  EXPECT_EQ(c.stats().training.bytes, (1 + 37 + 10000) * sizeof(double));
}

// --compress: each rank's message encoded, the chunks' means encoded again;
// the same bits as the one-process reference (the reduction every backend
// shares), whatever the reduction asked for, and the encoded bytes counted.
TEST_P(MpiTest, CompressedMeanIsTheEncodedMeanOfTheEncodedMessages) {
  auto comm = MakeMpiCommunicator(GetParam());
  ASSERT_TRUE(comm.ok()) << comm.status().ToString();
  Communicator& c = **comm;
  const int n = c.size();
  for (Compression compression : {Compression::kBf16, Compression::kInt8}) {
    const std::size_t len = 1000;
    std::vector<double> data(len);
    for (std::size_t i = 0; i < len; ++i) data[i] = Contribution(c.rank(), i) * (i % 2 == 0 ? 1 : -1);
    ASSERT_TRUE(c.AllreduceMeanCompressed(data, compression).ok());
    // The reference: every rank's encoded message, reduced as one chunk.
    std::vector<std::vector<std::byte>> wires;
    std::vector<const std::byte*> sources;
    for (int r = 0; r < n; ++r) {
      std::vector<double> theirs(len);
      for (std::size_t i = 0; i < len; ++i) theirs[i] = Contribution(r, i) * (i % 2 == 0 ? 1 : -1);
      wires.push_back(EncodeValues(theirs, compression));
    }
    for (const auto& wire : wires) sources.push_back(wire.data());
    const DataType type = WireTypeOf(compression, len);
    std::vector<std::byte> mean(wires[0].size());
    ReduceChunk(mean.data(), sources, mean.size() / DataTypeSize(type), type);
    std::vector<double> expected(len);
    DecodeValues(mean, compression, expected);
    for (std::size_t i = 0; i < len; ++i) ASSERT_EQ(data[i], expected[i]) << CompressionName(compression) << " " << i;
  }
  // 1000 values: bf16 2 bytes each; int8 4 blocks of 250 and a float32 scale each.
  EXPECT_EQ(c.stats().training.bytes, 2000u + 4u * 254u);
}

TEST_P(MpiTest, FloatBroadcastBarrier) {
  auto comm = MakeMpiCommunicator(GetParam());
  ASSERT_TRUE(comm.ok());
  Communicator& c = **comm;
  std::vector<float> f(3, static_cast<float>(c.rank() + 1));
  ASSERT_TRUE(c.AllreduceMean(f).ok());
  EXPECT_FLOAT_EQ(f[2], (c.size() + 1) / 2.0f);
  std::vector<double> b(5, c.rank() == 0 ? 3.5 : 0.0);
  ASSERT_TRUE(c.Broadcast(b, 0).ok());
  EXPECT_EQ(b[4], 3.5);
  EXPECT_TRUE(c.Barrier().ok());
  EXPECT_EQ(c.Broadcast(b, c.size()).code(), StatusCode::kInvalidArgument);  // no such root
  EXPECT_EQ(c.stats().evaluation.calls, 1u);
}

TEST_P(MpiTest, RanksStartedOnThisMachineShareOneMachine) {
  auto comm = MakeMpiCommunicator(GetParam());
  ASSERT_TRUE(comm.ok());
  // CTest's mpirun starts every rank here, in one network namespace.
  EXPECT_EQ((**comm).machines(), 1);
}

INSTANTIATE_TEST_SUITE_P(Reductions, MpiTest, ::testing::Values(MpiReduction::kOrdered, MpiReduction::kNative));

}  // namespace
}  // namespace crpsgd

int main(int argc, char** argv) {
  crpsgd::MpiSession session(&argc, &argv);
  ::testing::InitGoogleTest(&argc, argv);
  // Only rank 0 prints; every rank runs and fails on its own.
  if (session.world_rank() != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
  }
  return RUN_ALL_TESTS();
}
