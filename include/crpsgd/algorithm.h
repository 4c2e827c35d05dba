// Algorithms: PSGD, CR-PSGD (Algorithm 1), CR-PSGD-Catalyst (Algorithm 2) and local SGD.
//
// Train() (train.h) runs an algorithm on one worker with that worker's
// Communicator, Objective (its shard) and Sampler, updating x in place; all
// workers run it in lockstep. After every communication round it calls the
// RoundObservers with the shared iterate. The algorithms themselves and their
// resumable state are internal (src/algorithms/algorithm_internal.h).
// Costs: every sample index drawn is one SFO call; every Traffic::kTraining
// all-reduce is one round.
//
// H. Yu and R. Jin, "On the Computation and Communication Complexity of
// Parallel SGD with Dynamic Batch Sizes for Stochastic Non-Convex
// Optimization", ICML 2019.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "crpsgd/communicator.h"
#include "crpsgd/objective.h"
#include "crpsgd/compression.h"
#include "crpsgd/sampler.h"
#include "crpsgd/status.h"
#include "crpsgd/round_record.h"  // RoundRecord, RoundObserver: what Run reports each round

namespace crpsgd {

enum class AlgorithmKind { kPsgd, kCrPsgd, kLocalSgd, kCrPsgdCatalyst, kAuto, kAccCrPsgd };

// How `auto` spends a round's S_r samples per worker: as H_r local steps of
// b_r samples, b_r from the measured gradient noise (noise); as one step of
// all S_r (one-step: a CR-PSGD round); or as steps of the smallest batch
// (local-steps: local SGD whose period follows S_r).
enum class RoundSplit { kNoise, kOneStep, kLocalSteps };
const char* RoundSplitName(RoundSplit split);  // "noise", "one-step", "local-steps"
Result<RoundSplit> ParseRoundSplit(std::string_view name);

// Step-size schedule over the run, as a function of the share p of the
// per-worker SFO budget spent before the step (rounds are not evenly sized,
// SFO is): constant γ; cosine γ·½(1 + cos πp); step γ, γ/10 from p = ½,
// γ/100 from p = ¾.
enum class LrSchedule { kConstant, kCosine, kStep };
const char* LrScheduleName(LrSchedule schedule);  // "constant", "cosine", "step"
Result<LrSchedule> ParseLrSchedule(std::string_view name);
double LrScale(LrSchedule schedule, double progress);

// Step size against the batch (growing-batch methods): γ_t = γ·(B_t/B₁)^p
// with p = 0 (none: the paper's constant γ), ½ (sqrt) or 1 (linear, the
// "linear scaling rule" of large-batch training), then capped at lr_max if
// one is set. A larger batch has a less noisy gradient and can take a longer
// step; with the paper's constant γ the growing batch only removes noise, so
// a network makes as much progress per round as one small batch would.
enum class LrBatchScaling { kNone, kSqrt, kLinear };
const char* LrBatchScalingName(LrBatchScaling scaling);  // "none", "sqrt", "linear"
Result<LrBatchScaling> ParseLrBatchScaling(std::string_view name);
double LrBatchFactor(LrBatchScaling scaling, double batch_ratio);  // (B_t/B₁)^p

const char* AlgorithmName(AlgorithmKind kind);  // "psgd", "cr-psgd", "acc-cr-psgd", "local-sgd", ...
Result<AlgorithmKind> ParseAlgorithm(std::string_view name);
// Every algorithm with what it is, "psgd (fixed batch, ...), cr-psgd (...), ...": --algo's help.
const char* AlgorithmChoices();
// Whether --rounds auto plans its R from the link it runs on (round_plan.h): auto.
bool PlansOwnRounds(AlgorithmKind kind);

// auto's --batch auto: the smallest local batch b_min follows the step
// (AlgorithmOptions::SmallestBatch). ResolveStep replaces it with the number.
inline constexpr std::uint64_t kAutoBatch = 0;
// b_min where the step does not shrink with the batch: a given γ, K/L̂, or
// --lr auto without L̄ (a network's 1/L̂). Measured on a tuning network
// (experiments/auto-tuning-network.sh): single-sample steps diverge or stall
// at the large step a fixed-batch grid prefers (11-20x the best tuned
// baseline's test error); 4 was 1.06-1.49x, 2 tied it.
inline constexpr std::uint64_t kAutoBatchForFixedStep = 4;

struct AlgorithmOptions {
  AlgorithmKind kind = AlgorithmKind::kCrPsgd;
  std::uint64_t budget = 0;  // T: SFO budget per worker. Required.
  // B (psgd), b (local-sgd) or the smallest local batch b_min (auto; kAutoBatch: SmallestBatch()). Default: 1.
  std::uint64_t batch = 1;
  // R > 0: the rounds the run may take; FitToRounds sets each method's
  // parameters from it (psgd B, local-sgd I, cr-psgd ρ, auto's plan). 0: the
  // parameters as given. Default: 0.
  std::uint64_t rounds = 0;
  double lr = 0.0;  // γ > 0. Required (Train resolves --lr auto).
  // Heavy-ball momentum μ in [0, 1) and weight decay (adds wd·x to every
  // gradient). Practical options for networks; the paper's theory is for plain
  // SGD (both 0). Default: 0.
  double momentum = 0.0;
  double weight_decay = 0.0;
  std::optional<LrSchedule> lr_schedule;                    // Default: Schedule().
  LrBatchScaling lr_batch_scaling = LrBatchScaling::kNone;  // Default: none (the theory's).
  double lr_max = 0.0;                                      // cap on the scaled step; 0 = none. Default: 0.
  Sampling sampling = Sampling::kWithReplacement;
  // The round's message on the wire (compression.h): psgd, cr-psgd and
  // acc-cr-psgd send the gradient, local-sgd and auto the pseudo-gradient (the
  // model's step since the last round), with error feedback. Default: none.
  Compression compression = Compression::kNone;
  int compression_rank = 0;  // kPowerSgd's rank R >= 1. Default: 0.
  // kPowerSgd: its factors, the values it sends whole and the model's state
  // as bf16 (powersgd:R:bf16), not on the model's own wire. Default: false.
  bool compression_bf16_factors = false;
  // local-sgd and auto: round r's exchange runs while round r+1's local steps
  // compute, and its mean is applied one round late (each worker steps on
  // from its own step in the meantime, then swaps it for the mean); auto's
  // last round is not overlapped. Default: false.
  bool overlap = false;
  std::uint64_t seed = 0;                // the run's seed (Train sets it): PowerSGD's random start
  std::uint64_t max_micro_batch = 4096;  // larger batches are accumulated in pieces. Default: 4096.
  // The algorithm's own parameters, by name, as its file declares them
  // (with their defaults; docs/algorithms.md): those not set keep their
  // default, and a name no algorithm takes is refused. A parameter an
  // algorithm does not take is ignored, so one set serves several methods.
  //   b1 (count), rho (number > 1 or "auto": the norm test), norm_test_theta2:
  //     cr-psgd, acc-cr-psgd, cr-psgd-catalyst; auto with rounds = 0
  //   theta, outer_iterations (K; 0: ⌊√(NT)⌋), inner_budget (0: ⌊√(T/N)⌋): cr-psgd-catalyst
  //   sync_period (I), outer_lr, outer_momentum: local-sgd (the last two auto too)
  //   round_growth, round_split ("local-steps", "noise", "one-step"),
  //     tail_average (a share in [0, 1] or "auto"): auto
  //   e.g. options.params.Set("b1", 16); options.params.Set("rho", 1.2); ...Set("rho", "auto");
  AlgorithmFields params;

  // Every constraint, with a message that names the flag. Catalyst's budget
  // split depends on the number of workers N. Whether R is reachable by the
  // parameters is FitToRounds' check (it fits them) and Train's (it runs them).
  Status Validate(int workers = 1) const;
  // "B=1", "B1=1 rho=1.1", "b=1 I=10", "B1=1 rho=1.1 theta=1": the parameters that define the run.
  std::string Describe() const;
  // ρ as the tool prints it: "1.1", or "auto" (with θ² when it is not 1).
  std::string rho() const;
  // --rho auto: the norm test grows the batch (rho is "auto").
  bool adaptive_batch() const;
  // The smallest per-worker batch a round computes: B (psgd), b (local-sgd),
  // B₁ (the growing ones), b_min (auto). auto's kAutoBatch: 1 where each local
  // step is the safe step for its own batch (--lr auto with L̄), else
  // kAutoBatchForFixedStep.
  std::uint64_t SmallestBatch() const;
  // auto with --batch auto (kAutoBatch): b_min waits for the step (ResolveStep).
  bool ChoosesOwnBatch() const;
  // Whether the round ends with outer momentum or an outer step other than 1.
  bool has_outer_step() const;
  // The step schedule as given, else constant: the theory's, and auto's
  // (whose tail average takes the noise down at the end, as cosine did).
  LrSchedule Schedule() const { return lr_schedule.value_or(LrSchedule::kConstant); }
};

// A parameter's default (AlgorithmOptions::params), as the algorithm that
// takes it declares it; null for a name no algorithm takes.
FieldValue ParamDefault(std::string_view name);

// The norm test of --rho auto (Byrd, Chin, Nocedal & Wu 2012; McCandlish et
// al. 2018), on the N workers' batch means g_i of the round, mean ḡ, batch B
// per worker. One extra scalar rides in the round's all-reduce,
// S = (1/N) Σ‖g_i‖² (with one worker, two halves of its batch stand in for
// the workers), and then
//   v̂ = B·N/(N−1)·(S − ‖ḡ‖²)      estimates tr Σ, the per-sample noise
//   V ← βV + (1−β)v̂, Q ← βQ + (1−β)‖ḡ‖²  (β = ½; the first round sets them)
//   G² = Q − V/(N·B)                estimates ‖∇f‖²
//   B⁺ = min(2B, max(B, ⌈V/(N·θ²·G²)⌉)), or 2B when G² ≤ 0,
// the budget spent to the last sample (NextAdaptiveBatch).
struct NormTestState {
  bool started = false;
  double noise = 0.0;            // V: tr Σ per sample, smoothed
  double mean_norm2 = 0.0;       // Q: ‖ḡ‖², smoothed
  std::uint64_t next_batch = 0;  // B⁺ (0 before the first round: B₁)
};

// One round of the norm test: smooths the round's estimate `noise` (v̂) and
// ‖ḡ‖² into `state` and sets state.next_batch from them, for N = `workers`
// workers of `batch` samples each. Returns G².
double UpdateNormTest(NormTestState& state, double noise, double mean_norm2, std::uint64_t batch, int workers,
                      double theta2);

// The batch a --rho auto round takes when it wants `wanted` and `left` of the
// budget is unspent: `wanted` cut to `left`, and all of `left` when the
// remainder would be smaller than this batch (a last step on a few samples
// would be noisier than the ones before it). The run and its plan both use it.
std::uint64_t NextAdaptiveBatch(std::uint64_t wanted, std::uint64_t left);

// Rounds, SFO and remainder the options will produce on N workers, without running.
// With --rho auto the rounds depend on the gradients: the plan is then that
// of doubling batches (the fewest rounds the norm test can take), and not exact.
struct AlgorithmPlan {
  std::uint64_t rounds = 0, sfo_per_worker = 0, budget_left = 0;
  bool exact = true;
};
AlgorithmPlan PlanAlgorithm(const AlgorithmOptions& options, int workers = 1);

// --rounds R: the options checked (Validate) and with the parameters that
// spend the budget T in at most R rounds (options.rounds; unchanged when 0):
// psgd B = ⌈T/R⌉; local-sgd I = ⌈⌊T/b⌋/R⌉; cr-psgd the smallest ρ whose
// Algorithm-1 plan from B₁ takes at most R rounds; auto spends exactly T in
// exactly R rounds (its own plan). cr-psgd-catalyst and --rho auto are
// refused. Idempotent. `note`, when given, says what was chosen. Train runs
// the parameters it is given and refuses R they do not reach: fit first.
Result<AlgorithmOptions> FitToRounds(AlgorithmOptions options, int workers = 1, std::string* note = nullptr);

// auto's samples per worker in round r = 1..R: with `rounds` R ≤ T, S_r spends
// exactly T over R rounds, one sample each and the rest on a geometric curve
// with S_R/S₁ ≈ round_growth (cumulative shares rounded); otherwise Algorithm 1's ⌊ρ^(r−1) B₁⌋ while
// they fit. Empty when no round fits.
std::vector<std::uint64_t> AutoRoundSamples(const AlgorithmOptions& options);

}  // namespace crpsgd
