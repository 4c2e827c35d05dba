// Accelerated CR-PSGD (--algo acc-cr-psgd): CR-PSGD's rounds (Algorithm 1's
// batches B_t = ⌊ρ^(t−1) B₁⌋, one all-reduce each) with Nesterov's momentum
// on the steps, restarted whenever it points uphill:
//
//   y_t     = x_t + β_k (x_t − x_{t−1}),   β_k = (k − 1)/(k + 2), k = steps since the restart
//   ḡ_t     = (1/N) Σ_i (1/B_t) Σ_j ∇F(y_t; ζ_{i,j})     (the round's one all-reduce)
//   x_{t+1} = y_t − γ ḡ_t
//   k       ← 1 if ⟨ḡ_t, x_{t+1} − x_t⟩ > 0, else k + 1  (the gradient restart)
//
// Why: one plain step a round reaches at best f − f* ~ (1 − 1/κ)^R in R
// rounds (κ = L/μ), however large the batches grow; Nesterov's steps reach
// (1 − 1/√κ)^R on strongly convex f, the deterministic floor. β_k needs no μ,
// and restarting when the momentum points uphill (O'Donoghue & Candès 2015)
// recovers the √κ rate without knowing μ. Under PL alone no first-order method
// is faster in general (Yue, Fang & Lin 2023): there the restart is a
// heuristic. Every worker holds the same ḡ_t and x, so all restart alike.
//
// Its parameters are CR-PSGD's (B₁, ρ, γ); its state the previous iterate,
// k and the restarts so far; it reports β each round and the restarts.
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "algorithms/algorithm_spec.h"
#include "algorithms/batch_gradient.h"
#include "algorithms/round_exchange.h"

namespace crpsgd::internal {
namespace {

class AccCrPsgd final : public Algorithm {
 public:
  explicit AccCrPsgd(const AlgorithmOptions& options) : options_(options), growing_(GrowingBatchOf(options)) {}

  Result<AlgorithmResult> Run(Communicator& comm, const Objective& f, Sampler& sampler, std::span<double> x,
                              RoundObserver& observer, RunProgress& progress) override {
    const GeometricBatch schedule(growing_.first_batch, growing_.growth);
    const BudgetPlan plan = PlanBudget(schedule, options_.budget);
    BatchGradient batch_gradient(f, sampler, options_.max_micro_batch);
    std::vector<double> grad(x.size()), y(x.size()), no_velocity;
    SgdStep step(options_.lr, /*momentum=*/0.0, options_.weight_decay, x.size(), no_velocity);
    RoundExchange exchange(f, /*with_state=*/false, options_, &residual_);
    if (previous_.empty()) previous_.assign(x.begin(), x.end());  // x₀ = x₁: no momentum yet
    AlgorithmResult result;
    result.rounds = progress.rounds;
    result.sfo_per_worker = progress.sfo_per_worker;
    for (std::uint64_t t = progress.rounds + 1; t <= plan.rounds; ++t) {
      const std::uint64_t batch = schedule.BatchAt(t);
      const double beta = static_cast<double>(k_ - 1) / static_cast<double>(k_ + 2);
      for (std::size_t j = 0; j < x.size(); ++j) y[j] = x[j] + beta * (x[j] - previous_[j]);
      batch_gradient.Compute(y, batch, grad);
      CRPSGD_RETURN_IF_ERROR(exchange.Average(comm, grad));  // the round
      CRPSGD_RETURN_IF_ERROR(CheckFinite(grad, "averaged gradient", t));
      step.Apply(grad, y, StepScale(result.sfo_per_worker, batch));  // y ← x_{t+1}
      CRPSGD_RETURN_IF_ERROR(CheckFinite(y, "iterate", t));
      double uphill = 0.0;  // ⟨ḡ_t, x_{t+1} − x_t⟩
      for (std::size_t j = 0; j < x.size(); ++j) uphill += grad[j] * (y[j] - x[j]);
      const bool restart = uphill > 0.0;
      std::copy(x.begin(), x.end(), previous_.begin());
      std::copy(y.begin(), y.end(), x.begin());
      k_ = restart ? 1 : k_ + 1;
      restarts_ += restart ? 1 : 0;
      result.rounds = progress.rounds = t;
      result.sfo_per_worker = progress.sfo_per_worker = result.sfo_per_worker + batch;
      RoundRecord record;
      record.round = t;
      record.batch = batch;
      record.local_steps = 1;
      record.sfo_per_worker = result.sfo_per_worker;
      record.last = t == plan.rounds;
      record.fields.Set("beta", beta);
      CRPSGD_RETURN_IF_ERROR(observer.OnRound(record, x));
    }
    result.budget_left = options_.budget - result.sfo_per_worker;
    result.fields.Set("restarts", restarts_);
    return result;
  }

  // Version 2: x_{t−1}, k, the restarts, --compress's residual (1: none).
  std::string SaveState() const override {
    ByteWriter out = BeginStateRecord(2);
    out.Doubles(previous_), out.U64(k_), out.U64(restarts_), out.Doubles(residual_);
    return std::move(out.bytes());
  }

  Status LoadState(std::string_view record) override {
    ByteReader in(record);
    CRPSGD_ASSIGN_OR_RETURN(const std::uint64_t version, ReadStateVersion(in, 2, "acc-cr-psgd"));
    previous_ = in.Doubles(), k_ = in.U64(), restarts_ = in.U64();
    residual_ = version >= 2 ? in.Doubles() : std::vector<double>();
    return CheckStateRead(in, "acc-cr-psgd");
  }

  // On other workers: --compress's residuals averaged (the rest is alike).
  Status LoadStates(std::span<const std::string> records) override {
    return LoadAveragingOwn(*this, records, {&residual_});
  }

 private:
  // The step's factor: the schedule at the budget spent, the batch scaling, the cap.
  double StepScale(std::uint64_t spent, std::uint64_t batch) const {
    const double progress = static_cast<double>(spent) / static_cast<double>(options_.budget);
    const double ratio = static_cast<double>(batch) / static_cast<double>(growing_.first_batch);
    double scale = LrScale(options_.Schedule(), progress) * LrBatchFactor(options_.lr_batch_scaling, ratio);
    if (options_.lr_max > 0.0) scale = std::min(scale, options_.lr_max / options_.lr);
    return scale;
  }

  AlgorithmOptions options_;
  GrowingBatch growing_;          // B₁, ρ
  std::vector<double> previous_;  // x_{t−1}
  std::uint64_t k_ = 1;           // steps since the last restart, this one included
  std::uint64_t restarts_ = 0;
  std::vector<double> residual_;  // --compress: what this worker's messages lost (error feedback)
};

constexpr ParamSpec kAccParams[] = {kFirstBatchParam, kRhoParam};

Status ValidateAccelerated(const AlgorithmOptions& o, int) {
  CRPSGD_RETURN_IF_ERROR(ValidateGrowingBatch(o));
  if (o.adaptive_batch()) {
    return Status::InvalidArgument("acc-cr-psgd: --rho auto is cr-psgd's; give a number (or --rounds R)");
  }
  if (o.momentum != 0.0) {
    return Status::InvalidArgument(
        "acc-cr-psgd: its momentum is Nesterov's, from its own sequence; --momentum must be 0");
  }
  return Status::OK();
}

}  // namespace

// Accelerated CR-PSGD: Algorithm 1's rounds, Nesterov's steps with restarts.
extern const AlgorithmSpec kAccCrPsgdSpec{
    .kind = AlgorithmKind::kAccCrPsgd,
    .name = "acc-cr-psgd",
    .help = "cr-psgd's rounds with Nesterov's momentum, restarted when it points uphill",
    .fixed_batch = false,
    .compresses = true,
    .params = kAccParams,
    .make = [](const AlgorithmOptions& o) -> std::unique_ptr<Algorithm> { return std::make_unique<AccCrPsgd>(o); },
    .plan = PlanWholeBudgetGrowing,
    .validate = ValidateAccelerated,
    .describe = DescribeGrowing,
    .fit_rounds = FitGrowth,
    .samples_per_step = GrowingSamplesPerStep,
    .summary_fields =
        [](const AlgorithmOptions& o, const RunSummary& s) {
          return SummaryFields{{"b1", std::uint64_t{GrowingBatchOf(o).first_batch}},
                               {"rho", RhoValue(o)},
                               {"restarts", s.fields.ValueOr("restarts")}};
        },
};

}  // namespace crpsgd::internal
