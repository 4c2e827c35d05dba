#include "algorithms/local_sgd.h"

#include <vector>

#include "algorithms/algorithm_spec.h"
#include "algorithms/background_exchange.h"
#include "algorithms/batch_gradient.h"
#include "algorithms/outer_step.h"
#include "algorithms/round_exchange.h"

namespace crpsgd::internal {

// The run's shape: ⌊T/b⌋ steps of b samples, I a round, the last round shorter.
struct Periods {
  explicit Periods(const AlgorithmOptions& o)
      : batch(o.batch), period(ParamCount(o, "sync_period")), steps(o.budget / o.batch) {}
  std::uint64_t rounds() const { return (steps + period - 1) / period; }
  std::uint64_t StepsOfRound(std::uint64_t t) const { return std::min(period, steps - (t - 1) * period); }
  std::uint64_t batch, period, steps;
};

// What both of Run's loops take their steps and rounds with.
struct LocalSgd::Workspace {
  Workspace(const AlgorithmOptions& o, const Objective& f, Sampler& sampler, std::size_t dim,
            std::vector<double>& velocity, std::vector<double>& outer_velocity, std::vector<double>& residual)
      : options(o),
        periods(o),
        gradient(f, sampler, o.max_micro_batch),
        grad(dim),
        exchange(f, /*with_state=*/true, o, &residual),
        step(o.lr, o.momentum, o.weight_decay, dim, velocity),  // this worker's own momentum buffer
        outer(o, outer_velocity, dim) {}
  // Round t's local steps from x, the run's steps_done before them: no communication.
  void LocalSteps(std::span<double> x, std::uint64_t t, std::uint64_t steps_done) {
    for (std::uint64_t s = 0; s < periods.StepsOfRound(t); ++s) {
      gradient.Compute(x, periods.batch, grad);
      const double spent = static_cast<double>((steps_done + s) * periods.batch) / options.budget;
      step.Apply(grad, x, LrScale(options.Schedule(), spent));
    }
  }
  const AlgorithmOptions& options;
  Periods periods;
  BatchGradient gradient;
  std::vector<double> grad;
  RoundExchange exchange;
  SgdStep step;
  OuterStep outer;
};

Result<AlgorithmResult> LocalSgd::Run(Communicator& comm, const Objective& f, Sampler& sampler, std::span<double> x,
                                      RoundObserver& observer, RunProgress& progress) {
  if (options_.overlap) return RunOverlapped(comm, f, sampler, x, observer, progress);
  Workspace w(options_, f, sampler, x.size(), velocity_, outer_velocity_, residual_);
  const std::uint64_t b = w.periods.batch, rounds = w.periods.rounds();
  const bool compressed = options_.compression != Compression::kNone;
  AlgorithmResult result;
  result.rounds = progress.rounds;
  result.sfo_per_worker = progress.sfo_per_worker;
  std::vector<double> start;  // x_r, for the outer step
  std::uint64_t steps_done = progress.sfo_per_worker / b;
  for (std::uint64_t t = progress.rounds + 1; t <= rounds; ++t) {
    const std::uint64_t steps = w.periods.StepsOfRound(t);
    if (w.outer.active() || compressed) start.assign(x.begin(), x.end());
    w.LocalSteps(x, t, steps_done);
    steps_done += steps;
    // Model averaging, the round: the models' state outside x (batch-norm
    // statistics) in the same message (linear models have none).
    CRPSGD_RETURN_IF_ERROR(w.exchange.AverageModels(comm, x, start));
    w.outer.Apply(start, x);
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

// After round t's local steps each worker holds its step d_t = start − x. It
// waits for round t−1's exchange, moves the model the workers agree on, g,
// to g − mean(d_{t−1}) (with the outer step), reports round t−1 at g, and
// sends d_t while round t+1 computes from g − d_t: its own step stands in for
// the mean until the mean arrives one round later. A checkpoint falls between
// the report and the send and keeps d_t (pending_), which a resumed run sends
// first: resume is bit-identical. The last round's mean ends the run at g.
Result<AlgorithmResult> LocalSgd::RunOverlapped(Communicator& comm, const Objective& f, Sampler& sampler,
                                                std::span<double> x, RoundObserver& observer, RunProgress& progress) {
  Workspace w(options_, f, sampler, x.size(), velocity_, outer_velocity_, residual_);
  const std::uint64_t b = w.periods.batch, period = w.periods.period, rounds = w.periods.rounds();
  AlgorithmResult result;
  result.rounds = progress.rounds;
  result.sfo_per_worker = progress.sfo_per_worker;
  ModelState* state = f.model_state();
  std::vector<double> global(x.begin(), x.end()), global_state = AveragedStateOf(f);  // g: what every worker agrees on
  std::vector<double> start, start_state, mean, mean_state, local_state;
  BackgroundExchange background(w.exchange, comm);  // after the buffers it reads: destroyed (joined) first
  const auto send = [&] {                           // pending_ goes out; the next steps start from g − pending_
    for (std::size_t j = 0; j < x.size(); ++j) x[j] = global[j] - pending_[j];
    if (!pending_state_.empty()) {
      Difference(global_state, pending_state_, local_state);
      state->SetAveragedValues(local_state);
    }
    background.Start(pending_, pending_state_);
  };
  const auto complete = [&](std::uint64_t t) -> Status {  // round t's mean arrives
    CRPSGD_RETURN_IF_ERROR(background.Finish(mean, mean_state));
    for (std::size_t j = 0; j < x.size(); ++j) x[j] = global[j] - mean[j];
    w.outer.Apply(global, x);  // g is still the round's start until the report
    for (std::size_t j = 0; j < mean_state.size(); ++j) global_state[j] -= mean_state[j];
    if (!global_state.empty()) state->SetAveragedValues(global_state);
    CRPSGD_RETURN_IF_ERROR(CheckFinite(x, "averaged model", t));
    result.rounds = progress.rounds = t;
    RoundRecord record;
    record.round = t;
    record.batch = b;
    record.local_steps = w.periods.StepsOfRound(t);
    record.sfo_per_worker = result.sfo_per_worker;  // with the steps of the round behind the exchange
    record.last = t == rounds;
    record.fields.Set("exposed_comm_s", background.last_exposed_s());
    CRPSGD_RETURN_IF_ERROR(observer.OnRound(record, x));
    global.assign(x.begin(), x.end());
    global_state = AveragedStateOf(f);  // as the evaluation left it (a recalibration), as a checkpoint keeps it
    return Status::OK();
  };
  if (!pending_.empty()) send();  // resumed: the step the checkpoint kept
  std::uint64_t steps_done = progress.sfo_per_worker / b;
  for (std::uint64_t t = (steps_done + period - 1) / period + 1; t <= rounds; ++t) {
    start.assign(x.begin(), x.end());
    start_state = AveragedStateOf(f);
    w.LocalSteps(x, t, steps_done);  // while round t−1's exchange runs
    steps_done += w.periods.StepsOfRound(t);
    result.sfo_per_worker = progress.sfo_per_worker = steps_done * b;
    Difference(start, x, pending_);
    Difference(start_state, AveragedStateOf(f), pending_state_);
    if (background.pending()) CRPSGD_RETURN_IF_ERROR(complete(t - 1));
    send();
  }
  if (background.pending()) {
    pending_.clear(), pending_state_.clear();
    CRPSGD_RETURN_IF_ERROR(complete(rounds));
  }
  result.budget_left = options_.budget - result.sfo_per_worker;
  result.fields.Set("exposed_comm_s", background.exposed_s());
  return result;
}

// Version 3: the local momentum buffer, the outer velocity, --compress's
// residual, --overlap's unsent step and its state's (version 2: no unsent
// step; version 1: no residual either).
std::string LocalSgd::SaveState() const {
  ByteWriter out = BeginStateRecord(3);
  out.Doubles(velocity_), out.Doubles(outer_velocity_), out.Doubles(residual_);
  out.Doubles(pending_), out.Doubles(pending_state_);
  return std::move(out.bytes());
}

Status LocalSgd::LoadState(std::string_view record) {
  ByteReader in(record);
  CRPSGD_ASSIGN_OR_RETURN(const std::uint64_t version, ReadStateVersion(in, 3, "local-sgd"));
  velocity_ = in.Doubles(), outer_velocity_ = in.Doubles();
  residual_ = version >= 2 ? in.Doubles() : std::vector<double>();
  pending_ = version >= 3 ? in.Doubles() : std::vector<double>();
  pending_state_ = version >= 3 ? in.Doubles() : std::vector<double>();
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
    .overlaps = true,
    .params = kLocalSgdParams,
    .make = [](const AlgorithmOptions& o) -> std::unique_ptr<Algorithm> { return std::make_unique<LocalSgd>(o); },
    .plan =
        [](const AlgorithmOptions& o, int) {
          const Periods periods(o);
          AlgorithmPlan plan;
          plan.rounds = periods.rounds();
          plan.sfo_per_worker = periods.steps * o.batch;
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
        [](const AlgorithmOptions& o, const RunSummary& s) {
          SummaryFields fields{{"batch", std::uint64_t{o.batch}},
                               {"sync_period", std::uint64_t{ParamCount(o, "sync_period")}}};
          // --overlap: the seconds its steps waited for exchanges (comm_s counts the exchanges whole).
          if (const FieldValue* exposed = s.fields.Find("exposed_comm_s"))
            fields.emplace_back("exposed_comm_s", *exposed);
          if (o.has_outer_step())
            fields.insert(fields.end(), {{"outer_lr", ParamNumber(o, kOuterLrParam.name)},
                                         {"outer_momentum", ParamNumber(o, kOuterMomentumParam.name)}});
          return fields;
        },
};

}  // namespace crpsgd::internal
