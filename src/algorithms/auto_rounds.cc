// auto: R rounds with nothing to tune. Round r spends S_r samples per worker
// (AutoRoundSamples: exactly T in R rounds with --rounds, growing G times
// from the first to the last; else Algorithm 1's ⌊ρ^(r−1) B₁⌋) as H_r local
// SGD steps of b_r samples on each worker's own copy of x, then averages the
// models (one round), with the safe step 1/(L̂ + L̄/b) under --lr auto, kept
// constant; the final model is the mean iterate over the run's tail, its
// length chosen by a drift test (tail_average.h). By default:
//
//   --round-split local-steps (the default): b_r = b_min, local SGD whose period follows S_r
//   --round-split noise: b_r = clamp(B_noise/N, b_min, S_r), H_r = ⌊S_r/b_r⌋ (b_r or b_r + 1: all S_r)
//   --round-split one-step: b_r = S_r, a CR-PSGD round (the models' mean after
//     one step is the step of the mean gradient)
//
// The defaults are measured (docs/experiments.md): on the tuning problems the
// noise split lost to local steps, and a constant step with the tail average
// beat a cosine schedule (which beat a constant step without it).
//
// The noise scale B_noise = tr Σ/‖∇f‖² (McCandlish et al. 2018) comes from
// what the round exchanges anyway (every split measures it when N > 1; the
// noise split and the outer momentum use it). Worker i's displacement over
// the round, Δ_i = x_r − x_i, divided by the round's summed step η = Σ_h γ_h,
// is its pseudo-gradient g_i: to first order in η a weighted mean of the
// sample gradients it drew, E‖g_i − ḡ‖² = tr Σ/S_eff with S_eff = η²/Σ_h(γ_h²/b_h)
// (S_r at a constant step). One scalar, ‖g_i‖², rides in the model
// all-reduce, and the norm test's estimators apply with batch S_eff:
//   v̂ = S_eff·N/(N−1)·(mean ‖g_i‖² − ‖ḡ‖²)  (tr Σ),   G² = Q − V/(N·S_eff)  (‖∇f‖²)
// smoothed as --rho auto smooths them (UpdateNormTest). With many local steps
// the models contract towards their shards' optima and the spread overstates
// the noise: b grows, the right way to correct too many steps. The next b
// moves at most ×2 or ÷2 a round. One worker has no spread: b stays b_min.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <optional>
#include <variant>
#include <vector>

#include "algorithms/algorithm_spec.h"
#include "algorithms/background_exchange.h"
#include "algorithms/batch_gradient.h"
#include "algorithms/outer_step.h"
#include "algorithms/round_exchange.h"
#include "algorithms/tail_average.h"

namespace crpsgd {

std::vector<std::uint64_t> AutoRoundSamples(const AlgorithmOptions& o) {
  std::vector<std::uint64_t> samples;
  if (o.rounds == 0) {  // Algorithm 1's rounds, as PlanBudget counts them
    const internal::GrowingBatch growing = internal::GrowingBatchOf(o);
    const GeometricBatch schedule(growing.first_batch, growing.growth);
    const BudgetPlan plan = PlanBudget(schedule, o.budget);
    for (std::uint64_t t = 1; t <= plan.rounds; ++t) samples.push_back(schedule.BatchAt(t));
    return samples;
  }
  // One sample per round, and the other T − R as cumulative shares of a
  // geometric curve, rounded: C_r = round((T − R)·W_r/W_R), S_r = 1 + C_r −
  // C_{r−1}. The R rounds spend exactly T, each at least one sample.
  const std::uint64_t rounds = o.rounds;
  const double round_growth = internal::ParamNumber(o, "round_growth");
  const double ratio = rounds > 1 ? std::pow(round_growth, 1.0 / static_cast<double>(rounds - 1)) : 1.0;
  std::vector<double> cumulative(rounds);
  double weight = 1.0, total = 0.0;
  for (std::uint64_t r = 0; r < rounds; ++r, weight *= ratio) cumulative[r] = total += weight;
  if (o.budget < rounds) return samples;  // not one sample a round (FitToRounds refuses it)
  const std::uint64_t rest = o.budget - rounds;
  std::uint64_t before = 0;
  for (std::uint64_t r = 0; r < rounds; ++r) {
    const std::uint64_t upto =
        r + 1 == rounds ? rest
                        : static_cast<std::uint64_t>(std::llround(static_cast<double>(rest) * cumulative[r] / total));
    samples.push_back(1 + upto - std::min(upto, before));
    before = std::max(before, upto);
  }
  return samples;
}

namespace internal {
namespace {

constexpr ParamSpec kAutoParams[] = {kFirstBatchParam,
                                     kRhoParam,
                                     kNormTestParam,
                                     {"round_growth", 4.0},
                                     {"round_split", 0.0, "local-steps"},
                                     kOuterLrParam,
                                     kOuterMomentumParam,
                                     {"tail_average", 0.0, "auto", false, /*or_auto=*/true},
                                     {"smoothness", 0.0},
                                     {"mean_sample_smoothness", 0.0}};

// auto's own parameters, read once. --round-split local-steps beat the noise
// split on the tuning problems; with the constant step the tail average beat
// the cosine schedule (docs/experiments.md).
struct AutoParams {
  GrowingBatch growing;  // S₁ and ρ (rounds = 0), the noise split's θ²
  double round_growth;   // S_R/S₁ with rounds R
  RoundSplit round_split;
  // The final model's tail: nullopt: the drift test chooses (tail_average.h); 0: the last iterate.
  std::optional<double> tail_average;
  // --lr auto (ResolveStep sets them): each local step of b samples takes
  // the safe step for b, 1/(L + L̄/b), instead of lr. 0: lr.
  double smoothness, mean_sample_smoothness;
};

AutoParams AutoParamsOf(const AlgorithmOptions& o) {
  AutoParams p;
  p.growing = GrowingBatchOf(o);
  p.round_growth = ParamNumber(o, "round_growth");
  const Result<RoundSplit> split = ParseRoundSplit(ParamWord(o, "round_split"));  // Validate has checked it
  p.round_split = split.ok() ? *split : RoundSplit::kLocalSteps;
  const FieldValue tail = ParamValue(o, "tail_average");
  if (const auto* share = std::get_if<double>(&tail)) p.tail_average = *share;
  p.smoothness = ParamNumber(o, "smoothness");
  p.mean_sample_smoothness = ParamNumber(o, "mean_sample_smoothness");
  return p;
}

class AutoRounds final : public Algorithm {
 public:
  explicit AutoRounds(const AlgorithmOptions& options) : options_(options), params_(AutoParamsOf(options)) {}

  Result<AlgorithmResult> Run(Communicator& comm, const Objective& f, Sampler& sampler, std::span<double> x,
                              RoundObserver& observer, RunProgress& progress) override {
    if (options_.overlap) return RunOverlapped(comm, f, sampler, x, observer, progress);
    const std::vector<std::uint64_t> plan = AutoRoundSamples(options_);
    // The noise is measured whenever there is a spread (N > 1): the noise split and outer momentum use it.
    // A compressed message cannot carry its statistic exactly (Validate refuses what needs it).
    const bool compressed = options_.compression != Compression::kNone;
    const bool measure = comm.size() > 1 && !compressed;
    Workspace w(options_, params_.tail_average, f, sampler, x.size(), state_);
    AlgorithmResult result;
    result.rounds = progress.rounds;
    result.sfo_per_worker = progress.sfo_per_worker;
    for (std::uint64_t t = progress.rounds + 1; t <= plan.size(); ++t) {
      const std::uint64_t samples = plan[t - 1];
      const std::uint64_t b =
          LocalBatch(samples, state_.local_batch != 0 ? state_.local_batch : options_.SmallestBatch());
      const Split split = SplitRound(samples, b);
      if (measure || compressed || w.outer.active() || w.tail.active()) w.start.assign(x.begin(), x.end());
      const std::uint64_t round_start = result.sfo_per_worker;
      const LocalPass pass = LocalSteps(w, split, round_start, x);
      // The last round averages the chosen tail window's mean iterates instead
      // of the models, and measures nothing more.
      const TailWindow* averaged = t == plan.size() ? w.tail.Chosen() : nullptr;
      if (averaged) w.tail.MeanOver(*averaged, x);
      const bool spread = measure && !averaged;
      CRPSGD_RETURN_IF_ERROR(AverageModels(comm, w, x, pass.eta, spread));
      CRPSGD_RETURN_IF_ERROR(CheckFinite(x, "averaged model", t));  // after the round: all workers agree
      std::optional<double> drift;
      if (w.tail.active() && !averaged) drift = w.tail.AfterRound(round_start, w.start, x);
      std::optional<double> grad_norm2;
      if (spread) grad_norm2 = MeasureNoise(w, x, pass, b, comm.size());
      // Outer momentum on the signal: scaled by the share Ĝ²/‖ḡ‖² of the mean
      // displacement that is gradient, not noise (momentum on noise adds noise).
      const NormTestState& measured = state_.norm_test;
      const double signal =
          grad_norm2 && measured.mean_norm2 > 0.0 ? std::clamp(*grad_norm2 / measured.mean_norm2, 0.0, 1.0) : 1.0;
      if (!averaged) w.outer.Apply(w.start, x, signal);  // the mean iterate is the output, not a step
      result.rounds = t;
      result.sfo_per_worker += samples;
      progress.rounds = t;
      progress.sfo_per_worker = result.sfo_per_worker;
      RoundRecord record = RecordOf(t, plan, split, result.sfo_per_worker, drift, averaged, result);
      if (grad_norm2) SetNormTestFields(state_.norm_test, grad_norm2, record.fields);
      CRPSGD_RETURN_IF_ERROR(observer.OnRound(record, x));
    }
    result.budget_left = options_.budget - result.sfo_per_worker;
    return result;
  }

  // Version 3: the momentum buffer, the norm test, the outer velocity, the
  // next local batch, the tail windows, --compress's residual, --overlap's
  // unsent step and its state's (version 2: no unsent step; version 1: no
  // residual either).
  std::string SaveState() const override {
    ByteWriter out = BeginStateRecord(3);
    out.Doubles(state_.velocity);
    SaveNormTest(state_.norm_test, out);
    out.Doubles(state_.outer_velocity), out.U64(state_.local_batch);
    SaveTailAverage(state_.tail, out);
    out.Doubles(state_.residual);
    out.Doubles(state_.pending), out.Doubles(state_.pending_state);
    return std::move(out.bytes());
  }

  Status LoadState(std::string_view record) override {
    ByteReader in(record);
    CRPSGD_ASSIGN_OR_RETURN(const std::uint64_t version, ReadStateVersion(in, 3, "auto"));
    state_.velocity = in.Doubles();
    state_.norm_test = LoadNormTest(in);
    state_.outer_velocity = in.Doubles(), state_.local_batch = in.U64();
    state_.tail = LoadTailAverage(in);
    state_.residual = version >= 2 ? in.Doubles() : std::vector<double>();
    state_.pending = version >= 3 ? in.Doubles() : std::vector<double>();
    state_.pending_state = version >= 3 ? in.Doubles() : std::vector<double>();
    return CheckStateRead(in, "auto");
  }

  // On other workers: the averages of what is each worker's own (the local
  // momentum buffers, residuals and unsent steps); the rest is the same on
  // every worker.
  Status LoadStates(std::span<const std::string> records) override {
    return LoadAveragingOwn(*this, records,
                            {&state_.velocity, &state_.residual, &state_.pending, &state_.pending_state});
  }

 private:
  // What the run carries from round to round (and a checkpoint saves).
  struct State {
    std::vector<double> velocity;        // this worker's momentum buffer (local steps)
    NormTestState norm_test;             // the round spread's smoothed statistics
    std::vector<double> outer_velocity;  // --outer-momentum's u (the same on every worker)
    std::uint64_t local_batch = 0;       // the local batch b the noise chose for the next round (0: b_min)
    TailAverageState tail;               // the tail windows' sums of iterates and the drift test
    std::vector<double> residual;        // --compress: what this worker's messages have lost (error feedback)
    // --overlap: this worker's step not yet sent, and its state's (between a report and the send).
    std::vector<double> pending, pending_state;
  };

  // What one run keeps between rounds, in the order it was always built.
  struct Workspace {
    Workspace(const AlgorithmOptions& o, std::optional<double> tail_average, const Objective& f, Sampler& sampler,
              std::size_t dim, State& state)
        : batch_gradient(f, sampler, o.max_micro_batch),
          grad(dim),
          step(o.lr, o.momentum, o.weight_decay, dim, state.velocity),
          exchange(f, /*with_state=*/true, o, &state.residual),
          outer(o, state.outer_velocity, dim),
          tail(tail_average, o.budget, state.tail) {}
    BatchGradient batch_gradient;
    std::vector<double> grad;
    SgdStep step;
    RoundExchange exchange;
    OuterStep outer;
    TailAverage tail;
    std::vector<double> start;    // x_r
    std::vector<double> message;  // measure: x_i and ‖Δ_i/η‖², one all-reduce
  };

  // A round's S_r samples as `steps` local steps: `even` samples each, the
  // first `longer` of them one more.
  struct Split {
    std::uint64_t steps, even, longer;
  };
  static Split SplitRound(std::uint64_t samples, std::uint64_t b) {
    const std::uint64_t steps = std::max<std::uint64_t>(1, samples / b);
    return {steps, samples / steps, samples % steps};
  }

  // The round's summed step η = Σ_h γ_h and Σ_h γ_h²/b_h (Var(g_i) = tr Σ·spread_sum/η²).
  struct LocalPass {
    double eta = 0.0;
    double spread_sum = 0.0;
  };

  // Round t's record: its split, the samples a worker has spent, the drift
  // test's cosine and, for the last round, the share of the tail its model
  // averages (the run's result too).
  static RoundRecord RecordOf(std::uint64_t t, const std::vector<std::uint64_t>& plan, const Split& split,
                              std::uint64_t sfo_per_worker, std::optional<double> drift, const TailWindow* averaged,
                              AlgorithmResult& result) {
    RoundRecord record;
    record.round = t;
    record.batch = split.even;
    record.local_steps = split.steps;
    record.samples = plan[t - 1];
    record.sfo_per_worker = sfo_per_worker;
    record.last = t == plan.size();
    if (drift) record.fields.Set("drift", *drift);
    if (record.last) {
      const double share = averaged ? averaged->share : 0.0;
      record.fields.Set("tail_average", share);
      result.fields.Set("tail_averaged", share);
    }
    return record;
  }

  // The local steps: no communication.
  LocalPass LocalSteps(Workspace& w, const Split& split, std::uint64_t round_start, std::span<double> x) const {
    const std::uint64_t b_min = options_.SmallestBatch();
    LocalPass pass;
    std::uint64_t done = 0;
    for (std::uint64_t h = 0; h < split.steps; ++h) {
      const std::uint64_t batch = split.even + (h < split.longer ? 1 : 0);
      w.batch_gradient.Compute(x, batch, w.grad);
      const double progress = static_cast<double>(round_start + done) / options_.budget;
      const double ratio = static_cast<double>(batch) / static_cast<double>(b_min);
      double scale = LrScale(options_.Schedule(), progress) * LrBatchFactor(options_.lr_batch_scaling, ratio);
      if (params_.smoothness > 0.0) {  // --lr auto: the safe step for this batch, 1/(L + L̄/b)
        scale *= 1.0 / (params_.smoothness + params_.mean_sample_smoothness / static_cast<double>(batch)) / options_.lr;
      }
      if (options_.lr_max > 0.0) scale = std::min(scale, options_.lr_max / options_.lr);
      w.step.Apply(w.grad, x, scale);
      if (w.tail.active()) w.tail.AddIterate(round_start + done, x);
      pass.eta += options_.lr * scale;
      pass.spread_sum += options_.lr * scale * options_.lr * scale / static_cast<double>(batch);
      done += batch;
    }
    return pass;
  }

  // The round: the models (and their state outside x) averaged; with
  // `spread`, each worker's ‖Δ_i/η‖² rides in the same all-reduce.
  // Compressed: the step since the round began, start − x, with error feedback.
  Status AverageModels(Communicator& comm, Workspace& w, std::span<double> x, double eta, bool spread) const {
    if (options_.compression != Compression::kNone) return w.exchange.AverageModels(comm, x, w.start);
    if (!spread) return w.exchange.Average(comm, x);
    w.message.assign(x.begin(), x.end());
    double moved2 = 0.0;
    for (std::size_t j = 0; j < x.size(); ++j) moved2 += (w.start[j] - x[j]) * (w.start[j] - x[j]);
    w.message.push_back(moved2 / (eta * eta));
    CRPSGD_RETURN_IF_ERROR(w.exchange.Average(comm, w.message));
    std::copy_n(w.message.begin(), x.size(), x.begin());
    return Status::OK();
  }

  // --overlap, as local-sgd's (local_sgd.cc): after round t's local steps
  // each worker holds its step d_t = start − x; it waits for round t−1's
  // mean, moves the model every worker agrees on, g, to g − mean(d_{t−1})
  // (with the outer step), reports round t−1 at g, and sends d_t while round
  // t+1 computes from g − d_t. A checkpoint at the report keeps d_t, which a
  // resumed run sends first. The last round is not overlapped: it waits for
  // round R−1's mean and averages the models (or the tail's mean iterates)
  // against g, as the synchronous run does. The message is the step alone:
  // no noise is measured (Validate refuses what needs it).
  struct Overlapped {
    AutoRounds& self;
    Communicator& comm;
    const Objective& f;
    std::span<double> x;
    RoundObserver& observer;
    RunProgress& progress;
    Workspace& w;
    const std::vector<std::uint64_t>& plan;
    std::vector<std::uint64_t> before;         // before[t]: the samples a worker spent before round t (1-based)
    std::vector<double> global, global_state;  // g: what every worker agrees on
    std::vector<double> start_state{}, mean{}, mean_state{}, local_state{};
    BackgroundExchange background;  // after the buffers it reads: destroyed (joined) first
    AlgorithmResult result{};
    double last_round_s = 0.0;  // the last round's exchange, which nothing hides

    // The worker's own model: g less its step not yet averaged.
    void TakeOwnStep() {
      State& s = self.state_;
      for (std::size_t j = 0; j < x.size(); ++j) x[j] = global[j] - s.pending[j];
      if (s.pending_state.empty()) return;
      Difference(global_state, s.pending_state, local_state);
      f.model_state()->SetAveragedValues(local_state);
    }
    void Send() {
      TakeOwnStep();
      background.Start(self.state_.pending, self.state_.pending_state);
    }
    Status Complete(std::uint64_t t) {  // round t's mean arrives
      CRPSGD_RETURN_IF_ERROR(background.Finish(mean, mean_state));
      for (std::size_t j = 0; j < x.size(); ++j) x[j] = global[j] - mean[j];
      w.outer.Apply(global, x, 1.0);  // g is still the round's start until the report
      for (std::size_t j = 0; j < mean_state.size(); ++j) global_state[j] -= mean_state[j];
      if (!global_state.empty()) f.model_state()->SetAveragedValues(global_state);
      return Report(t, background.last_exposed_s(), nullptr);
    }
    // Round t at x, the workers' mean; `averaged`: the last round's tail window.
    Status Report(std::uint64_t t, double exposed_s, const TailWindow* averaged) {
      CRPSGD_RETURN_IF_ERROR(CheckFinite(x, "averaged model", t));
      std::optional<double> drift;
      if (w.tail.active() && !averaged) drift = w.tail.AfterRound(before[t], global, x);
      result.rounds = progress.rounds = t;
      const Split split = SplitRound(plan[t - 1], self.LocalBatch(plan[t - 1], self.options_.SmallestBatch()));
      // The samples spent count the steps of the round behind the exchange.
      RoundRecord record = RecordOf(t, plan, split, result.sfo_per_worker, drift, averaged, result);
      record.fields.Set("exposed_comm_s", exposed_s);
      CRPSGD_RETURN_IF_ERROR(observer.OnRound(record, x));
      global.assign(x.begin(), x.end());
      global_state = AveragedStateOf(f);  // as the evaluation left it (a recalibration), as a checkpoint keeps it
      return Status::OK();
    }
    // The last round, in the open: the models (or the tail's mean iterates) averaged against g.
    Status LastRound() {
      TakeOwnStep();
      self.state_.pending.clear(), self.state_.pending_state.clear();
      const TailWindow* averaged = w.tail.Chosen();
      if (averaged) w.tail.MeanOver(*averaged, x);
      const auto t0 = std::chrono::steady_clock::now();
      CRPSGD_RETURN_IF_ERROR(w.exchange.AverageModels(comm, x, global));
      last_round_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (!averaged) w.outer.Apply(global, x, 1.0);
      return Report(plan.size(), last_round_s, averaged);
    }
  };

  Result<AlgorithmResult> RunOverlapped(Communicator& comm, const Objective& f, Sampler& sampler, std::span<double> x,
                                        RoundObserver& observer, RunProgress& progress) {
    const std::vector<std::uint64_t> plan = AutoRoundSamples(options_);
    const std::uint64_t rounds = plan.size();
    Workspace w(options_, params_.tail_average, f, sampler, x.size(), state_);
    Overlapped run{.self = *this,
                   .comm = comm,
                   .f = f,
                   .x = x,
                   .observer = observer,
                   .progress = progress,
                   .w = w,
                   .plan = plan,
                   .before = std::vector<std::uint64_t>(rounds + 1, 0),
                   .global = std::vector<double>(x.begin(), x.end()),
                   .global_state = AveragedStateOf(f),
                   .background = BackgroundExchange(w.exchange, comm)};
    for (std::uint64_t r = 1; r < rounds; ++r) run.before[r + 1] = run.before[r] + plan[r - 1];
    run.result.rounds = progress.rounds;
    run.result.sfo_per_worker = progress.sfo_per_worker;
    std::uint64_t t = progress.rounds + 1;
    if (!state_.pending.empty()) {  // resumed between a report and its send: round t is computed
      if (t == rounds) CRPSGD_RETURN_IF_ERROR(run.LastRound());
      if (t < rounds) run.Send();
      ++t;
    }
    for (; t <= rounds; ++t) {
      const Split split = SplitRound(plan[t - 1], LocalBatch(plan[t - 1], options_.SmallestBatch()));
      w.start.assign(x.begin(), x.end());
      run.start_state = AveragedStateOf(f);
      LocalSteps(w, split, run.before[t], x);  // while round t−1's exchange runs
      run.result.sfo_per_worker = progress.sfo_per_worker = run.before[t] + plan[t - 1];
      Difference(w.start, x, state_.pending);
      Difference(run.start_state, AveragedStateOf(f), state_.pending_state);
      if (run.background.pending()) CRPSGD_RETURN_IF_ERROR(run.Complete(t - 1));
      if (t < rounds) {
        run.Send();
      } else {
        CRPSGD_RETURN_IF_ERROR(run.LastRound());
      }
    }
    run.result.budget_left = options_.budget - run.result.sfo_per_worker;
    run.result.fields.Set("exposed_comm_s", run.background.exposed_s() + run.last_round_s);
    return std::move(run.result);
  }

  // The norm test's Ĝ² from the round's spread, and the next round's local batch.
  double MeasureNoise(const Workspace& w, std::span<const double> x, const LocalPass& pass, std::uint64_t b,
                      int workers) {
    double mean2 = 0.0;  // ‖ḡ‖², ḡ = (x_r − x̄)/η
    for (std::size_t j = 0; j < x.size(); ++j) mean2 += (w.start[j] - x[j]) * (w.start[j] - x[j]);
    mean2 /= pass.eta * pass.eta;
    const double n = workers;
    // The samples g_i averages, weighted by the steps: S_r when the step is constant.
    const auto effective = static_cast<std::uint64_t>(std::max(1.0, std::round(pass.eta * pass.eta / pass.spread_sum)));
    const double noise = static_cast<double>(effective) * n / (n - 1.0) * (w.message.back() - mean2);
    NormTestState& norm_test = state_.norm_test;
    const double grad_norm2 = UpdateNormTest(norm_test, noise, mean2, effective, workers, params_.growing.theta2);
    state_.local_batch = NextLocalBatch(norm_test, grad_norm2, b, workers, params_.growing.theta2);
    return grad_norm2;
  }

  // This round's local batch: the split's, cut to [b_min, S_r] (S_r when it is smaller).
  std::uint64_t LocalBatch(std::uint64_t samples, std::uint64_t wanted) const {
    switch (params_.round_split) {
      case RoundSplit::kOneStep: return samples;
      case RoundSplit::kLocalSteps: return std::min(options_.SmallestBatch(), samples);
      case RoundSplit::kNoise: break;
    }
    return std::clamp(wanted, std::min(options_.SmallestBatch(), samples), samples);
  }

  // B_noise/(N θ²) (--norm-test-theta2) from the smoothed V and G², within ×2 and ÷2 of this
  // round's b; twice b when the noise hides the gradient (G² ≤ 0).
  static std::uint64_t NextLocalBatch(const NormTestState& norm_test, double grad_norm2, std::uint64_t b, int workers,
                                      double theta2) {
    if (!(grad_norm2 > 0.0)) return 2 * b;
    const double wanted = std::ceil(norm_test.noise / (static_cast<double>(workers) * theta2 * grad_norm2));
    const double low = std::max(1.0, std::floor(static_cast<double>(b) / 2.0)), high = 2.0 * static_cast<double>(b);
    return static_cast<std::uint64_t>(std::clamp(wanted, low, high));
  }

  AlgorithmOptions options_;
  AutoParams params_;
  State state_;
};

}  // namespace

// auto: S_r per round (AutoRoundSamples), split by the measured noise.
extern const AlgorithmSpec kAutoSpec{
    .kind = AlgorithmKind::kAuto,
    .name = "auto",
    .help =
        "the default: local SGD whose rounds grow, with a constant step and a tail average; the best or within 1.02x "
        "of every tuned baseline in the project's 15 measured cells, docs/algorithms.md",
    .fixed_batch = true,  // --batch is b_min
    .averages_models = true,
    .tail_averages = true,
    .step_per_batch = true,
    .plans_rounds = true,
    .compresses = true,
    .overlaps = true,
    .params = kAutoParams,
    .make = [](const AlgorithmOptions& o) -> std::unique_ptr<Algorithm> { return std::make_unique<AutoRounds>(o); },
    .plan =
        [](const AlgorithmOptions& o, int) {
          AlgorithmPlan plan;
          for (std::uint64_t s : AutoRoundSamples(o)) ++plan.rounds, plan.sfo_per_worker += s;
          return plan;
        },
    .validate =
        [](const AlgorithmOptions& o, int) {
          if (o.adaptive_batch()) {
            return Status::InvalidArgument("--rho auto: auto measures the noise itself (--round-split noise)");
          }
          const AutoParams p = AutoParamsOf(o);
          if (o.rounds == 0) {
            if (!(p.growing.growth >= 1.0) || !std::isfinite(p.growing.growth)) {
              return Status::InvalidArgument("--rho must be >= 1 for auto (got " + std::to_string(p.growing.growth) +
                                             ")");
            }
            if (p.growing.first_batch < 1 || p.growing.first_batch > o.budget) {
              return Status::InvalidArgument("--b1 must be in [1, --budget] (auto's first round's samples, S1)");
            }
          }
          // What reads the round's noise statistic, which a compressed or overlapped round does not send.
          const bool reads_noise =
              p.round_split == RoundSplit::kNoise || ParamNumber(o, kOuterMomentumParam.name) > 0.0;
          const auto refused = [](const char* flag, const char* why) {
            return Status::InvalidArgument(std::string(flag) +
                                           " with auto: --round-split noise and --outer-momentum use the round's "
                                           "noise statistic, which " +
                                           why + "; use the default split and no outer momentum");
          };
          if (reads_noise && o.compression != Compression::kNone) {
            return refused("--compress", "a compressed message cannot carry exactly");
          }
          if (reads_noise && o.overlap) return refused("--overlap", "an overlapped round does not measure");
          if (!(p.round_growth >= 1.0) || !std::isfinite(p.round_growth)) {
            return Status::InvalidArgument("--round-growth must be >= 1 (got " + std::to_string(p.round_growth) +
                                           "): the last round's samples over the first's");
          }
          return ParseRoundSplit(ParamWord(o, "round_split")).status();
        },
    .describe =
        [](const AlgorithmOptions& o, std::ostream& os) {
          const AutoParams p = AutoParamsOf(o);
          os << "b=";
          if (o.batch == kAutoBatch) {
            os << "auto";  // resolved by ResolveStep, once the step is known
          } else {
            os << o.batch;
          }
          if (o.rounds > 0) {
            os << " R=" << o.rounds << " G=" << p.round_growth;
          } else {
            os << " S1=" << p.growing.first_batch << " rho=" << p.growing.growth;
          }
          if (p.round_split != RoundSplit::kLocalSteps) os << " split=" << RoundSplitName(p.round_split);
          if (p.round_split == RoundSplit::kNoise && p.growing.theta2 != 1.0) os << " theta2=" << p.growing.theta2;
          if (p.tail_average) os << " tail=" << *p.tail_average;
        },
    .fit_rounds = [](AlgorithmOptions&, int) { return Status::OK(); },  // its plan takes R itself
    .samples_per_step = [](const AlgorithmOptions& o, int) { return static_cast<double>(o.SmallestBatch()); },
    .summary_fields =
        [](const AlgorithmOptions& o, const RunSummary& summary) {
          const AutoParams p = AutoParamsOf(o);
          SummaryFields fields{{"batch", std::uint64_t{o.SmallestBatch()}},
                               {"round_split", std::string(RoundSplitName(p.round_split))}};
          if (o.rounds > 0) {
            fields.emplace_back("round_growth", p.round_growth);
          } else {
            fields.insert(fields.end(), {{"b1", std::uint64_t{p.growing.first_batch}}, {"rho", p.growing.growth}});
          }
          fields.insert(fields.end(), {{"outer_lr", ParamNumber(o, kOuterLrParam.name)},
                                       {"outer_momentum", ParamNumber(o, kOuterMomentumParam.name)}});
          fields.emplace_back("tail_average",
                              p.tail_average ? SummaryValue(*p.tail_average) : SummaryValue(std::string("auto")));
          // The share the final model averages, as the drift test chose it (null: a target stopped the run).
          fields.emplace_back("tail_averaged", summary.fields.ValueOr("tail_averaged"));
          // --overlap: the seconds its steps waited for exchanges, and the last round's exchange.
          if (const FieldValue* exposed = summary.fields.Find("exposed_comm_s"))
            fields.emplace_back("exposed_comm_s", *exposed);
          return fields;
        },
};

}  // namespace internal
}  // namespace crpsgd
