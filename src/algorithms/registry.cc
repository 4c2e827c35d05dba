// The one place that maps algorithm kinds to implementations.
#include "algorithms/cr_psgd_catalyst.h"
#include "algorithms/local_sgd.h"
#include "algorithms/minibatch_sgd.h"
#include "util/check.h"

namespace crpsgd {

std::unique_ptr<Algorithm> MakeAlgorithm(const AlgorithmOptions& options) {
  // Catalyst's budget split depends on N: its Run validates with comm.size().
  CRPSGD_CHECK(options.kind == AlgorithmKind::kCrPsgdCatalyst || options.Validate().ok());
  switch (options.kind) {
    case AlgorithmKind::kPsgd:
      return std::make_unique<internal::MinibatchSgd>(options, std::make_unique<ConstantBatch>(options.batch));
    case AlgorithmKind::kCrPsgd:
      return std::make_unique<internal::MinibatchSgd>(
          options, std::make_unique<GeometricBatch>(options.first_batch, options.growth));
    case AlgorithmKind::kLocalSgd: return std::make_unique<internal::LocalSgd>(options);
    case AlgorithmKind::kCrPsgdCatalyst: return std::make_unique<internal::CrPsgdCatalyst>(options);
  }
  return nullptr;
}

namespace {

// --rho auto: the fewest rounds the norm test can take, doubling from B₁,
// the budget spent as the run spends it (NextAdaptiveBatch).
BudgetPlan PlanDoubling(std::uint64_t first_batch, std::uint64_t budget) {
  BudgetPlan plan;
  for (std::uint64_t batch = first_batch; plan.spent < budget; batch *= 2) {
    plan.last_batch = NextAdaptiveBatch(batch, budget - plan.spent);
    plan.spent += plan.last_batch;
    ++plan.rounds;
  }
  return plan;
}

BudgetPlan PlanGrowing(const AlgorithmOptions& options, std::uint64_t budget) {
  return options.adaptive_batch ? PlanDoubling(options.first_batch, budget)
                                : PlanBudget(GeometricBatch(options.first_batch, options.growth), budget);
}

}  // namespace

AlgorithmPlan PlanAlgorithm(const AlgorithmOptions& options, int workers) {
  AlgorithmPlan plan;
  plan.exact = !options.adaptive_batch;
  if (options.kind == AlgorithmKind::kCrPsgdCatalyst) {
    const BudgetPlan inner = PlanGrowing(options, options.InnerBudgetFor(workers));
    const std::uint64_t outer = options.OuterIterationsFor(workers);
    plan.rounds = outer * inner.rounds;
    plan.sfo_per_worker = outer * inner.spent;
  } else if (options.kind == AlgorithmKind::kLocalSgd) {
    const std::uint64_t steps = options.budget / options.batch;
    plan.rounds = (steps + options.sync_period - 1) / options.sync_period;
    plan.sfo_per_worker = steps * options.batch;
  } else {
    const BudgetPlan budget = options.kind == AlgorithmKind::kPsgd
                                  ? PlanBudget(ConstantBatch(options.batch), options.budget)
                                  : PlanGrowing(options, options.budget);
    plan.rounds = budget.rounds;
    plan.sfo_per_worker = budget.spent;
  }
  plan.budget_left = options.budget - plan.sfo_per_worker;
  return plan;
}

}  // namespace crpsgd
