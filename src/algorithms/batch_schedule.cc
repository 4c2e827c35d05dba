#include "crpsgd/batch_schedule.h"

#include <cmath>

namespace crpsgd {

std::uint64_t GeometricBatch::BatchAt(std::uint64_t round) const {
  // Algorithm 1, line 6: B_{t+1} = ⌊ρ^t B₁⌋, i.e. B_t = ⌊ρ^(t−1) B₁⌋.
  const double b = std::floor(std::pow(growth_, static_cast<double>(round - 1)) * static_cast<double>(first_batch_));
  constexpr double kCap = 4.0e18;  // beyond any budget; keeps the cast defined
  return b >= kCap ? static_cast<std::uint64_t>(kCap) : static_cast<std::uint64_t>(b);
}

BudgetPlan PlanBudget(const BatchSchedule& schedule, std::uint64_t budget) {
  BudgetPlan plan;
  for (std::uint64_t t = 1;; ++t) {
    const std::uint64_t b = schedule.BatchAt(t);
    if (b == 0 || b > budget - plan.spent) break;  // Algorithm 1's loop condition
    plan.spent += b;
    plan.rounds = t;
    plan.last_batch = b;
  }
  plan.left = budget - plan.spent;
  return plan;
}

}  // namespace crpsgd
