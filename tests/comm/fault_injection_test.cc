// FaultInjectingCommunicator: faults in one worker's collectives, in process,
// and what Train does with them: every worker ends with an error (none is
// left waiting), and the checkpoints written before the fault resume to the
// bits of a run that had none.
#include <gtest/gtest.h>

#include <fstream>

#include "crpsgd/crpsgd.h"
#include "crpsgd/fault_injection.h"
#include "testing/problems.h"
#include "testing/temp_dir.h"

namespace crpsgd {
namespace {

TEST(ParseFaultTest, ReadsEveryKindAndRefusesTheRest) {
  struct Case {
    const char* text;
    Fault::Kind kind;
  };
  for (const Case& c :
       {Case{"fail:rank=2,round=7", Fault::Kind::kFail}, Case{"throw:rank=2,round=7", Fault::Kind::kThrow},
        Case{"stop:rank=2,round=7", Fault::Kind::kStop}, Case{"kill:rank=2,round=7", Fault::Kind::kKill}}) {
    const Result<Fault> fault = ParseFault(c.text);
    ASSERT_TRUE(fault.ok()) << c.text;
    EXPECT_EQ(fault->kind, c.kind);
    EXPECT_EQ(fault->rank, 2);
    EXPECT_EQ(fault->round, 7u);
  }
  for (const char* bad : {"", "kill", "kill:rank=1", "kill:rank=-1,round=3", "kill:rank=1,round=0",
                          "explode:rank=1,round=3", "kill:rank=1,round=3x"}) {
    const Result<Fault> fault = ParseFault(bad);
    EXPECT_FALSE(fault.ok()) << bad;
    EXPECT_EQ(fault.status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

constexpr int kWorkers = 3;

// One run on kWorkers in-process workers; with `fault`, through the wrapper.
struct Workers {
  Status status;
  std::vector<RunSummary> summaries = std::vector<RunSummary>(kWorkers);
  std::vector<CommStats> stats = std::vector<CommStats>(kWorkers);
};

Workers TrainOn(const Dataset& data, const TrainOptions& options, const std::optional<Fault>& fault) {
  Workers run;
  run.status = RunInProcess(kWorkers, [&](Communicator& comm) -> Status {
    const LinearModelObjective f(
        Problem::kLogistic, SelectRows(data, ShardIndices(data.num_samples(), comm.rank(), kWorkers, options.seed)),
        1e-3);
    std::optional<FaultInjectingCommunicator> faulty;
    if (fault) faulty.emplace(comm, *fault);
    Communicator& c = faulty ? static_cast<Communicator&>(*faulty) : comm;
    CRPSGD_ASSIGN_OR_RETURN(run.summaries[comm.rank()], Train(options, f, c));
    run.stats[comm.rank()] = c.stats();
    return Status::OK();
  });
  return run;
}

TrainOptions Options(AlgorithmKind kind) {
  TrainOptions o;
  o.algorithm.kind = kind;
  o.algorithm.budget = 300;
  o.algorithm.lr = 0.2;
  o.algorithm.batch = 2;
  o.algorithm.params.Set("b1", std::uint64_t{2});
  o.algorithm.params.Set("rho", 1.1);
  o.algorithm.params.Set("sync_period", std::uint64_t{4});
  o.algorithm.params.Set("outer_iterations", std::uint64_t{4});
  o.algorithm.params.Set("inner_budget", std::uint64_t{40});
  if (kind == AlgorithmKind::kAuto) {
    o.algorithm.rounds = 20;
    o.algorithm.params.Set("tail_average", 0.5);  // the windows' means cross the checkpoints from round 10 on
  }
  o.seed = 5;
  return o;
}

class FaultInjectionTest : public ::testing::TestWithParam<AlgorithmKind> {};

// A fault on a round the run never reaches changes nothing: not a bit, not a count.
TEST_P(FaultInjectionTest, TheWrapperIsTheCommunicatorUntilItsRound) {
  const Dataset data = testing::SmallDense(240, 6, SyntheticTask::kBinary);
  const Workers plain = TrainOn(data, Options(GetParam()), std::nullopt);
  const Workers wrapped = TrainOn(data, Options(GetParam()), Fault{Fault::Kind::kFail, 1, 1'000'000});
  ASSERT_TRUE(plain.status.ok()) << plain.status.ToString();
  ASSERT_TRUE(wrapped.status.ok()) << wrapped.status.ToString();
  for (int r = 0; r < kWorkers; ++r) {
    EXPECT_EQ(wrapped.summaries[r].x, plain.summaries[r].x);
    EXPECT_EQ(wrapped.summaries[r].rounds, plain.summaries[r].rounds);
    EXPECT_EQ(wrapped.stats[r].training.calls, plain.stats[r].training.calls);
    EXPECT_EQ(wrapped.stats[r].training.bytes, plain.stats[r].training.bytes);
    EXPECT_EQ(wrapped.stats[r].evaluation.calls, plain.stats[r].evaluation.calls);
  }
}

// Worker 1 fails after round T: the job ends with its error on every worker,
// the last checkpoint is the one at or before T, and resuming from it gives
// the uninterrupted run's bits.
TEST_P(FaultInjectionTest, AFailedWorkerEndsTheRunAndItsCheckpointsResumeBitIdentical) {
  const Dataset data = testing::SmallDense(240, 6, SyntheticTask::kBinary);
  const Workers reference = TrainOn(data, Options(GetParam()), std::nullopt);
  ASSERT_TRUE(reference.status.ok()) << reference.status.ToString();
  const std::uint64_t rounds = reference.summaries[0].rounds, every = 3;
  ASSERT_GT(rounds, 2 * every);
  for (const std::uint64_t fault_round : {every + 1, 2 * every, rounds - 1}) {
    SCOPED_TRACE("fault after round " + std::to_string(fault_round));
    testing::TempDir dir;
    TrainOptions options = Options(GetParam());
    options.checkpoint.dir = dir.path() / "checkpoint";
    options.checkpoint.every = every;
    const Workers failed = TrainOn(data, options, Fault{Fault::Kind::kFail, 1, fault_round});
    ASSERT_FALSE(failed.status.ok());
    EXPECT_EQ(failed.status.code(), StatusCode::kUnavailable) << failed.status.ToString();
    EXPECT_NE(failed.status.message().find("worker 1 after round " + std::to_string(fault_round)), std::string::npos)
        << failed.status.ToString();
    std::ifstream latest(options.checkpoint.dir / "LATEST");
    std::string text((std::istreambuf_iterator<char>(latest)), std::istreambuf_iterator<char>());
    EXPECT_NE(text.find("\"round\": " + std::to_string(fault_round / every * every)), std::string::npos) << text;

    options.checkpoint.resume = true;
    const Workers resumed = TrainOn(data, options, std::nullopt);
    ASSERT_TRUE(resumed.status.ok()) << resumed.status.ToString();
    for (int r = 0; r < kWorkers; ++r) {
      EXPECT_EQ(resumed.summaries[r].x, reference.summaries[r].x);
      EXPECT_EQ(resumed.summaries[r].rounds, rounds);
      EXPECT_EQ(resumed.summaries[r].sfo_per_worker, reference.summaries[r].sfo_per_worker);
      EXPECT_EQ(resumed.summaries[r].final_loss, reference.summaries[r].final_loss);
      EXPECT_EQ(resumed.summaries[r].fields.Number("tail_averaged"),
                reference.summaries[r].fields.Number("tail_averaged"));
    }
  }
}

// An exception in a worker (as a library throws) is a status, not std::terminate.
TEST_P(FaultInjectionTest, AThrowingWorkerEndsTheRunWithItsMessage) {
  const Dataset data = testing::SmallDense(240, 6, SyntheticTask::kBinary);
  const Workers thrown = TrainOn(data, Options(GetParam()), Fault{Fault::Kind::kThrow, 2, 2});
  ASSERT_FALSE(thrown.status.ok());
  EXPECT_NE(thrown.status.message().find("an exception in worker 2 after round 2"), std::string::npos)
      << thrown.status.ToString();
}

INSTANTIATE_TEST_SUITE_P(EveryAlgorithm, FaultInjectionTest,
                         ::testing::Values(AlgorithmKind::kPsgd, AlgorithmKind::kCrPsgd, AlgorithmKind::kLocalSgd,
                                           AlgorithmKind::kCrPsgdCatalyst, AlgorithmKind::kAuto,
                                           AlgorithmKind::kAccCrPsgd),
                         [](const auto& p) {
                           std::string name = AlgorithmName(p.param);
                           for (char& ch : name) ch = ch == '-' ? '_' : ch;
                           return name;
                         });

}  // namespace
}  // namespace crpsgd
