// --rho auto: the norm test's rule on written-out statistics, its estimators
// unbiased on a problem whose gradient noise is known exactly, and the runs
// it drives (budget spent to the last sample, batches that only grow).
#include <cmath>
#include <numeric>
#include <sstream>

#include <gtest/gtest.h>

#include "crpsgd/crpsgd.h"
#include "testing/last_round.h"
#include "testing/problems.h"

namespace crpsgd {
namespace {

TEST(NormTestRuleTest, TheNextBatchFollowsTheFormula) {
  NormTestState state;
  // First round: V = v̂ = 8, Q = ‖ḡ‖² = 1.5; N = 4, B = 2: G² = 1.5 − 8/8 = 0.5;
  // B⁺ = min(2B, max(B, ⌈V/(N·θ²·G²)⌉)) = min(4, max(2, ⌈8/2⌉ = 4)) = 4.
  double g2 = UpdateNormTest(state, 8.0, 1.5, 2, 4, 1.0);
  EXPECT_DOUBLE_EQ(g2, 0.5);
  EXPECT_EQ(state.next_batch, 4u);
  // Smoothed with β = ½: V = (8 + 4)/2 = 6, Q = (1.5 + 0.5)/2 = 1; B = 4:
  // G² = 1 − 6/16 = 0.625; ⌈6/(4·0.625)⌉ = ⌈2.4⌉ = 3 < B: the batch stays 4.
  g2 = UpdateNormTest(state, 4.0, 0.5, 4, 4, 1.0);
  EXPECT_DOUBLE_EQ(state.noise, 6.0);
  EXPECT_DOUBLE_EQ(state.mean_norm2, 1.0);
  EXPECT_DOUBLE_EQ(g2, 0.625);
  EXPECT_EQ(state.next_batch, 4u);
  // θ² = 0.1 asks for ⌈6/(4·0.1·0.625)⌉ = 24 samples: capped at 2B = 8.
  NormTestState copy = state;
  UpdateNormTest(copy, 6.0, 1.0, 4, 4, 0.1);
  EXPECT_EQ(copy.next_batch, 8u);
  // θ² = 0.5: ⌈6/(4·0.5·0.625)⌉ = ⌈4.8⌉ = 5, between B and 2B.
  copy = state;
  UpdateNormTest(copy, 6.0, 1.0, 4, 4, 0.5);
  EXPECT_EQ(copy.next_batch, 5u);
  // The noise hides the gradient (G² ≤ 0): double.
  NormTestState noisy;
  g2 = UpdateNormTest(noisy, 100.0, 1.0, 3, 2, 1.0);
  EXPECT_LE(g2, 0.0);
  EXPECT_EQ(noisy.next_batch, 6u);
}

// The budget is spent to the last sample, a remainder smaller than the batch
// joining it; the plan of --rho auto (its fewest rounds) spends it the same way.
TEST(NormTestRuleTest, TheLastBatchTakesASmallRemainderAndThePlanAgrees) {
  EXPECT_EQ(NextAdaptiveBatch(8, 100), 8u);   // 92 left after it: no remainder yet
  EXPECT_EQ(NextAdaptiveBatch(8, 16), 8u);    // 8 left: a batch as large as this one
  EXPECT_EQ(NextAdaptiveBatch(8, 15), 15u);   // 7 left would be a smaller last batch
  EXPECT_EQ(NextAdaptiveBatch(64, 40), 40u);  // cut to the budget
  // Doubling from 1 with T = 6000: 1 + 2 + ... + 1024 = 2047 in 11 rounds, then
  // 2048 would leave 1905 < 2048, so the 12th round takes all 3953.
  AlgorithmOptions options;
  options.kind = AlgorithmKind::kCrPsgd;
  options.params.Set("rho", std::string("auto"));
  options.params.Set("b1", std::uint64_t{1});
  options.budget = 6000;
  const AlgorithmPlan plan = PlanAlgorithm(options, 10);
  EXPECT_FALSE(plan.exact);
  EXPECT_EQ(plan.rounds, 12u);
  EXPECT_EQ(plan.sfo_per_worker, 6000u);
  EXPECT_EQ(plan.budget_left, 0u);
}

// Least squares at x = 0 on data that every worker holds whole: the per-sample
// gradients are g_i = −y_i a_i, so tr Σ = mean‖g_i − ḡ‖² and ‖∇f‖² = ‖ḡ‖²
// exactly. One round of --rho auto reports v̂ and Ĝ² (the first round sets
// V = v̂); over many seeds their means must be these numbers.
struct EstimatorCase {
  int workers;
  std::uint64_t batch;
};

void PrintTo(const EstimatorCase& c, std::ostream* os) { *os << "N=" << c.workers << " B=" << c.batch; }

class NormTestEstimatorTest : public ::testing::TestWithParam<EstimatorCase> {};

TEST_P(NormTestEstimatorTest, NoiseAndGradientEstimatesAreUnbiased) {
  const auto [workers, batch] = GetParam();
  const Dataset data = testing::SmallDense(60, 5, SyntheticTask::kRegression, 3);
  const auto [trace, grad2] = testing::LeastSquaresNoiseAtZero(data);

  constexpr int kDraws = 600;
  std::vector<double> noise, g2;
  for (int seed = 1; seed <= kDraws; ++seed) {
    TrainOptions options;
    options.algorithm.kind = AlgorithmKind::kCrPsgd;
    options.algorithm.params.Set("rho", std::string("auto"));
    options.algorithm.params.Set("b1", static_cast<std::uint64_t>(batch));
    options.algorithm.budget = batch;  // one round
    options.algorithm.lr = 1e-3;
    options.end_below_start = false;  // one noisy step may go up: only the estimates matter here
    options.seed = static_cast<std::uint64_t>(seed);
    const Result<std::vector<RoundRecord>> last = testing::LastRounds(data, workers, options);
    ASSERT_TRUE(last.ok()) << last.status().ToString();
    for (const RoundRecord& record : *last) {
      ASSERT_TRUE(record.fields.Number("noise_trace") && record.fields.Number("grad_norm2"));
      ASSERT_EQ(*record.fields.Number("noise_trace"),
                *last->front().fields.Number("noise_trace"));  // every worker agrees
    }
    noise.push_back(*last->front().fields.Number("noise_trace"));
    g2.push_back(*last->front().fields.Number("grad_norm2"));
  }
  auto check = [](const std::vector<double>& draws, double truth, const char* what) {
    const testing::SampleMean m = testing::MeanOf(draws);
    EXPECT_LT(std::abs(m.mean - truth), 4.0 * m.standard_error) << what << ": mean " << m.mean << ", truth " << truth;
  };
  check(noise, trace, "v̂ (tr Σ)");
  check(g2, grad2, "Ĝ² (‖∇f‖²)");
  // The means must also be near enough to tell a wrong estimator: dividing
  // by N instead of N − 1 is off by a factor (N − 1)/N, at most 3/4 here.
  const double m = std::accumulate(noise.begin(), noise.end(), 0.0) / kDraws;
  EXPECT_NEAR(m / trace, 1.0, 0.12);
}

INSTANTIATE_TEST_SUITE_P(WorkersAndHalves, NormTestEstimatorTest,
                         ::testing::Values(EstimatorCase{4, 8}, EstimatorCase{2, 5}, EstimatorCase{1, 9}),
                         [](const auto& p) {
                           std::ostringstream name;
                           name << "N" << p.param.workers << "_B" << p.param.batch;
                           return name.str();
                         });

// A run with --rho auto spends its budget to the last sample, its batches
// never shrink and at most double (but the last, which takes the remainder),
// and two runs with the same seed agree.
TEST(NormTestRunTest, SpendsTheBudgetWithGrowingBatchesDeterministically) {
  const Dataset data = testing::SmallDense(400, 8, SyntheticTask::kBinary);
  auto run = [&](int workers) {
    std::vector<RoundRecord> records;
    std::vector<double> x;
    const Status status = RunInProcess(workers, [&](Communicator& comm) -> Status {
      const LinearModelObjective f(Problem::kLogistic, data, 1e-3);
      struct Keep final : RoundObserver {
        std::vector<RoundRecord>* out;
        Status OnRound(const RoundRecord& r, std::span<const double>) override {
          out->push_back(r);
          return Status::OK();
        }
      } keep;
      std::vector<RoundRecord> mine_records;
      keep.out = &mine_records;
      TrainOptions options;
      options.algorithm.kind = AlgorithmKind::kCrPsgd;
      options.algorithm.params.Set("rho", std::string("auto"));
      options.algorithm.params.Set("b1", std::uint64_t{2});
      options.algorithm.budget = 3001;
      options.algorithm.lr = 0.5;
      options.seed = 5;
      options.observers.push_back(&keep);
      CRPSGD_ASSIGN_OR_RETURN(RunSummary summary, Train(options, f, comm));
      if (comm.rank() == 0) records = mine_records, x = summary.x;
      return Status::OK();
    });
    EXPECT_TRUE(status.ok()) << status.ToString();
    return std::make_pair(records, x);
  };
  for (int workers : {1, 3}) {
    const auto [records, x] = run(workers);
    ASSERT_FALSE(records.empty());
    EXPECT_EQ(records.back().sfo_per_worker, 3001u);
    EXPECT_TRUE(records.back().last);
    for (std::size_t t = 2; t + 1 < records.size(); ++t) {  // [0] is the start; the last batch is cut
      EXPECT_GE(records[t].batch, records[t - 1].batch);
      EXPECT_LE(records[t].batch, 2 * records[t - 1].batch);
    }
    EXPECT_GT(records[records.size() - 2].batch, 2u) << "the batch never grew";
    // The remainder joins the last batch: no last step on fewer samples than the one before.
    EXPECT_GE(records.back().batch, records[records.size() - 2].batch);
    EXPECT_LT(records.size(), 3001u / 2) << "as many rounds as a fixed batch of 2";
    EXPECT_EQ(run(workers).second, x);  // bit for bit
  }
}

// The step rule crpsgd train applies before Train, as a library call: K/L̂,
// the safe step, and --rho auto's first batch raised to a stable one.
TEST(ResolveStepTest, StepsAndTheStableFirstBatchOfRhoAuto) {
  const SmoothnessEstimate L{2.0, "test", 40.0};  // L̂ = 2, L̄ = 40
  AlgorithmOptions o;
  o.kind = AlgorithmKind::kCrPsgd;
  o.budget = 1000;
  o.params.Set("b1", std::uint64_t{1});
  o.lr = 0.125;
  auto given = ResolveStep(o, {}, std::nullopt, 4);
  ASSERT_TRUE(given.ok());
  EXPECT_EQ(given->lr, 0.125);
  auto multiple = ResolveStep(o, {StepRule::Kind::kMultipleOfInverseL, 0.5}, L, 4);
  ASSERT_TRUE(multiple.ok());
  EXPECT_EQ(multiple->lr, 0.25);
  auto safe = ResolveStep(o, {StepRule::Kind::kSafe}, L, 4);
  ASSERT_TRUE(safe.ok());
  EXPECT_EQ(safe->lr, SafeStep(L, o, 4));  // 1/(L̂ + L̄/(N·B₁)) = 1/12
  EXPECT_FALSE(ResolveStep(o, {StepRule::Kind::kSafe}, std::nullopt, 4).ok()) << "L̂ is needed";
  // --rho auto at step 0.5: 0.5·(2 + 40/(4·B₁)) <= 1.5 needs B₁ >= 10.
  o.params.Set("rho", std::string("auto"));
  o.lr = 0.5;
  std::string note;
  auto raised = ResolveStep(o, {}, L, 4, &note);
  ASSERT_TRUE(raised.ok());
  EXPECT_EQ(raised->params.Number("b1"), static_cast<double>(StableFirstBatch(L, 0.5, 4, 1)));
  EXPECT_EQ(raised->params.Number("b1"), 10.0);
  EXPECT_NE(note.find("--rho auto: B1 1 -> 10"), std::string::npos) << note;
}

}  // namespace
}  // namespace crpsgd
