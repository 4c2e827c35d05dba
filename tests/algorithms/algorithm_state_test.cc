// Each algorithm's own state (Algorithm::SaveState): a run stopped after a
// round and continued by a fresh algorithm from its record, x, the sampler
// and the run's progress ends bit for bit where the uninterrupted run does;
// a record of another version, cut short or with bytes left over is refused
// naming the algorithm.
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "algorithms/algorithm_internal.h"
#include "crpsgd/crpsgd.h"
#include "testing/problems.h"

namespace crpsgd {
namespace {

// Stops the run after round `stop_at`, keeping what a checkpoint would.
class StopAfter final : public RoundObserver {
 public:
  StopAfter(std::uint64_t stop_at, const Algorithm& algorithm, const RunProgress& run, const Sampler& sampler)
      : stop_at_(stop_at), algorithm_(algorithm), progress_(run), sampler_(sampler) {}
  Status OnRound(const RoundRecord& record, std::span<const double> now) override {
    if (record.round != stop_at_) return Status::OK();
    x.assign(now.begin(), now.end());
    progress = progress_;
    state = algorithm_.SaveState();
    sampler_state = sampler_.SaveState();
    return Status::Stopped("stop");
  }
  std::vector<double> x;
  RunProgress progress;
  std::string state, sampler_state;

 private:
  std::uint64_t stop_at_;
  const Algorithm& algorithm_;
  const RunProgress& progress_;
  const Sampler& sampler_;
};

class Nothing final : public RoundObserver {
 public:
  Status OnRound(const RoundRecord&, std::span<const double>) override { return Status::OK(); }
};

AlgorithmOptions Options(AlgorithmKind kind) {
  AlgorithmOptions o;
  o.kind = kind;
  o.budget = 600;
  o.lr = 0.2;
  o.batch = 2;
  o.params.Set("b1", std::uint64_t{2});
  o.params.Set("rho", 1.3);
  o.params.Set("sync_period", std::uint64_t{4});
  o.momentum = kind == AlgorithmKind::kAccCrPsgd ? 0.0 : 0.5;  // a velocity to carry over (acc: its own momentum)
  if (kind == AlgorithmKind::kLocalSgd || kind == AlgorithmKind::kAuto) o.params.Set("outer_momentum", 0.5);
  if (kind == AlgorithmKind::kAuto) o.rounds = 12, o.batch = 1;
  if (kind == AlgorithmKind::kCrPsgdCatalyst) o.budget = 2000;  // K = 63 inner runs of 31 samples
  return o;
}

bool SameBits(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
}

class AlgorithmStateTest : public ::testing::TestWithParam<AlgorithmKind> {};

void ExpectAFreshAlgorithmGoesOnBitForBit(const AlgorithmOptions& options) {
  const Dataset data = testing::SmallDense(200, 5, SyntheticTask::kBinary);
  const int workers = 2;
  const std::uint64_t seed = 3;
  std::vector<std::vector<double>> whole(workers), resumed(workers);
  const Status status = RunInProcess(workers, [&](Communicator& comm) -> Status {
    const LinearModelObjective f(Problem::kLogistic,
                                 SelectRows(data, ShardIndices(data.num_samples(), comm.rank(), workers, seed)), 1e-3);
    Nothing nothing;
    {  // uninterrupted
      auto sampler = MakeSampler(options.sampling, f.num_samples(), seed, {comm.rank(), comm.size()});
      RunProgress progress;
      std::vector<double>& x = whole[comm.rank()];
      x.assign(f.dim(), 0.0);
      CRPSGD_RETURN_IF_ERROR(MakeAlgorithm(options)->Run(comm, f, *sampler, x, nothing, progress).status());
    }
    auto sampler = MakeSampler(options.sampling, f.num_samples(), seed, {comm.rank(), comm.size()});
    RunProgress progress;
    std::unique_ptr<Algorithm> first = MakeAlgorithm(options);
    StopAfter stop(5, *first, progress, *sampler);
    std::vector<double> x(f.dim(), 0.0);
    const auto stopped = first->Run(comm, f, *sampler, x, stop, progress);
    if (stopped.status().code() != StatusCode::kStopped) return Status::Internal("the run did not stop at round 5");
    // A fresh algorithm and sampler, from the record alone.
    std::unique_ptr<Algorithm> second = MakeAlgorithm(options);
    CRPSGD_RETURN_IF_ERROR(second->LoadState(stop.state));
    auto fresh_sampler = MakeSampler(options.sampling, f.num_samples(), seed, {comm.rank(), comm.size()});
    CRPSGD_RETURN_IF_ERROR(fresh_sampler->LoadState(stop.sampler_state));
    RunProgress from = stop.progress;
    EXPECT_EQ(from.rounds, 5u);
    resumed[comm.rank()] = stop.x;
    return second->Run(comm, f, *fresh_sampler, resumed[comm.rank()], nothing, from).status();
  });
  ASSERT_TRUE(status.ok()) << status.ToString();
  for (int rank = 0; rank < workers; ++rank) EXPECT_TRUE(SameBits(whole[rank], resumed[rank])) << "rank " << rank;
}

TEST_P(AlgorithmStateTest, AFreshAlgorithmGoesOnFromTheRecordBitForBit) {
  ExpectAFreshAlgorithmGoesOnBitForBit(Options(GetParam()));
}

// --compress: each worker's error-feedback residual is in its record.
TEST_P(AlgorithmStateTest, WithCompressionTheResidualGoesOnToo) {
  AlgorithmOptions options = Options(GetParam());
  // auto compresses without outer momentum, which reads the noise statistic a compressed message cannot carry.
  if (GetParam() == AlgorithmKind::kAuto) options.params.Set("outer_momentum", 0.0);
  if (options.Validate(2).ok()) {
    options.compression = Compression::kInt8;
    if (!options.Validate(2).ok()) GTEST_SKIP() << AlgorithmName(GetParam()) << " does not compress";
  }
  ExpectAFreshAlgorithmGoesOnBitForBit(options);
}

// --overlap (local-sgd and auto): the step computed but not yet sent at a
// report is in the record, and a fresh algorithm sends it first.
TEST(AlgorithmStateOverlapTest, TheUnsentStepGoesOnToo) {
  for (const AlgorithmKind kind : {AlgorithmKind::kLocalSgd, AlgorithmKind::kAuto}) {
    AlgorithmOptions options = Options(kind);
    options.params.Set("outer_momentum", 0.0);  // auto overlaps without it (it reads the noise statistic)
    options.overlap = true;
    ASSERT_TRUE(options.Validate(2).ok()) << options.Validate(2).ToString();
    SCOPED_TRACE(AlgorithmName(kind));
    ExpectAFreshAlgorithmGoesOnBitForBit(options);
  }
}

TEST_P(AlgorithmStateTest, ARecordOfAnotherVersionCutShortOrTooLongIsRefused) {
  const AlgorithmOptions options = Options(GetParam());
  const std::string name = AlgorithmName(options.kind);
  const std::string record = MakeAlgorithm(options)->SaveState();
  ASSERT_GE(record.size(), 8u);
  EXPECT_TRUE(MakeAlgorithm(options)->LoadState(record).ok());

  const int current = record[0];  // the version (little-endian u64)
  std::string newer = record;
  newer[0] = static_cast<char>(current + 1);
  const Status version = MakeAlgorithm(options)->LoadState(newer);
  EXPECT_EQ(version.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(version.message().find(name + "'s state is version " + std::to_string(current + 1) +
                                   ", this crpsgd reads versions 1 to " + std::to_string(current)),
            std::string::npos)
      << version.message();
  // An older record is this one without its newest fields, each empty here (8 bytes a vector):
  // version 2 of local-sgd and auto lacks --overlap's two unsent vectors, version 1 --compress's residual too.
  const bool overlaps = name == "local-sgd" || name == "auto";
  if (overlaps) {
    std::string older = record.substr(0, record.size() - 16);
    older[0] = 2;
    EXPECT_TRUE(MakeAlgorithm(options)->LoadState(older).ok()) << "a record from before --overlap";
  }
  if (current == 2 || overlaps) {
    std::string older = record.substr(0, record.size() - (overlaps ? 24 : 8));
    older[0] = 1;
    EXPECT_TRUE(MakeAlgorithm(options)->LoadState(older).ok()) << "a record from before --compress";
  }

  const Status cut = MakeAlgorithm(options)->LoadState(record.substr(0, record.size() - 1));
  EXPECT_EQ(cut.code(), StatusCode::kCorruption);
  EXPECT_NE(cut.message().find(name + "'s state: truncated"), std::string::npos) << cut.message();

  const Status longer = MakeAlgorithm(options)->LoadState(record + "x");
  EXPECT_EQ(longer.code(), StatusCode::kCorruption);
  EXPECT_NE(longer.message().find(name + "'s state: bytes left over"), std::string::npos) << longer.message();
}

INSTANTIATE_TEST_SUITE_P(EveryAlgorithm, AlgorithmStateTest,
                         ::testing::Values(AlgorithmKind::kPsgd, AlgorithmKind::kCrPsgd, AlgorithmKind::kLocalSgd,
                                           AlgorithmKind::kCrPsgdCatalyst, AlgorithmKind::kAuto,
                                           AlgorithmKind::kAccCrPsgd),
                         [](const ::testing::TestParamInfo<AlgorithmKind>& param) {
                           std::string name = AlgorithmName(param.param);
                           for (char& c : name) c = c == '-' ? '_' : c;
                           return name;
                         });

}  // namespace
}  // namespace crpsgd
