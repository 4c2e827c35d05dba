#include "crpsgd/batch_schedule.h"

#include <algorithm>
#include <cmath>

#include "crpsgd/algorithm.h"

namespace crpsgd {

std::uint64_t GeometricBatch::BatchAt(std::uint64_t round) const {
  // Algorithm 1, line 6: B_{t+1} = ⌊ρ^t B₁⌋, i.e. B_t = ⌊ρ^(t−1) B₁⌋.
  const double b = std::floor(std::pow(growth_, static_cast<double>(round - 1)) * static_cast<double>(first_batch_));
  constexpr double kCap = 4.0e18;  // beyond any budget; keeps the cast defined
  return b >= kCap ? static_cast<std::uint64_t>(kCap) : static_cast<std::uint64_t>(b);
}

BudgetPlan PlanBudget(const BatchSchedule& schedule, std::uint64_t budget, std::uint64_t max_rounds) {
  BudgetPlan plan;
  for (std::uint64_t t = 1; plan.rounds < max_rounds; ++t) {
    const std::uint64_t b = schedule.BatchAt(t);
    if (b == 0 || b > budget - plan.spent) break;  // Algorithm 1's loop condition
    plan.spent += b;
    plan.rounds = t;
    plan.last_batch = b;
  }
  plan.left = budget - plan.spent;
  return plan;
}

std::uint64_t NextAdaptiveBatch(std::uint64_t wanted, std::uint64_t left) {
  const std::uint64_t batch = std::min(wanted, left);
  return left - batch < batch ? left : batch;
}

double UpdateNormTest(NormTestState& state, double noise, double mean_norm2, std::uint64_t batch, int workers,
                      double theta2) {
  constexpr double kSmoothing = 0.5;  // β
  if (!state.started) {
    state.noise = noise;
    state.mean_norm2 = mean_norm2;
    state.started = true;
  } else {
    state.noise = kSmoothing * state.noise + (1.0 - kSmoothing) * noise;
    state.mean_norm2 = kSmoothing * state.mean_norm2 + (1.0 - kSmoothing) * mean_norm2;
  }
  const double n = static_cast<double>(workers);
  // Ĝ², not the raw ‖ḡ‖²: the raw norm holds the noise too, and the test would
  // pass on noise alone and never grow the batch.
  const double grad_norm2 = state.mean_norm2 - state.noise / (n * static_cast<double>(batch));
  if (!(grad_norm2 > 0.0)) {
    state.next_batch = 2 * batch;  // the noise hides the gradient: more samples
    return grad_norm2;
  }
  const double wanted = std::ceil(state.noise / (n * theta2 * grad_norm2));
  const double capped = std::min(2.0 * static_cast<double>(batch), std::max(static_cast<double>(batch), wanted));
  state.next_batch = static_cast<std::uint64_t>(capped);
  return grad_norm2;
}

}  // namespace crpsgd
