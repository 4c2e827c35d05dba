#include "algorithms/cr_psgd_catalyst.h"

#include <vector>

#include "algorithms/minibatch_sgd.h"

namespace crpsgd::internal {
namespace {

// Renumbers an inner CR-PSGD run's rounds and SFO into the whole run's.
class OuterIterationObserver final : public RoundObserver {
 public:
  OuterIterationObserver(RoundObserver& outer, std::uint64_t k, bool final_iteration, std::uint64_t rounds_before,
                         std::uint64_t sfo_before)
      : outer_(outer), k_(k), final_(final_iteration), rounds_before_(rounds_before), sfo_before_(sfo_before) {}

  Status OnRound(const RoundRecord& inner, std::span<const double> x) override {
    RoundRecord record = inner;
    record.round += rounds_before_;
    record.sfo_per_worker += sfo_before_;
    record.outer_iteration = k_;
    record.last = inner.last && final_;
    return outer_.OnRound(record, x);
  }

 private:
  RoundObserver& outer_;
  std::uint64_t k_;
  bool final_;
  std::uint64_t rounds_before_, sfo_before_;
};

}  // namespace

Result<AlgorithmResult> CrPsgdCatalyst::Run(Communicator& comm, const Objective& f, Sampler& sampler,
                                            std::span<double> x, RoundObserver& observer) {
  CRPSGD_RETURN_IF_ERROR(options_.Validate(comm.size()));
  const std::uint64_t outer = options_.OuterIterationsFor(comm.size());
  AlgorithmOptions inner = options_;
  inner.kind = AlgorithmKind::kCrPsgd;
  inner.budget = options_.InnerBudgetFor(comm.size());

  std::vector<double> center(x.begin(), x.end());  // y⁽ᵏ⁻¹⁾: fixed during one inner run
  AlgorithmResult result;
  for (std::uint64_t k = 1; k <= outer; ++k) {
    const ProximalObjective h(f, options_.theta, center);
    MinibatchSgd cr_psgd(inner, std::make_unique<GeometricBatch>(inner.first_batch, inner.growth),
                         result.sfo_per_worker, options_.budget);  // the step schedule spans the whole run
    OuterIterationObserver renumber(observer, k, k == outer, result.rounds, result.sfo_per_worker);
    CRPSGD_ASSIGN_OR_RETURN(AlgorithmResult step, cr_psgd.Run(comm, h, sampler, x, renumber));  // x₁ = y⁽ᵏ⁻¹⁾
    result.rounds += step.rounds;
    result.sfo_per_worker += step.sfo_per_worker;
    std::copy(x.begin(), x.end(), center.begin());  // y⁽ᵏ⁾
  }
  result.budget_left = options_.budget - result.sfo_per_worker;
  return result;
}

}  // namespace crpsgd::internal
