#include "algorithms/cr_psgd_catalyst.h"

#include <vector>

#include "algorithms/minibatch_sgd.h"

namespace crpsgd::internal {
namespace {

// Renumbers an inner CR-PSGD run's rounds and SFO into the whole run's, in
// the record and in the run's state.
class OuterIterationObserver final : public RoundObserver {
 public:
  OuterIterationObserver(RoundObserver& outer, AlgorithmState& state, std::uint64_t k, bool final_iteration,
                         std::uint64_t rounds_before, std::uint64_t sfo_before)
      : outer_(outer),
        state_(state),
        k_(k),
        final_(final_iteration),
        rounds_before_(rounds_before),
        sfo_before_(sfo_before) {}

  Status OnRound(const RoundRecord& inner, std::span<const double> x) override {
    state_.rounds = rounds_before_ + state_.sgd.rounds;
    state_.sfo_per_worker = sfo_before_ + state_.sgd.sfo;
    RoundRecord record = inner;
    record.round += rounds_before_;
    record.sfo_per_worker += sfo_before_;
    record.outer_iteration = k_;
    record.last = inner.last && final_;
    return outer_.OnRound(record, x);
  }

 private:
  RoundObserver& outer_;
  AlgorithmState& state_;
  std::uint64_t k_;
  bool final_;
  std::uint64_t rounds_before_, sfo_before_;
};

}  // namespace

Result<AlgorithmResult> CrPsgdCatalyst::Run(Communicator& comm, const Objective& f, Sampler& sampler,
                                            std::span<double> x, RoundObserver& observer, AlgorithmState& state) {
  CRPSGD_RETURN_IF_ERROR(options_.Validate(comm.size()));
  const std::uint64_t outer = options_.OuterIterationsFor(comm.size());
  AlgorithmOptions inner = options_;
  inner.kind = AlgorithmKind::kCrPsgd;
  inner.budget = options_.InnerBudgetFor(comm.size());

  if (state.outer_iteration == 0) {  // a fresh run: y⁽⁰⁾ = x₁
    state.outer_iteration = 1;
    state.center.assign(x.begin(), x.end());
  }
  AlgorithmResult result;
  result.rounds = state.rounds;
  result.sfo_per_worker = state.sfo_per_worker;
  for (std::uint64_t k = state.outer_iteration; k <= outer; ++k) {
    const ProximalObjective h(f, options_.theta, state.center);  // y⁽ᵏ⁻¹⁾: fixed during one inner run
    MinibatchSgd cr_psgd(inner, std::make_unique<GeometricBatch>(inner.first_batch, inner.growth),
                         result.sfo_per_worker - state.sgd.sfo, options_.budget);  // one step schedule for the run
    const std::uint64_t rounds_before = result.rounds - state.sgd.rounds;
    const std::uint64_t sfo_before = result.sfo_per_worker - state.sgd.sfo;
    OuterIterationObserver renumber(observer, state, k, k == outer, rounds_before, sfo_before);
    CRPSGD_ASSIGN_OR_RETURN(AlgorithmResult step,
                            cr_psgd.RunFrom(comm, h, sampler, x, renumber, state.sgd));  // x₁ = y⁽ᵏ⁻¹⁾
    result.rounds = rounds_before + step.rounds;
    result.sfo_per_worker = sfo_before + step.sfo_per_worker;
    // The next outer iteration: y⁽ᵏ⁾ = x, a fresh inner run (momentum restarts).
    std::copy(x.begin(), x.end(), state.center.begin());
    state.outer_iteration = k + 1;
    // A fresh inner run: momentum restarts, and (--rho auto) each proximal
    // problem starts at B₁ with fresh statistics.
    state.sgd = {};
  }
  result.budget_left = options_.budget - result.sfo_per_worker;
  return result;
}

}  // namespace crpsgd::internal
