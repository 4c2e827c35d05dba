// --overlap (local SGD and auto): a round's exchange runs while the next
// round's local steps compute, and the run still spends its plan, counts one
// all-reduce a round, ends on one model on every worker and repeats bit
// for bit. Kill-and-resume across worker counts is CliElasticResumeTest's.
#include <chrono>
#include <condition_variable>
#include <mutex>

#include <gtest/gtest.h>

#include "crpsgd/crpsgd.h"
#include "testing/problems.h"

namespace crpsgd {
namespace {

using testing::Recorder;

constexpr std::uint64_t kPeriod = 5, kBatch = 2, kBudget = 101;  // 50 steps: 10 rounds

TrainOptions Overlapped() {
  TrainOptions o;
  o.algorithm.kind = AlgorithmKind::kLocalSgd;
  o.algorithm.budget = kBudget;
  o.algorithm.lr = 0.3;
  o.algorithm.batch = kBatch;
  o.algorithm.params.Set("sync_period", kPeriod);
  o.algorithm.overlap = true;
  o.seed = 7;
  return o;
}

// The objective's gradient calls, one a local step (its batch fits one
// micro-batch), and a wait for them to reach a number.
class StepCounter {
 public:
  void Count() {
    std::lock_guard<std::mutex> lock(mutex_);
    ++steps_;
    changed_.notify_all();
  }
  bool WaitFor(std::uint64_t steps) {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, std::chrono::seconds(120), [&] { return steps_ >= steps; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::uint64_t steps_ = 0;
};

class CountedObjective final : public Objective {
 public:
  CountedObjective(const Objective& f, StepCounter& counter) : f_(f), counter_(counter) {}
  std::size_t dim() const override { return f_.dim(); }
  std::size_t num_samples() const override { return f_.num_samples(); }
  double AccumulateGradient(std::span<const double> x, std::span<const std::size_t> samples,
                            std::span<double> grad) const override {
    counter_.Count();
    return f_.AccumulateGradient(x, samples, grad);
  }
  void AddGradient(std::span<const double> x, std::span<const std::size_t> samples,
                   std::span<double> grad) const override {
    counter_.Count();
    f_.AddGradient(x, samples, grad);
  }
  double Loss(std::span<const double> x, std::span<const std::size_t> samples) const override {
    return f_.Loss(x, samples);  // evaluations: no step
  }

 private:
  const Objective& f_;
  StepCounter& counter_;
};

// auto with R = 10 rounds of growing samples, one a local step.
TrainOptions AutoOverlapped() {
  TrainOptions o = Overlapped();
  o.algorithm.kind = AlgorithmKind::kAuto;
  o.algorithm.batch = 1;
  o.algorithm.rounds = 10;
  o.algorithm.lr = 0.1;
  return o;
}

// The local steps a worker has taken by the end of each round ([0] = 0).
std::vector<std::uint64_t> StepsThrough(const AlgorithmOptions& o, std::uint64_t rounds) {
  std::vector<std::uint64_t> steps(rounds + 1, 0);
  const bool automatic = o.kind == AlgorithmKind::kAuto;
  const std::vector<std::uint64_t> samples = automatic ? AutoRoundSamples(o) : std::vector<std::uint64_t>();
  for (std::uint64_t r = 1; r <= rounds; ++r) {
    steps[r] = steps[r - 1] + (automatic ? samples[r - 1] : kPeriod);  // auto: a sample a step
  }
  return steps;
}

// Holds round r's all-reduce until this worker has begun round r+1's local
// steps: a run that waited for its exchange before stepping on would never
// get there (and fails after two minutes instead of hanging). auto's last
// round is not overlapped: it is not held.
class HoldsRoundsForTheNextSteps final : public Communicator {
 public:
  HoldsRoundsForTheNextSteps(Communicator& inner, StepCounter& counter, std::vector<std::uint64_t> steps_through)
      : Communicator(inner.rank(), inner.size()),
        inner_(inner),
        counter_(counter),
        steps_through_(std::move(steps_through)) {}
  const char* backend_name() const override { return inner_.backend_name(); }

 private:
  Status BeforeTrainingRound(std::uint64_t round) override {
    if (round + 1 < steps_through_.size() && !counter_.WaitFor(steps_through_[round] + 1)) {
      return Status::Internal("round " + std::to_string(round) + "'s exchange waited for steps that never came");
    }
    return Status::OK();
  }
  Status DoAllreduceSum(std::span<std::byte> data, DataType type) override {
    return ForwardAllreduceSum(inner_, data, type);
  }
  Status DoBroadcast(std::span<std::byte> data, int root) override { return ForwardBroadcast(inner_, data, root); }
  Status DoBarrier() override { return ForwardBarrier(inner_); }

  Communicator& inner_;
  StepCounter& counter_;
  std::vector<std::uint64_t> steps_through_;
};

struct Outcome {
  std::vector<RunSummary> summaries;
  std::vector<std::vector<RoundRecord>> records;
  std::vector<CommStats> stats;
  Status status;
};

Outcome RunWorkers(const TrainOptions& options, int workers, bool hold_rounds) {
  const Dataset data = testing::SmallDense(120, 5, SyntheticTask::kBinary);
  const std::uint64_t rounds = PlanAlgorithm(options.algorithm, workers).rounds;
  Outcome out;
  out.summaries.resize(workers), out.records.resize(workers), out.stats.resize(workers);
  out.status = RunInProcess(workers, [&](Communicator& comm) -> Status {
    const LinearModelObjective shard(Problem::kLogistic,
                                     SelectRows(data, ShardIndices(data.num_samples(), comm.rank(), workers, 1)), 1e-3);
    StepCounter counter;
    const CountedObjective f(shard, counter);
    HoldsRoundsForTheNextSteps held(comm, counter, StepsThrough(options.algorithm, rounds));
    Communicator& used = hold_rounds ? static_cast<Communicator&>(held) : comm;
    Recorder recorder;
    TrainOptions mine = options;
    mine.observers.push_back(&recorder);
    CRPSGD_ASSIGN_OR_RETURN(out.summaries[comm.rank()], Train(mine, f, used));
    out.records[comm.rank()] = std::move(recorder.records);
    out.stats[comm.rank()] = used.stats();
    return Status::OK();
  });
  return out;
}

TEST(OverlapTest, LocalStepsRunWhileTheRoundsExchangeIsInFlight) {
  const Outcome out = RunWorkers(Overlapped(), 3, /*hold_rounds=*/true);
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  EXPECT_EQ(out.summaries[0].rounds, 10u);
}

TEST(OverlapTest, SpendsThePlanOneAllreduceARoundAndEndsOnOneModel) {
  const TrainOptions options = Overlapped();
  const AlgorithmPlan plan = PlanAlgorithm(options.algorithm, 3);
  const Outcome out = RunWorkers(options, 3, false);
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  for (int w = 0; w < 3; ++w) {
    const RunSummary& s = out.summaries[w];
    EXPECT_EQ(s.rounds, plan.rounds);
    EXPECT_EQ(s.sfo_per_worker, plan.sfo_per_worker);
    EXPECT_EQ(s.budget_left, 1u);
    EXPECT_EQ(out.stats[w].training.calls, plan.rounds);
    EXPECT_EQ(s.x, out.summaries[0].x) << "worker " << w;  // the last round's mean, on every worker
    ASSERT_EQ(out.records[w].size(), plan.rounds + 1);     // and round 0, the start
    for (std::size_t i = 0; i < plan.rounds; ++i) {
      const RoundRecord& r = out.records[w][i + 1];
      EXPECT_EQ(r.round, i + 1);
      EXPECT_EQ(r.local_steps, kPeriod);
      // Round r is reported when its mean arrives, after round r+1's steps.
      EXPECT_EQ(r.sfo_per_worker, std::min<std::uint64_t>(i + 2, plan.rounds) * kPeriod * kBatch);
      EXPECT_TRUE(r.fields.Number("exposed_comm_s").has_value());
      EXPECT_EQ(r.last, i + 1 == plan.rounds);
    }
  }
  EXPECT_TRUE(out.summaries[0].fields.Number("exposed_comm_s").has_value());
  // It trains: the delayed mean still brings the loss down.
  EXPECT_LT(*out.records[0].back().loss, *out.records[0].front().loss);
}

TEST(OverlapTest, IsBitIdenticalRunToRunAndNotTheWaitingRun) {
  TrainOptions options = Overlapped();
  options.algorithm.compression = Compression::kInt8;
  const Outcome first = RunWorkers(options, 4, false), second = RunWorkers(options, 4, false);
  ASSERT_TRUE(first.status.ok() && second.status.ok());
  ASSERT_EQ(first.records[0].size(), second.records[0].size());
  for (std::size_t i = 0; i < first.records[0].size(); ++i) {
    EXPECT_EQ(first.records[0][i].loss, second.records[0][i].loss) << "round " << i + 1;
  }
  EXPECT_EQ(first.summaries[0].x, second.summaries[0].x);
  options.algorithm.overlap = false;  // the mean applied at once: another sequence of models
  const Outcome waiting = RunWorkers(options, 4, false);
  ASSERT_TRUE(waiting.status.ok());
  EXPECT_NE(waiting.summaries[0].x, first.summaries[0].x);
}

TEST(OverlapTest, IsLocalSgdsAndAutosAlone) {
  TrainOptions options = Overlapped();
  options.algorithm.kind = AlgorithmKind::kPsgd;
  const Status status = options.algorithm.Validate(2);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("--overlap is for local-sgd and auto"), std::string::npos) << status.ToString();
  // auto's noise split reads the statistic an overlapped round does not send.
  options = AutoOverlapped();
  options.algorithm.params.Set("round_split", std::string("noise"));
  EXPECT_NE(options.algorithm.Validate(2).message().find("--overlap with auto"), std::string::npos);
}

TEST(OverlapTest, AutosStepsRunWhileTheRoundsExchangeIsInFlight) {
  const Outcome out = RunWorkers(AutoOverlapped(), 3, /*hold_rounds=*/true);
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  EXPECT_EQ(out.summaries[0].rounds, 10u);
}

// auto's rounds grow; round r is reported after round r+1's steps, the last
// when its own (not overlapped) exchange ends. One worker: the overlapped
// run is the waiting run, to rounding (g − (g − x) for x).
TEST(OverlapTest, AutoSpendsItsPlanEndsOnOneModelAndRepeatsBitForBit) {
  const TrainOptions options = AutoOverlapped();
  const AlgorithmPlan plan = PlanAlgorithm(options.algorithm, 3);
  const std::vector<std::uint64_t> through = StepsThrough(options.algorithm, plan.rounds);
  const Outcome out = RunWorkers(options, 3, false), again = RunWorkers(options, 3, false);
  ASSERT_TRUE(out.status.ok() && again.status.ok()) << out.status.ToString();
  for (int w = 0; w < 3; ++w) {
    const RunSummary& s = out.summaries[w];
    EXPECT_EQ(s.rounds, plan.rounds);
    EXPECT_EQ(s.sfo_per_worker, options.algorithm.budget);
    EXPECT_EQ(out.stats[w].training.calls, plan.rounds);
    EXPECT_EQ(s.x, out.summaries[0].x) << "worker " << w;
    ASSERT_EQ(out.records[w].size(), plan.rounds + 1);
    for (std::size_t i = 0; i < plan.rounds; ++i) {
      const RoundRecord& r = out.records[w][i + 1];
      EXPECT_EQ(r.round, i + 1);
      EXPECT_EQ(r.sfo_per_worker, through[std::min<std::size_t>(i + 2, plan.rounds)]) << "round " << i + 1;
      EXPECT_TRUE(r.fields.Number("exposed_comm_s").has_value());
    }
  }
  EXPECT_EQ(again.summaries[0].x, out.summaries[0].x);
  EXPECT_TRUE(out.summaries[0].fields.Number("exposed_comm_s").has_value());
  EXPECT_LT(*out.records[0].back().loss, *out.records[0].front().loss);
  TrainOptions waiting = options;
  waiting.algorithm.overlap = false;
  const Outcome waited = RunWorkers(waiting, 3, false);
  ASSERT_TRUE(waited.status.ok());
  EXPECT_NE(waited.summaries[0].x, out.summaries[0].x);
  const Outcome alone = RunWorkers(options, 1, false), alone_waiting = RunWorkers(waiting, 1, false);
  ASSERT_TRUE(alone.status.ok() && alone_waiting.status.ok());
  for (std::size_t j = 0; j < alone.summaries[0].x.size(); ++j) {
    EXPECT_NEAR(alone.summaries[0].x[j], alone_waiting.summaries[0].x[j], 1e-9) << j;
  }
}

}  // namespace
}  // namespace crpsgd
