#include "algorithms/cr_psgd_catalyst.h"

#include <cmath>
#include <sstream>
#include <vector>

#include "algorithms/algorithm_spec.h"
#include "algorithms/minibatch_sgd.h"

namespace crpsgd::internal {
namespace {

constexpr ParamSpec kCatalystParams[] = {kFirstBatchParam,
                                         kRhoParam,
                                         kNormTestParam,
                                         {"theta", 1.0},
                                         {"outer_iterations", 0.0, nullptr, true},
                                         {"inner_budget", 0.0, nullptr, true}};

// K and the inner budget for N workers: the parameters, or ⌊√(NT)⌋ and ⌊√(T/N)⌋ where they are 0.
std::uint64_t OuterIterations(const AlgorithmOptions& o, int workers) {
  if (const std::uint64_t k = ParamCount(o, "outer_iterations"); k != 0) return k;
  return static_cast<std::uint64_t>(
      std::floor(std::sqrt(static_cast<double>(workers) * static_cast<double>(o.budget))));
}

std::uint64_t InnerBudget(const AlgorithmOptions& o, int workers) {
  if (const std::uint64_t inner = ParamCount(o, "inner_budget"); inner != 0) return inner;
  return static_cast<std::uint64_t>(std::floor(std::sqrt(static_cast<double>(o.budget) / workers)));
}

// Renumbers an inner CR-PSGD run's rounds and SFO into the whole run's, in
// the record and in the run's progress.
class OuterIterationObserver final : public RoundObserver {
 public:
  OuterIterationObserver(RoundObserver& outer, RunProgress& progress, const SgdState& inner, std::uint64_t k,
                         bool final_iteration, std::uint64_t rounds_before, std::uint64_t sfo_before)
      : outer_(outer),
        progress_(progress),
        inner_(inner),
        k_(k),
        final_(final_iteration),
        rounds_before_(rounds_before),
        sfo_before_(sfo_before) {}

  Status OnRound(const RoundRecord& inner, std::span<const double> x) override {
    progress_.rounds = rounds_before_ + inner_.rounds;
    progress_.sfo_per_worker = sfo_before_ + inner_.sfo;
    RoundRecord record = inner;
    record.round += rounds_before_;
    record.sfo_per_worker += sfo_before_;
    record.fields.Set("outer_iteration", k_);
    record.last = inner.last && final_;
    return outer_.OnRound(record, x);
  }

 private:
  RoundObserver& outer_;
  RunProgress& progress_;
  const SgdState& inner_;
  std::uint64_t k_;
  bool final_;
  std::uint64_t rounds_before_, sfo_before_;
};

}  // namespace

Result<AlgorithmResult> CrPsgdCatalyst::Run(Communicator& comm, const Objective& f, Sampler& sampler,
                                            std::span<double> x, RoundObserver& observer, RunProgress& progress) {
  CRPSGD_RETURN_IF_ERROR(options_.Validate(comm.size()));
  const std::uint64_t outer = OuterIterations(options_, comm.size());
  AlgorithmOptions inner = options_;
  inner.kind = AlgorithmKind::kCrPsgd;
  inner.budget = InnerBudget(options_, comm.size());

  if (outer_iteration_ == 0) {  // a fresh run: y⁽⁰⁾ = x₁
    outer_iteration_ = 1;
    center_.assign(x.begin(), x.end());
  }
  AlgorithmResult result;
  result.rounds = progress.rounds;
  result.sfo_per_worker = progress.sfo_per_worker;
  for (std::uint64_t k = outer_iteration_; k <= outer; ++k) {
    const ProximalObjective h(f, ParamNumber(options_, "theta"), center_);  // y⁽ᵏ⁻¹⁾: fixed during one inner run
    MinibatchSgd cr_psgd(
        inner, std::make_unique<GeometricBatch>(GrowingBatchOf(inner).first_batch, GrowingBatchOf(inner).growth),
        result.sfo_per_worker - inner_.sfo, options_.budget);  // one step schedule for the run
    const std::uint64_t rounds_before = result.rounds - inner_.rounds;
    const std::uint64_t sfo_before = result.sfo_per_worker - inner_.sfo;
    OuterIterationObserver renumber(observer, progress, inner_, k, k == outer, rounds_before, sfo_before);
    CRPSGD_ASSIGN_OR_RETURN(AlgorithmResult step,
                            cr_psgd.RunFrom(comm, h, sampler, x, renumber, inner_));  // x₁ = y⁽ᵏ⁻¹⁾
    result.rounds = rounds_before + step.rounds;
    result.sfo_per_worker = sfo_before + step.sfo_per_worker;
    // The next outer iteration: y⁽ᵏ⁾ = x, a fresh inner run (momentum restarts).
    std::copy(x.begin(), x.end(), center_.begin());
    outer_iteration_ = k + 1;
    // A fresh inner run: momentum restarts, and (--rho auto) each proximal
    // problem starts at B₁ with fresh statistics.
    inner_ = {};
  }
  result.budget_left = options_.budget - result.sfo_per_worker;
  return result;
}

// Version 2: k, y⁽ᵏ⁻¹⁾, the inner run's SgdState (1: without its residual).
std::string CrPsgdCatalyst::SaveState() const {
  ByteWriter out = BeginStateRecord(2);
  out.U64(outer_iteration_), out.Doubles(center_);
  SaveSgdState(inner_, out);
  return std::move(out.bytes());
}

Status CrPsgdCatalyst::LoadState(std::string_view record) {
  ByteReader in(record);
  CRPSGD_ASSIGN_OR_RETURN(const std::uint64_t version, ReadStateVersion(in, 2, "cr-psgd-catalyst"));
  outer_iteration_ = in.U64(), center_ = in.Doubles();
  inner_ = LoadSgdState(in, version);
  return CheckStateRead(in, "cr-psgd-catalyst");
}

namespace {

// Algorithm 2 splits T into K inner CR-PSGD runs of ⌊√(T/N)⌋ each.
Status ValidateCatalyst(const AlgorithmOptions& o, int workers) {
  CRPSGD_RETURN_IF_ERROR(ValidateGrowingBatch(o));
  if (!(ParamNumber(o, "theta") > 0.0) || !std::isfinite(ParamNumber(o, "theta"))) {
    std::ostringstream os;
    os << "--theta must be > 0 (got " << ParamNumber(o, "theta") << ")";
    return Status::InvalidArgument(os.str());
  }
  const std::uint64_t outer = OuterIterations(o, workers), inner = InnerBudget(o, workers);
  if (outer < 1) return Status::InvalidArgument("--outer-iters: no outer iteration fits the budget");
  if (inner < GrowingBatchOf(o).first_batch) {
    return Status::InvalidArgument("cr-psgd-catalyst: the inner budget " + std::to_string(inner) +
                                   (ParamCount(o, "inner_budget") != 0 ? " (--inner-budget)" : " (floor(sqrt(T/N)))") +
                                   " is below --b1 (" + std::to_string(GrowingBatchOf(o).first_batch) +
                                   "): raise --budget or set --inner-budget");
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
  summary.fields.Set("outer_iterations", OuterIterations(o, workers));
  summary.fields.Set("inner_budget", InnerBudget(o, workers));
  std::vector<double> gradient(x.size());
  CRPSGD_RETURN_IF_ERROR(eval.LossAndGradient(x, gradient).status());
  double norm2 = 0.0;
  for (double g : gradient) norm2 += g * g;
  summary.fields.Set("gradient_norm", std::sqrt(norm2));
  return Status::OK();
}

}  // namespace

extern const AlgorithmSpec kCrPsgdCatalystSpec{
    .kind = AlgorithmKind::kCrPsgdCatalyst,
    .name = "cr-psgd-catalyst",
    .help = "cr-psgd on proximal problems: Algorithm 2, for non-convex f",
    .fixed_batch = false,
    .compresses = true,
    .params = kCatalystParams,
    .make = [](const AlgorithmOptions& o) -> std::unique_ptr<Algorithm> { return std::make_unique<CrPsgdCatalyst>(o); },
    .plan =
        [](const AlgorithmOptions& o, int workers) {
          const BudgetPlan inner = PlanGrowing(o, InnerBudget(o, workers));
          const std::uint64_t outer = OuterIterations(o, workers);
          AlgorithmPlan plan;
          plan.rounds = outer * inner.rounds;
          plan.sfo_per_worker = outer * inner.spent;
          return plan;
        },
    .validate = ValidateCatalyst,
    .describe =
        [](const AlgorithmOptions& o, std::ostream& os) {
          DescribeGrowing(o, os);
          os << " theta=" << ParamNumber(o, "theta");
          if (const std::uint64_t k = ParamCount(o, "outer_iterations"); k != 0) os << " K=" << k;
          if (const std::uint64_t inner = ParamCount(o, "inner_budget"); inner != 0) os << " Tin=" << inner;
        },
    .samples_per_step = GrowingSamplesPerStep,
    .summary_fields =
        [](const AlgorithmOptions& o, const RunSummary& s) {
          return SummaryFields{{"b1", std::uint64_t{GrowingBatchOf(o).first_batch}},
                               {"rho", RhoValue(o)},
                               {"theta", ParamNumber(o, "theta")},
                               {"outer_iterations", s.fields.ValueOr("outer_iterations")},
                               {"inner_budget", s.fields.ValueOr("inner_budget")},
                               {"gradient_norm", s.fields.ValueOr("gradient_norm")}};
        },
    .finish = FinishCatalyst,
};

}  // namespace crpsgd::internal
