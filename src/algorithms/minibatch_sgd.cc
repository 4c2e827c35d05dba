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
//
// With --rho auto, B_{t+1} comes from the norm test instead (NormTestState in
// crpsgd/algorithm.h); the budget is spent to the last sample, a remainder
// smaller than the batch joining the last batch.
#include <algorithm>
#include <cmath>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "algorithms/batch_gradient.h"
#include "algorithms/minibatch_sgd.h"
#include "algorithms/algorithm_spec.h"
#include "algorithms/round_exchange.h"

namespace crpsgd::internal {

namespace {

// psgd and cr-psgd: the loop is the whole run, so its counters are the run's.
class WholeRunObserver final : public RoundObserver {
 public:
  WholeRunObserver(RoundObserver& outer, RunProgress& progress, const SgdState& sgd)
      : outer_(outer), progress_(progress), sgd_(sgd) {}
  Status OnRound(const RoundRecord& record, std::span<const double> x) override {
    progress_.rounds = sgd_.rounds;
    progress_.sfo_per_worker = sgd_.sfo;
    return outer_.OnRound(record, x);
  }

 private:
  RoundObserver& outer_;
  RunProgress& progress_;
  const SgdState& sgd_;
};

double Norm2(std::span<const double> v) {
  double sum = 0.0;
  for (double e : v) sum += e * e;
  return sum;
}

// --rho auto on one worker: the two halves of its batch stand in for two
// workers. Writes the batch's mean gradient; returns Ĝ² (none from one sample).
std::optional<double> GradientFromHalves(BatchGradient& batch_gradient, std::span<const double> x, std::uint64_t batch,
                                         std::span<double> mean_grad, std::vector<double>& half,
                                         NormTestState& norm_test, double theta2) {
  const std::uint64_t first_half = batch / 2, second_half = batch - first_half;
  if (first_half == 0) {
    batch_gradient.Compute(x, batch, mean_grad);
    norm_test.next_batch = 2 * batch;  // one sample: nothing to compare yet
    return std::nullopt;
  }
  half.resize(x.size());
  batch_gradient.Compute(x, first_half, mean_grad);
  batch_gradient.Compute(x, second_half, half);
  double difference2 = 0.0;
  for (std::size_t j = 0; j < x.size(); ++j) {
    const double d = mean_grad[j] - half[j];
    difference2 += d * d;
    mean_grad[j] = (static_cast<double>(first_half) * mean_grad[j] + static_cast<double>(second_half) * half[j]) /
                   static_cast<double>(batch);
  }
  // E‖g_a − g_b‖² = tr Σ·(1/b_a + 1/b_b): unbiased for halves of any sizes.
  const double noise = difference2 / (1.0 / static_cast<double>(first_half) + 1.0 / static_cast<double>(second_half));
  return UpdateNormTest(norm_test, noise, Norm2(mean_grad), batch, 1, theta2);
}

RoundRecord SgdRoundRecord(std::uint64_t t, std::uint64_t batch, std::uint64_t sfo_per_worker, bool last, bool adaptive,
                           const NormTestState& norm_test, std::optional<double> grad_norm2) {
  RoundRecord record;
  record.round = t;
  record.batch = batch;
  record.local_steps = 1;
  record.sfo_per_worker = sfo_per_worker;
  record.last = last;
  if (adaptive) SetNormTestFields(norm_test, grad_norm2, record.fields);
  return record;
}

}  // namespace

Result<AlgorithmResult> MinibatchSgd::Run(Communicator& comm, const Objective& f, Sampler& sampler, std::span<double> x,
                                          RoundObserver& observer, RunProgress& progress) {
  sgd_.rounds = progress.rounds;  // the same counters
  sgd_.sfo = progress.sfo_per_worker;
  WholeRunObserver whole_run(observer, progress, sgd_);
  return RunFrom(comm, f, sampler, x, whole_run, sgd_);
}

// Version 2: the loop's SgdState, --compress's residual with it (1: none).
std::string MinibatchSgd::SaveState() const {
  ByteWriter out = BeginStateRecord(2);
  SaveSgdState(sgd_, out);
  return std::move(out.bytes());
}

Status MinibatchSgd::LoadState(std::string_view record) {
  ByteReader in(record);
  const char* name = AlgorithmName(options_.kind);
  CRPSGD_ASSIGN_OR_RETURN(const std::uint64_t version, ReadStateVersion(in, 2, name));
  sgd_ = LoadSgdState(in, version);
  return CheckStateRead(in, name);
}

Result<AlgorithmResult> MinibatchSgd::RunFrom(Communicator& comm, const Objective& f, Sampler& sampler,
                                              std::span<double> x, RoundObserver& observer, SgdState& sgd) {
  NormTestState& norm_test = sgd.norm_test;
  const GrowingBatch growing = GrowingBatchOf(options_);
  const bool adaptive = growing.adaptive;
  const BudgetPlan plan = PlanBudget(*schedule_, options_.budget);
  BatchGradient batch_gradient(f, sampler, options_.max_micro_batch);
  // --rho auto: one more entry rides in the round's all-reduce, ‖g_i‖².
  std::vector<double> grad(x.size() + (adaptive && comm.size() > 1 ? 1 : 0));
  const std::span<double> mean_grad(grad.data(), x.size());
  std::vector<double> half;  // --rho auto on one worker: the second half's mean
  SgdStep step(options_.lr, options_.momentum, options_.weight_decay, x.size(), sgd.velocity);
  // Gradients in the model's precision; its state waits for the evaluations.
  RoundExchange exchange(f, /*with_state=*/false, options_, &sgd.residual);
  const std::uint64_t first_batch = schedule_->BatchAt(1);  // B₁, for --lr-batch-scaling
  AlgorithmResult result;
  result.rounds = sgd.rounds;
  result.sfo_per_worker = sgd.sfo;
  for (std::uint64_t t = sgd.rounds + 1;; ++t) {
    // B_t: the schedule's (Algorithm 1's loop condition), or the norm test's
    // choice cut to what is left of the budget.
    std::uint64_t batch = 0;
    if (adaptive) {
      // (A remainder joins the last batch: on one seed a last step on 70
      // samples after 1458 took f − f* from 1.3e-4 to 3.9e-3.)
      const std::uint64_t wanted = norm_test.next_batch != 0 ? norm_test.next_batch : first_batch;
      batch = NextAdaptiveBatch(wanted, options_.budget - result.sfo_per_worker);
    } else if (t <= plan.rounds) {
      batch = schedule_->BatchAt(t);
    }
    if (batch == 0) break;
    std::optional<double> grad_norm2;
    if (adaptive && comm.size() == 1) {
      grad_norm2 = GradientFromHalves(batch_gradient, x, batch, mean_grad, half, norm_test, growing.theta2);
      CRPSGD_RETURN_IF_ERROR(exchange.Average(comm, mean_grad));  // the round (a copy with N = 1)
    } else {
      batch_gradient.Compute(x, batch, mean_grad);
      if (adaptive) grad.back() = Norm2(mean_grad);
      CRPSGD_RETURN_IF_ERROR(exchange.Average(comm, grad));  // the round
    }
    // Checked after the all-reduce, where a NaN has reached every worker, so
    // that all of them stop together instead of one leaving the others waiting.
    CRPSGD_RETURN_IF_ERROR(CheckFinite(grad, "averaged gradient", t));
    if (adaptive && comm.size() > 1) {
      // The spread of the N batch means: v̂ = B·N/(N−1)·(S − ‖ḡ‖²), unbiased for tr Σ.
      const double mean_norm2 = Norm2(mean_grad), n = comm.size();
      const double noise = static_cast<double>(batch) * n / (n - 1.0) * (grad.back() - mean_norm2);
      grad_norm2 = UpdateNormTest(norm_test, noise, mean_norm2, batch, comm.size(), growing.theta2);
    }
    const double progress = static_cast<double>(schedule_offset_ + result.sfo_per_worker) / schedule_total_;
    const double batch_ratio = static_cast<double>(batch) / static_cast<double>(first_batch);
    double scale = LrScale(options_.Schedule(), progress) * LrBatchFactor(options_.lr_batch_scaling, batch_ratio);
    if (options_.lr_max > 0.0) scale = std::min(scale, options_.lr_max / options_.lr);
    step.Apply(mean_grad, x, scale);
    CRPSGD_RETURN_IF_ERROR(CheckFinite(x, "iterate", t));
    result.rounds = t;
    result.sfo_per_worker += batch;
    sgd.rounds = result.rounds;
    sgd.sfo = result.sfo_per_worker;
    const bool last = adaptive ? result.sfo_per_worker == options_.budget : t == plan.rounds;
    const RoundRecord record = SgdRoundRecord(t, batch, result.sfo_per_worker, last, adaptive, norm_test, grad_norm2);
    CRPSGD_RETURN_IF_ERROR(observer.OnRound(record, x));
  }
  result.budget_left = options_.budget - result.sfo_per_worker;
  return result;
}

}  // namespace crpsgd::internal

namespace crpsgd::internal {
namespace {

std::unique_ptr<Algorithm> MakePsgd(const AlgorithmOptions& o) {
  return std::make_unique<MinibatchSgd>(o, std::make_unique<ConstantBatch>(o.batch));
}
std::unique_ptr<Algorithm> MakeCrPsgd(const AlgorithmOptions& o) {
  const GrowingBatch growing = GrowingBatchOf(o);
  return std::make_unique<MinibatchSgd>(o, std::make_unique<GeometricBatch>(growing.first_batch, growing.growth));
}

}  // namespace

constexpr ParamSpec kGrowingBatchParams[] = {kFirstBatchParam, kRhoParam, kNormTestParam};

// Rounds only fall as ρ grows, so bisection finds the smallest ρ.
Status FitGrowth(AlgorithmOptions& o, int) {
  if (o.adaptive_batch()) {
    return Status::InvalidArgument("--rounds and --rho auto: the norm test chooses the rounds; give one of them");
  }
  const std::uint64_t first = GrowingBatchOf(o).first_batch;
  const std::uint64_t most = o.budget / first;  // a constant B₁, the slowest growth
  if (o.rounds >= most) {
    return Status::InvalidArgument("--rounds " + std::to_string(o.rounds) +
                                   ": cr-psgd from B1=" + std::to_string(first) + " takes fewer than " +
                                   std::to_string(most) + " rounds at any rho > 1; for " + std::to_string(o.rounds) +
                                   " rounds use psgd or a smaller --b1");
  }
  const auto too_many = [&o, first](double growth) {  // more than R rounds (counted to R + 1 at most)
    return PlanBudget(GeometricBatch(first, growth), o.budget, o.rounds + 1).rounds > o.rounds;
  };
  double low = 1.0, high = 2.0;  // rounds(low) > R >= rounds(high)
  while (too_many(high)) low = high, high *= 2.0;
  for (int i = 0; i < 100 && high - low > 1e-9 * high; ++i) {
    const double mid = 0.5 * (low + high);
    (too_many(mid) ? low : high) = mid;
  }
  // A printable ρ (as Describe prints it, 6 digits): high rounded up still takes at most R rounds.
  const double scale = std::pow(10.0, 5 - std::floor(std::log10(high)));
  o.params.Set(kRhoParam.name, std::ceil(high * scale) / scale);
  return Status::OK();
}

// PSGD: one step of N·B samples a round.
extern const AlgorithmSpec kPsgdSpec{
    .kind = AlgorithmKind::kPsgd,
    .name = "psgd",
    .help = "fixed batch, one step a round: classic parallel SGD",
    .fixed_batch = true,
    .compresses = true,
    .params = {},  // none of its own: --batch is everyone's
    .make = MakePsgd,
    .plan = [](const AlgorithmOptions& o, int) { return PlanOf(PlanBudget(ConstantBatch(o.batch), o.budget)); },
    .validate = [](const AlgorithmOptions& o, int) { return ValidateFixedBatch(o); },
    .describe = [](const AlgorithmOptions& o, std::ostream& os) { os << "B=" << o.batch; },
    .fit_rounds =
        [](AlgorithmOptions& o, int) {
          o.batch = (o.budget + o.rounds - 1) / o.rounds;  // ⌈T/R⌉: at most R rounds
          return Status::OK();
        },
    .samples_per_step = [](const AlgorithmOptions& o,
                           int workers) { return static_cast<double>(workers) * static_cast<double>(o.batch); },
    .summary_fields =
        [](const AlgorithmOptions& o, const RunSummary&) {
          return SummaryFields{{"batch", std::uint64_t{o.batch}}};
        },
};

// CR-PSGD (Algorithm 1): the batch grows as ⌊ρ^t B₁⌋, or by the norm test.
extern const AlgorithmSpec kCrPsgdSpec{
    .kind = AlgorithmKind::kCrPsgd,
    .name = "cr-psgd",
    .help = "growing batch B1 rho^t: the paper's Algorithm 1",
    .fixed_batch = false,
    .stable_first_batch = true,
    .compresses = true,
    .params = kGrowingBatchParams,
    .make = MakeCrPsgd,
    .plan = PlanWholeBudgetGrowing,
    .validate = [](const AlgorithmOptions& o, int) { return ValidateGrowingBatch(o); },
    .describe = DescribeGrowing,
    .fit_rounds = FitGrowth,
    .samples_per_step = GrowingSamplesPerStep,
    .summary_fields =
        [](const AlgorithmOptions& o, const RunSummary&) {
          return SummaryFields{{"b1", std::uint64_t{GrowingBatchOf(o).first_batch}}, {"rho", RhoValue(o)}};
        },
};

}  // namespace crpsgd::internal
