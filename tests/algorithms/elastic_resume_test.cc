// A run resumed on another number of workers (issue 43): 4 workers, stopped,
// resumed on 3, stopped, resumed on 4, for every algorithm, in process. With
// --sampling global the samples that made it into the model are the very
// multiset the uninterrupted run used, the rounds and SFO are as planned, and
// f − f* ends at most 5% above the uninterrupted run's. --sampling reshuffle is
// refused, naming the way out.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "crpsgd/crpsgd.h"
#include "testing/problems.h"
#include "testing/temp_dir.h"

namespace crpsgd {
namespace {

// A worker's objective over the whole set that keeps every sample index its
// gradients read, and how many it had read when each round ended.
class Counting final : public Objective {
 public:
  explicit Counting(const Objective& inner) : inner_(inner) {}
  std::size_t dim() const override { return inner_.dim(); }
  std::size_t num_samples() const override { return inner_.num_samples(); }
  double AccumulateGradient(std::span<const double> x, std::span<const std::size_t> samples,
                            std::span<double> grad) const override {
    read.insert(read.end(), samples.begin(), samples.end());
    return inner_.AccumulateGradient(x, samples, grad);
  }
  void AddGradient(std::span<const double> x, std::span<const std::size_t> samples,
                   std::span<double> grad) const override {
    read.insert(read.end(), samples.begin(), samples.end());
    inner_.AddGradient(x, samples, grad);
  }
  double Loss(std::span<const double> x, std::span<const std::size_t> samples) const override {
    return inner_.Loss(x, samples);
  }
  bool convex() const override { return inner_.convex(); }
  mutable std::vector<std::size_t> read;

 private:
  const Objective& inner_;
};

// Notes how many samples `counting` had read at the end of each round, and
// stops the run after round `stop_at` (0: never).
class RoundMarks final : public RoundObserver {
 public:
  RoundMarks(const Counting& counting, std::uint64_t stop_at) : counting_(counting), stop_at_(stop_at) {}
  Status OnRound(const RoundRecord& record, std::span<const double>) override {
    read_by_round[record.round] = counting_.read.size();
    if (stop_at_ != 0 && record.round == stop_at_) return Status::Stopped("stopped by the test");
    return Status::OK();
  }
  std::map<std::uint64_t, std::size_t> read_by_round;

 private:
  const Counting& counting_;
  std::uint64_t stop_at_;
};

AlgorithmOptions Options(AlgorithmKind kind) {
  AlgorithmOptions o;
  o.kind = kind;
  o.sampling = Sampling::kGlobal;
  o.budget = 600;
  o.lr = 0.5;
  o.batch = 4;
  o.params.Set("b1", std::uint64_t{4});
  o.params.Set("rho", 1.1);
  o.params.Set("sync_period", std::uint64_t{4});
  o.momentum = kind == AlgorithmKind::kAccCrPsgd ? 0.0 : 0.5;  // a velocity to carry over (and, local, to average)
  if (kind == AlgorithmKind::kAuto) o.rounds = 15, o.batch = 1;
  if (kind == AlgorithmKind::kCrPsgdCatalyst) o.budget = 2000;
  return o;
}

struct Leg {
  int workers;
  std::uint64_t stop_at;  // 0: to the end
};

struct LegResult {
  std::vector<std::size_t> used;  // the samples up to the checkpoint the next leg goes on from
  std::optional<RunSummary> summary;
};

// One leg of a run: `workers` in process, resuming from `dir` unless first.
LegResult RunLeg(const AlgorithmOptions& options, const Dataset& data, const std::filesystem::path& dir, Leg leg,
                 bool resume) {
  const std::uint64_t seed = 5;
  LegResult result;
  std::mutex mutex;
  std::vector<std::vector<std::size_t>> read(static_cast<std::size_t>(leg.workers));
  std::vector<std::map<std::uint64_t, std::size_t>> marks(static_cast<std::size_t>(leg.workers));
  const Status status = RunInProcess(leg.workers, [&](Communicator& comm) -> Status {
    const LinearModelObjective shard(
        Problem::kLogistic, SelectRows(data, ShardIndices(data.num_samples(), comm.rank(), comm.size(), seed)), 1e-3);
    const LinearModelObjective whole(Problem::kLogistic, data, 1e-3);
    const Counting counting(whole);
    RoundMarks round_marks(counting, leg.stop_at);
    TrainOptions train;
    train.algorithm = options;
    train.seed = seed;
    train.global_objective = &counting;
    train.observers = {&round_marks};
    if (!dir.empty()) train.checkpoint = {dir, 1, resume, {}};
    Result<RunSummary> summary = Train(train, shard, comm);
    const auto at = static_cast<std::size_t>(comm.rank());
    read[at] = counting.read;
    marks[at] = round_marks.read_by_round;
    if (summary.ok() && comm.rank() == 0) {
      const std::lock_guard<std::mutex> lock(mutex);
      result.summary = *summary;
    }
    return summary.status().code() == StatusCode::kStopped ? Status::OK() : summary.status();
  });
  EXPECT_TRUE(status.ok()) << status.ToString();
  // What the next leg goes on from: the samples read up to the last checkpoint.
  std::uint64_t kept_round = 0;
  if (result.summary) {
    kept_round = result.summary->rounds;
  } else {
    std::ifstream latest(dir / "LATEST");
    kept_round = nlohmann::json::parse(latest)["round"].get<std::uint64_t>();
  }
  for (std::size_t w = 0; w < read.size(); ++w) {
    const std::size_t upto = marks[w].count(kept_round) != 0 ? marks[w][kept_round] : read[w].size();
    result.used.insert(result.used.end(), read[w].begin(), read[w].begin() + static_cast<std::ptrdiff_t>(upto));
  }
  return result;
}

class ElasticResumeTest : public ::testing::TestWithParam<AlgorithmKind> {};

TEST_P(ElasticResumeTest, FourThenThreeThenFourWorkersUseTheSameSamplesAndEndAsClose) {
  const AlgorithmOptions options = Options(GetParam());
  const Dataset data = testing::SmallDense(500, 6, SyntheticTask::kBinary);
  LegResult reference = RunLeg(options, data, {}, {4, 0}, false);
  ASSERT_TRUE(reference.summary);
  const RunSummary& whole = *reference.summary;
  ASSERT_GE(whole.rounds, 6u);
  testing::TempDir dir;
  const std::filesystem::path checkpoints = dir.path() / "checkpoint";
  std::vector<std::size_t> used;
  std::optional<RunSummary> last;
  const Leg legs[] = {{4, whole.rounds / 3}, {3, 2 * whole.rounds / 3}, {4, 0}};
  for (std::size_t i = 0; i < 3; ++i) {
    LegResult leg = RunLeg(options, data, checkpoints, legs[i], i > 0);
    used.insert(used.end(), leg.used.begin(), leg.used.end());
    last = leg.summary;
  }
  ASSERT_TRUE(last);
  EXPECT_EQ(last->rounds, whole.rounds);
  EXPECT_EQ(last->sfo_total, whole.sfo_total);
  EXPECT_EQ(last->plan_workers, 4);
  std::sort(used.begin(), used.end());
  std::sort(reference.used.begin(), reference.used.end());
  EXPECT_EQ(used.size(), reference.used.size());
  EXPECT_TRUE(used == reference.used) << "the samples used differ from the uninterrupted run's";
  // f − f* against the uninterrupted run's (f* from the whole set on one worker).
  double f_star = 0.0;
  ASSERT_TRUE(RunInProcess(1, [&](Communicator& comm) -> Status {
                const LinearModelObjective f(Problem::kLogistic, data, 1e-3);
                CRPSGD_ASSIGN_OR_RETURN(const Optimum optimum, ComputeOptimum(f, comm));
                f_star = optimum.value;
                return Status::OK();
              }).ok());
  const double ratio = (last->final_loss - f_star) / (whole.final_loss - f_star);
  EXPECT_LT(ratio, 1.05) << "f - f* " << last->final_loss - f_star << ", uninterrupted " << whole.final_loss - f_star;
  std::printf("f - f* against the uninterrupted run's: %.4fx\n", ratio);
}

INSTANTIATE_TEST_SUITE_P(EveryAlgorithm, ElasticResumeTest,
                         ::testing::Values(AlgorithmKind::kPsgd, AlgorithmKind::kCrPsgd, AlgorithmKind::kAccCrPsgd,
                                           AlgorithmKind::kCrPsgdCatalyst, AlgorithmKind::kLocalSgd,
                                           AlgorithmKind::kAuto),
                         [](const auto& p) {
                           std::string name = AlgorithmName(p.param);
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

// --sampling reshuffle passes over each worker's own shard: a run of 4 does
// not go on on 3, and the message says how it could.
TEST(ElasticResumeTest, ReshuffleResumesOnAsManyWorkersOnly) {
  AlgorithmOptions options = Options(AlgorithmKind::kCrPsgd);
  options.sampling = Sampling::kReshuffle;
  const Dataset data = testing::SmallDense(200, 4, SyntheticTask::kBinary);
  testing::TempDir dir;
  const std::filesystem::path checkpoints = dir.path() / "checkpoint";
  for (int workers : {4, 3}) {
    std::string message;
    const Status status = RunInProcess(workers, [&](Communicator& comm) -> Status {
      const LinearModelObjective shard(
          Problem::kLogistic, SelectRows(data, ShardIndices(data.num_samples(), comm.rank(), comm.size(), 5)), 1e-3);
      TrainOptions train;
      train.algorithm = options;
      train.seed = 5;
      train.checkpoint = {checkpoints, 1, workers == 3, {}};
      return Train(train, shard, comm).status();
    });
    if (workers == 4) {
      ASSERT_TRUE(status.ok()) << status.ToString();
    } else {
      EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
      EXPECT_NE(status.message().find("written by a run of 4 workers, this one has 3"), std::string::npos)
          << status.message();
      EXPECT_NE(status.message().find("--sampling reshuffle resumes on as many workers, or on fewer that host"),
                std::string::npos);
    }
  }
}

}  // namespace
}  // namespace crpsgd
