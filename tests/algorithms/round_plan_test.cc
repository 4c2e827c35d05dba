// auto's rounds from the link (round_plan.h): the plan follows the costs it
// is given, and the measurement is agreed on by every worker.
#include <gtest/gtest.h>

#include "crpsgd/crpsgd.h"
#include "testing/problems.h"

namespace crpsgd {
namespace {

RoundCosts Costs(double round_s, double sample_s) {
  RoundCosts costs;
  costs.round_s = costs.measured_s = round_s;
  costs.sample_s = sample_s;
  costs.bytes = 800;
  return costs;
}

TEST(RoundPlanTest, ASlowerLinkGetsFewerRoundsAndKeepsTheShare) {
  const std::uint64_t budget = 1'000'000;
  // 1 s of compute per 1e6 samples... 1e-5 s a sample: 10 s of compute.
  const RoundPlan fast = PlanRounds(Costs(1e-4, 1e-5), budget, 1, 0.1);
  const RoundPlan slow = PlanRounds(Costs(5e-2, 1e-5), budget, 1, 0.1);
  EXPECT_GT(fast.rounds, slow.rounds);
  // share/(1 − share)·compute/round = 0.111·10/0.1 = 11.1 rounds allowed: 10 (the series 1, 1.5, 2, 3, 5, 7).
  const RoundPlan slower = PlanRounds(Costs(1e-1, 1e-5), budget, 1, 0.1);
  EXPECT_EQ(slower.rounds, 10u);
  EXPECT_LE(slower.comm_share, 0.1);
  EXPECT_NE(slower.why.find("10 rounds"), std::string::npos) << slower.why;
  // 0.111·10/0.02 = 55.6: 50; a larger share allows more rounds on the same link.
  EXPECT_EQ(PlanRounds(Costs(2e-2, 1e-5), budget, 1, 0.1).rounds, 50u);
  EXPECT_EQ(PlanRounds(Costs(2e-2, 1e-5), budget, 1, 0.2).rounds, 100u);
}

TEST(RoundPlanTest, BoundsAreTheFewestAutoTakesAndTheMostTheBudgetCanUse) {
  // No link cost (one worker): as many as the budget can use, at most kMostPlannedRounds.
  EXPECT_EQ(PlanRounds(Costs(0.0, 1e-6), 1'000'000, 1, 0.1).rounds, kMostPlannedRounds);
  EXPECT_EQ(PlanRounds(Costs(0.0, 1e-6), 240, 4, 0.1).rounds, 60u);  // one step of 4 samples a round
  // A link so slow that even the fewest rounds break the share: the fewest, and the log says so.
  const RoundPlan crawl = PlanRounds(Costs(10.0, 1e-6), 10'000, 1, 0.1);
  EXPECT_EQ(crawl.rounds, kFewestPlannedRounds);
  EXPECT_GT(crawl.comm_share, 0.1);
  EXPECT_NE(crawl.why.find("the fewest"), std::string::npos) << crawl.why;
  // A budget smaller than the fewest rounds' samples: one round a step.
  EXPECT_EQ(PlanRounds(Costs(10.0, 1e-6), 6, 2, 0.1).rounds, 3u);
}

TEST(RoundPlanTest, EveryWorkerMeasuresTheSamePlanAndANetworkModelAddsItsCost) {
  const Dataset data = testing::SmallDense(400, 20, SyntheticTask::kBinary);
  std::vector<RoundCosts> seen(3);
  NetworkModel wan{0.05, 1.25e6};  // 50 ms, 10 Mbit/s
  ASSERT_TRUE(RunInProcess(3, [&](Communicator& comm) -> Status {
                const LinearModelObjective f(Problem::kLogistic, data, 1e-3);
                CRPSGD_ASSIGN_OR_RETURN(seen[comm.rank()],
                                        MeasureRoundCosts(f, comm, 4, RoundMessageBytes(f, {}), wan));
                return Status::OK();
              }).ok());
  for (const RoundCosts& c : seen) {
    EXPECT_EQ(c.sample_s, seen[0].sample_s);  // rank 0's numbers on every worker
    EXPECT_EQ(c.round_s, seen[0].round_s);
  }
  EXPECT_GT(seen[0].sample_s, 0.0);
  EXPECT_EQ(seen[0].bytes, 20u * sizeof(double));
  EXPECT_DOUBLE_EQ(seen[0].modelled_s, wan.AllreduceSeconds(seen[0].bytes, 3));
  EXPECT_DOUBLE_EQ(seen[0].round_s, seen[0].measured_s + seen[0].modelled_s);
  // Threads of one process share a machine: its link is not timed, so the
  // round's cost is the model's alone and the plan is the same every run.
  EXPECT_TRUE(seen[0].one_machine);
  EXPECT_EQ(seen[0].measured_s, 0.0);
}

// A compressed round sends fewer bytes, so a slow link allows more of them:
// the plan prices a round at what the exchange will send (int8: 1.016 bytes
// a value against float64's 8), not at the uncompressed model.
TEST(RoundPlanTest, ACompressedRoundCostsItsEncodedBytesAndGetsMoreRounds) {
  const Dataset data = testing::SmallDense(50, 5000, SyntheticTask::kBinary);
  const LinearModelObjective f(Problem::kLogistic, data, 1e-3);  // 5000 values
  AlgorithmOptions int8;
  int8.compression = Compression::kInt8;
  const std::uint64_t whole = RoundMessageBytes(f, {}), encoded = RoundMessageBytes(f, int8);
  EXPECT_EQ(whole, 5000u * sizeof(double));
  EXPECT_EQ(encoded, EncodeValues(std::vector<double>(5000, 1.0), Compression::kInt8).size());
  EXPECT_LT(encoded, whole / 7);
  const NetworkModel wan{0.001, 1.25e6};  // 1 ms, 10 Mbit/s: bandwidth dominates 40 kB
  const auto plan = [&](std::uint64_t bytes) {
    RoundCosts costs = Costs(wan.AllreduceSeconds(bytes, 4), 2e-5);
    costs.bytes = bytes;
    return PlanRounds(costs, 200'000, 1, 0.1);  // 4 s of compute
  };
  EXPECT_GT(plan(encoded).rounds, 2 * plan(whole).rounds) << plan(whole).why << "\n" << plan(encoded).why;
}

}  // namespace
}  // namespace crpsgd
