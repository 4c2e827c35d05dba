#include "crpsgd/batch_schedule.h"

#include <cmath>

#include <gtest/gtest.h>

#include "crpsgd/algorithm.h"

namespace crpsgd {
namespace {

TEST(BatchScheduleTest, GeometricIsFloorOfRhoPowerTimesB1) {
  const GeometricBatch s(3, 1.5);
  // B_1 = 3, B_2 = ⌊1.5·3⌋ = 4, B_3 = ⌊2.25·3⌋ = 6, B_4 = ⌊3.375·3⌋ = 10
  EXPECT_EQ(s.BatchAt(1), 3u);
  EXPECT_EQ(s.BatchAt(2), 4u);
  EXPECT_EQ(s.BatchAt(3), 6u);
  EXPECT_EQ(s.BatchAt(4), 10u);
  const GeometricBatch slow(1, 1.1);  // stays 1 until 1.1^t reaches 2
  for (std::uint64_t t = 1; t <= 8; ++t) EXPECT_EQ(slow.BatchAt(t), 1u) << t;
  EXPECT_EQ(slow.BatchAt(9), 2u);                       // 1.1^8 = 2.14
  EXPECT_GT(GeometricBatch(1, 2.0).BatchAt(5000), 0u);  // huge powers saturate, no overflow
}

struct PlanRow {
  std::uint64_t b1;
  double rho;  // 0 = constant batch b1
  std::uint64_t budget, rounds, spent, left, last;
};

void PrintTo(const PlanRow& r, std::ostream* os) { *os << "B1=" << r.b1 << " rho=" << r.rho << " T=" << r.budget; }

class PlanBudgetTest : public ::testing::TestWithParam<PlanRow> {};

TEST_P(PlanBudgetTest, HandComputedTable) {
  const PlanRow& r = GetParam();
  const BudgetPlan plan =
      r.rho == 0 ? PlanBudget(ConstantBatch(r.b1), r.budget) : PlanBudget(GeometricBatch(r.b1, r.rho), r.budget);
  EXPECT_EQ(plan.rounds, r.rounds);
  EXPECT_EQ(plan.spent, r.spent);
  EXPECT_EQ(plan.left, r.left);
  EXPECT_EQ(plan.last_batch, r.last);
  EXPECT_EQ(plan.spent + plan.left, r.budget);
}

INSTANTIATE_TEST_SUITE_P(Table, PlanBudgetTest,
                         ::testing::Values(
                             // 1 + 2 + 4 = 7 fits in 10; the next batch, 8, does not: 3 left.
                             PlanRow{1, 2.0, 10, 3, 7, 3, 4},
                             // 3 + 4 + 6 = 13; 10 more would make 23 > 20.
                             PlanRow{3, 1.5, 20, 3, 13, 7, 6},
                             // Exactly spent: 1 + 2 + 4 + 8 = 15.
                             PlanRow{1, 2.0, 15, 4, 15, 0, 8}, PlanRow{5, 2.0, 4, 0, 0, 4, 0},  // not even B_1 fits
                             PlanRow{3, 0, 10, 3, 9, 1, 3},                                     // constant batch
                             PlanRow{1, 0, 6000, 6000, 6000, 0, 1}));

TEST(PlanBudgetTest, RoundsGrowLikeLogOfBudget) {
  // Σ_{τ<t} B₁ρ^τ ≈ B₁ρ^t/(ρ−1) ⇒ rounds ≈ log_ρ(T(ρ−1)/B₁): each decade of T
  // adds log(10)/log(ρ) rounds.
  const double rho = 1.5;
  std::uint64_t previous = 0;
  for (std::uint64_t budget = 1000; budget <= 100000000; budget *= 10) {
    const BudgetPlan plan = PlanBudget(GeometricBatch(1, rho), budget);
    const double predicted = std::log(budget * (rho - 1) + 1) / std::log(rho);
    EXPECT_NEAR(static_cast<double>(plan.rounds), predicted, 3.0) << budget;
    if (previous != 0) {
      EXPECT_NEAR(static_cast<double>(plan.rounds - previous), std::log(10.0) / std::log(rho), 2.0);
    }
    previous = plan.rounds;
  }
}

TEST(PlanAlgorithmTest, LocalSgdSpendsWholeStepsAndEndsOnAnAverage) {
  AlgorithmOptions o;
  o.kind = AlgorithmKind::kLocalSgd;
  o.batch = 3;
  o.params.Set("sync_period", std::uint64_t{4});
  o.budget = 40;  // 13 steps of 3 = 39 SFO, 1 left; rounds ⌈13/4⌉ = 4
  o.lr = 0.1;
  const AlgorithmPlan plan = PlanAlgorithm(o);
  EXPECT_EQ(plan.rounds, 4u);
  EXPECT_EQ(plan.sfo_per_worker, 39u);
  EXPECT_EQ(plan.budget_left, 1u);
}

}  // namespace
}  // namespace crpsgd
