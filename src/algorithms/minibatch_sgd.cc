// PSGD and CR-PSGD: one loop, two batch schedules.
//
// Algorithm 1 (CR-PSGD) of Yu & Jin 2019, and classic parallel SGD, which is
// the same loop with a constant batch:
//
//   while B_1 + ... + B_t ≤ T:
//     each worker i: ḡ_{t,i} = (1/B_t) Σ_j ∇F(x_t; ζ_{i,j})   (local)
//     ḡ_t = (1/N) Σ_i ḡ_{t,i}                                 (one all-reduce)
//     x_{t+1} = x_t − γ ḡ_t
//     B_{t+1} = ⌊ρ^t B₁⌋                                      (CR-PSGD)
#include <algorithm>
#include <memory>
#include <vector>

#include "algorithms/batch_gradient.h"
#include "algorithms/minibatch_sgd.h"

namespace crpsgd::internal {

Result<AlgorithmResult> MinibatchSgd::Run(Communicator& comm, const Objective& f, Sampler& sampler,
                                          std::span<double> x, RoundObserver& observer, AlgorithmState& state) {
  return RunFrom(comm, f, sampler, x, observer, state.rounds, state.sfo_per_worker, state.velocity,
                 [&](std::uint64_t rounds, std::uint64_t sfo) {
                   state.rounds = rounds;
                   state.sfo_per_worker = sfo;
                 });
}

Result<AlgorithmResult> MinibatchSgd::RunFrom(Communicator& comm, const Objective& f, Sampler& sampler,
                                              std::span<double> x, RoundObserver& observer, std::uint64_t rounds,
                                              std::uint64_t sfo, std::vector<double>& velocity,
                                              const std::function<void(std::uint64_t, std::uint64_t)>& sync) {
  const BudgetPlan plan = PlanBudget(*schedule_, options_.budget);
  BatchGradient batch_gradient(f, sampler, options_.max_micro_batch);
  std::vector<double> grad(x.size());
  SgdStep step(options_.lr, options_.momentum, options_.weight_decay, x.size(), velocity);
  const std::uint64_t first_batch = schedule_->BatchAt(1);  // B₁, for --lr-batch-scaling
  AlgorithmResult result;
  result.rounds = rounds;
  result.sfo_per_worker = sfo;
  for (std::uint64_t t = rounds + 1; t <= plan.rounds; ++t) {
    const std::uint64_t batch = schedule_->BatchAt(t);
    batch_gradient.Compute(x, batch, grad);
    CRPSGD_RETURN_IF_ERROR(comm.AllreduceMean(grad, Traffic::kTraining));  // the round
    // Checked after the all-reduce, where a NaN has reached every worker, so
    // that all of them stop together instead of one leaving the others waiting.
    CRPSGD_RETURN_IF_ERROR(CheckFinite(grad, "averaged gradient", t));
    const double progress = static_cast<double>(schedule_offset_ + result.sfo_per_worker) / schedule_total_;
    const double batch_ratio = static_cast<double>(batch) / static_cast<double>(first_batch);
    double scale = LrScale(options_.lr_schedule, progress) * LrBatchFactor(options_.lr_batch_scaling, batch_ratio);
    if (options_.lr_max > 0.0) scale = std::min(scale, options_.lr_max / options_.lr);
    step.Apply(grad, x, scale);
    CRPSGD_RETURN_IF_ERROR(CheckFinite(x, "iterate", t));
    result.rounds = t;
    result.sfo_per_worker += batch;
    sync(result.rounds, result.sfo_per_worker);
    RoundRecord record;
    record.round = t;
    record.batch = batch;
    record.local_steps = 1;
    record.sfo_per_worker = result.sfo_per_worker;
    record.last = t == plan.rounds;
    CRPSGD_RETURN_IF_ERROR(observer.OnRound(record, x));
  }
  result.budget_left = options_.budget - result.sfo_per_worker;
  return result;
}

}  // namespace crpsgd::internal
