#include "algorithms/cr_psgd_catalyst.h"

#include <cmath>
#include <sstream>
#include <vector>

#include "algorithms/algorithm_spec.h"
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

namespace {

// Algorithm 2 splits T into K inner CR-PSGD runs of ⌊√(T/N)⌋ each.
Status ValidateCatalyst(const AlgorithmOptions& o, int workers) {
  CRPSGD_RETURN_IF_ERROR(ValidateGrowingBatch(o));
  if (!(o.theta > 0.0) || !std::isfinite(o.theta)) {
    std::ostringstream os;
    os << "--theta must be > 0 (got " << o.theta << ")";
    return Status::InvalidArgument(os.str());
  }
  const std::uint64_t outer = o.OuterIterationsFor(workers), inner = o.InnerBudgetFor(workers);
  if (outer < 1) return Status::InvalidArgument("--outer-iters: no outer iteration fits the budget");
  if (inner < o.first_batch) {
    return Status::InvalidArgument("cr-psgd-catalyst: the inner budget " + std::to_string(inner) +
                                   (o.inner_budget ? " (--inner-budget)" : " (floor(sqrt(T/N)))") + " is below --b1 (" +
                                   std::to_string(o.first_batch) + "): raise --budget or set --inner-budget");
  }
  if (inner > o.budget / outer) {
    return Status::InvalidArgument("cr-psgd-catalyst: --outer-iters (" + std::to_string(outer) +
                                   ") x --inner-budget (" + std::to_string(inner) + ") exceeds --budget (" +
                                   std::to_string(o.budget) + ")");
  }
  return Status::OK();
}

// K, the inner budget and ‖∇f(x)‖ at the end: the catalyst is judged by the
// gradient (non-convex f), which no other algorithm reports.
Status FinishCatalyst(const AlgorithmOptions& o, int workers, FullEvaluator& eval, std::span<const double> x,
                      RunSummary& summary) {
  summary.outer_iterations = o.OuterIterationsFor(workers);
  summary.inner_budget = o.InnerBudgetFor(workers);
  std::vector<double> gradient(x.size());
  CRPSGD_RETURN_IF_ERROR(eval.LossAndGradient(x, gradient).status());
  double norm2 = 0.0;
  for (double g : gradient) norm2 += g * g;
  summary.gradient_norm = std::sqrt(norm2);
  return Status::OK();
}

SummaryValue OrNull(const std::optional<std::uint64_t>& v) { return v ? SummaryValue(*v) : SummaryValue(nullptr); }

}  // namespace

const AlgorithmSpec kCrPsgdCatalystSpec{
    .kind = AlgorithmKind::kCrPsgdCatalyst,
    .fixed_batch = false,
    .make = [](const AlgorithmOptions& o) -> std::unique_ptr<Algorithm> { return std::make_unique<CrPsgdCatalyst>(o); },
    .plan =
        [](const AlgorithmOptions& o, int workers) {
          const BudgetPlan inner = PlanGrowing(o, o.InnerBudgetFor(workers));
          const std::uint64_t outer = o.OuterIterationsFor(workers);
          AlgorithmPlan plan;
          plan.rounds = outer * inner.rounds;
          plan.sfo_per_worker = outer * inner.spent;
          return plan;
        },
    .validate = ValidateCatalyst,
    .describe =
        [](const AlgorithmOptions& o, std::ostream& os) {
          os << "B1=" << o.first_batch << " rho=" << o.rho() << " theta=" << o.theta;
          if (o.outer_iterations != 0) os << " K=" << o.outer_iterations;
          if (o.inner_budget != 0) os << " Tin=" << o.inner_budget;
        },
    .samples_per_step = [](const AlgorithmOptions& o,
                           int workers) { return static_cast<double>(workers) * static_cast<double>(o.first_batch); },
    .summary_fields =
        [](const AlgorithmOptions& o, const RunSummary& s) {
          return SummaryFields{
              {"b1", std::uint64_t{o.first_batch}},
              {"rho", RhoValue(o)},
              {"theta", o.theta},
              {"outer_iterations", OrNull(s.outer_iterations)},
              {"inner_budget", OrNull(s.inner_budget)},
              {"gradient_norm", s.gradient_norm ? SummaryValue(*s.gradient_norm) : SummaryValue(nullptr)}};
        },
    .finish = FinishCatalyst,
};

}  // namespace crpsgd::internal
