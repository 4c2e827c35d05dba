#include "algorithms/local_sgd.h"

#include <vector>

#include "algorithms/algorithm_spec.h"
#include "algorithms/batch_gradient.h"
#include "algorithms/outer_step.h"
#include "algorithms/round_exchange.h"

namespace crpsgd::internal {

Result<AlgorithmResult> LocalSgd::Run(Communicator& comm, const Objective& f, Sampler& sampler, std::span<double> x,
                                      RoundObserver& observer, RunProgress& progress) {
  const std::uint64_t b = options_.batch, period = ParamCount(options_, "sync_period");
  const std::uint64_t total_steps = options_.budget / b;
  const std::uint64_t rounds = (total_steps + period - 1) / period;
  BatchGradient batch_gradient(f, sampler, options_.max_micro_batch);
  std::vector<double> grad(x.size());
  RoundExchange exchange(f, /*with_state=*/true, options_, &residual_);
  const bool compressed = options_.compression != Compression::kNone;
  // This worker's own momentum buffer (local steps).
  SgdStep step(options_.lr, options_.momentum, options_.weight_decay, x.size(), velocity_);
  AlgorithmResult result;
  result.rounds = progress.rounds;
  result.sfo_per_worker = progress.sfo_per_worker;
  OuterStep outer(options_, outer_velocity_, x.size());
  std::vector<double> start;  // x_r, for the outer step
  std::uint64_t steps_done = progress.sfo_per_worker / b;
  for (std::uint64_t t = progress.rounds + 1; t <= rounds; ++t) {
    const std::uint64_t steps = std::min(period, total_steps - steps_done);
    if (outer.active() || compressed) start.assign(x.begin(), x.end());
    for (std::uint64_t s = 0; s < steps; ++s) {  // local steps: no communication
      batch_gradient.Compute(x, b, grad);
      const double spent = static_cast<double>((steps_done + s) * b) / options_.budget;
      step.Apply(grad, x, LrScale(options_.Schedule(), spent));
    }
    steps_done += steps;
    // Model averaging, the round: the models' state outside x (batch-norm
    // statistics) in the same message (linear models have none).
    CRPSGD_RETURN_IF_ERROR(exchange.AverageModels(comm, x, start));
    outer.Apply(start, x);
    CRPSGD_RETURN_IF_ERROR(CheckFinite(x, "averaged model", t));  // after the round: all workers agree
    result.rounds = t;
    result.sfo_per_worker += steps * b;
    progress.rounds = t;
    progress.sfo_per_worker = result.sfo_per_worker;
    RoundRecord record;
    record.round = t;
    record.batch = b;
    record.local_steps = steps;
    record.sfo_per_worker = result.sfo_per_worker;
    record.last = t == rounds;
    CRPSGD_RETURN_IF_ERROR(observer.OnRound(record, x));
  }
  result.budget_left = options_.budget - result.sfo_per_worker;
  return result;
}

// Version 2: the local momentum buffer, the outer velocity, --compress's
// residual (version 1: none).
std::string LocalSgd::SaveState() const {
  ByteWriter out = BeginStateRecord(2);
  out.Doubles(velocity_), out.Doubles(outer_velocity_), out.Doubles(residual_);
  return std::move(out.bytes());
}

Status LocalSgd::LoadState(std::string_view record) {
  ByteReader in(record);
  CRPSGD_ASSIGN_OR_RETURN(const std::uint64_t version, ReadStateVersion(in, 2, "local-sgd"));
  velocity_ = in.Doubles(), outer_velocity_ = in.Doubles();
  residual_ = version >= 2 ? in.Doubles() : std::vector<double>();
  return CheckStateRead(in, "local-sgd");
}

}  // namespace crpsgd::internal

namespace crpsgd::internal {

constexpr ParamSpec kLocalSgdParams[] = {{"sync_period", 10.0, nullptr, true}, kOuterLrParam, kOuterMomentumParam};

// Local SGD: I local steps of b samples between averagings; ⌊T/b⌋ steps.
extern const AlgorithmSpec kLocalSgdSpec{
    .kind = AlgorithmKind::kLocalSgd,
    .name = "local-sgd",
    .help = "periodic model averaging: I local steps a round",
    .fixed_batch = true,
    .averages_models = true,
    .compresses = true,
    .params = kLocalSgdParams,
    .make = [](const AlgorithmOptions& o) -> std::unique_ptr<Algorithm> { return std::make_unique<LocalSgd>(o); },
    .plan =
        [](const AlgorithmOptions& o, int) {
          const std::uint64_t steps = o.budget / o.batch, period = ParamCount(o, "sync_period");
          AlgorithmPlan plan;
          plan.rounds = (steps + period - 1) / period;
          plan.sfo_per_worker = steps * o.batch;
          return plan;
        },
    .validate =
        [](const AlgorithmOptions& o, int) {
          CRPSGD_RETURN_IF_ERROR(ValidateFixedBatch(o));
          if (ParamCount(o, "sync_period") < 1) return Status::InvalidArgument("--sync-period must be >= 1");
          return Status::OK();
        },
    .describe = [](const AlgorithmOptions& o,
                   std::ostream& os) { os << "b=" << o.batch << " I=" << ParamCount(o, "sync_period"); },
    .fit_rounds =
        [](AlgorithmOptions& o, int) {
          const std::uint64_t steps = o.budget / o.batch;
          if (o.rounds > steps) {
            return Status::InvalidArgument("--rounds " + std::to_string(o.rounds) +
                                           ": local-sgd with b=" + std::to_string(o.batch) + " has only " +
                                           std::to_string(steps) + " steps in the budget, one round each at most");
          }
          o.params.Set("sync_period", (steps + o.rounds - 1) / o.rounds);
          return Status::OK();
        },
    .samples_per_step = [](const AlgorithmOptions& o, int) { return static_cast<double>(o.batch); },
    .summary_fields =
        [](const AlgorithmOptions& o, const RunSummary&) {
          SummaryFields fields{{"batch", std::uint64_t{o.batch}},
                               {"sync_period", std::uint64_t{ParamCount(o, "sync_period")}}};
          if (o.has_outer_step())
            fields.insert(fields.end(), {{"outer_lr", ParamNumber(o, kOuterLrParam.name)},
                                         {"outer_momentum", ParamNumber(o, kOuterMomentumParam.name)}});
          return fields;
        },
};

}  // namespace crpsgd::internal
