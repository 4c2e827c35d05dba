// Train(): the library's entry point. Runs one algorithm on one worker's
// objective; every worker calls it with the same options (a collective).
//
//   crpsgd::RunInProcess(4, [&](crpsgd::Communicator& comm) {
//     MyObjective f(shard_for(comm.rank()));
//     crpsgd::TrainOptions options;
//     options.algorithm.kind = crpsgd::AlgorithmKind::kCrPsgd;
//     options.algorithm.budget = 10000;
//     options.algorithm.lr = 0.1;
//     auto summary = crpsgd::Train(options, f, comm);
//     return summary.status();
//   });
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "crpsgd/algorithm.h"
#include "crpsgd/checkpoint.h"
#include "crpsgd/communicator.h"
#include "crpsgd/objective.h"

namespace crpsgd {

// A network the rounds are modelled on: each training all-reduce of m bytes
// over N workers is costed as a ring all-reduce, 2(N−1) messages of m/N bytes,
// each taking alpha + (m/N)/bandwidth seconds. Reported beside the measured
// times (net_model_s), never added to them.
struct NetworkModel {
  double alpha_s = 0.0;                // per-message latency, seconds
  double bandwidth_bytes_per_s = 0.0;  // link bandwidth, bytes per second (> 0)

  double AllreduceSeconds(std::uint64_t bytes, int workers) const;
};

// Parses "alpha=SECONDS,bandwidth=BYTES_PER_S" (the --net-model flag).
Result<NetworkModel> ParseNetworkModel(const std::string& text);

// Stop a run at the first evaluated round that reaches any of these:
// f(x) ≤ loss, f(x) − f* ≤ gap (f* must be known), accuracy ≥ accuracy (a
// fraction; on the test data when given, else on the training data), and
// f(x) − f* ≤ relative_gap·(f(x₀) − f*): the gap closed to this share of the
// start's (f* known; --budget auto's stop rule, kConvergedGap).
// Evaluations follow the eval schedule: --eval-every 1 checks every round.
struct RunTargets {
  std::optional<double> loss, gap, accuracy, relative_gap;
  bool any() const { return loss || gap || accuracy || relative_gap; }
  Status Validate() const;  // finite values, accuracy in (0, 1], gap ≥ 0, relative_gap in (0, 1)
};

// Where a run first reached its targets.
struct TargetReached {
  std::uint64_t round = 0, sfo_per_worker = 0, bytes = 0;
  double wall_s = 0.0;
};

struct TrainOptions {
  AlgorithmOptions algorithm;  // lr must be set (see EstimateLipschitz for --lr auto)
  std::uint64_t seed = 1;      // every random choice derives from it
  // Evaluate f(x) on all data every this many rounds; 0 = automatic: the
  // first 20 rounds, then rounds spaced by 10% (a log-spaced curve). The
  // starting point and the last round are always evaluated.
  std::uint64_t eval_every = 0;
  // Instead, when > 0: evaluate at the first round at or past each multiple
  // of this many samples per worker (evaluations evenly spaced in SFO, so
  // that methods with different batches are compared at the same cost).
  std::uint64_t eval_every_sfo = 0;
  // Evaluate the loss (and accuracies) on at most this many samples per
  // worker, the first of each shard; 0 = all. f* and f − f* need all.
  std::size_t eval_samples_per_worker = 0;
  // Before each evaluation, recompute state outside x (a network's batch-norm
  // statistics) on the evaluation samples instead of using the running
  // averages of training (ModelState::Recalibrate: "precise batch norm").
  // Training itself is unchanged. Default: off (PyTorch's eval()).
  bool recalibrate_state = false;
  // A run that makes f worse fails with kDiverged, as a non-finite loss does:
  // its loss grows past divergence_factor × its start, or (unless warm-started
  // from initial_x, or end_below_start is off) it ends above its start.
  double divergence_factor = 100.0;
  bool end_below_start = true;
  std::optional<double> f_star;               // when known, summaries report f − f*
  std::optional<double> lipschitz;            // recorded in the summary when given
  std::vector<RoundObserver*> observers;      // called on this worker after every round
  const Objective* test_objective = nullptr;  // this worker's test shard, for test metrics
  // --sampling global (algorithm.sampling): this worker's objective over the
  // whole training set, which the sampler's indices name and the algorithm
  // trains on; Train's f stays the worker's shard, for evaluation. Required
  // with kGlobal; of f's dimension. With state outside x (ModelState: batch
  // norm), f must share it: a SliceObjective of this one (slice_objective.h).
  const Objective* global_objective = nullptr;
  std::vector<double> initial_x;          // x₁; empty = zeros
  std::optional<NetworkModel> net_model;  // when set, records report net_model_s
  CheckpointOptions checkpoint;           // periodic checkpoints and resuming (checkpoint.h)
  RunTargets targets;                     // stop early on reaching one (none: run the budget)
};

struct RunSummary {
  AlgorithmOptions algorithm;
  std::string backend;
  int workers = 0;       // those at the end (a resumed run may have another number)
  int plan_workers = 0;  // the plan's N, which a resume on another number of workers keeps
  std::uint64_t seed = 0;
  std::uint64_t rounds = 0;
  std::uint64_t sfo_per_worker = 0;  // per worker of the plan
  std::uint64_t sfo_total = 0;       // sfo_per_worker × plan_workers: the samples the run used
  std::uint64_t budget_left = 0;     // unspent per-worker budget (Algorithm 1's remainder)
  double final_loss = 0.0;           // f(x) at the returned x, all training data
  std::optional<double> f_star;
  std::optional<double> lipschitz;
  double wall_s = 0.0;                // training time, loss evaluations excluded
  double comm_s = 0.0;                // time inside training all-reduces
  std::optional<double> net_model_s;  // the rounds' time on TrainOptions::net_model
  double eval_s = 0.0;                // time spent evaluating f for the metrics
  std::uint64_t bytes = 0;            // training payload bytes per worker
  std::uint64_t eval_bytes = 0;       // evaluation payload bytes per worker
  std::optional<double> train_accuracy, test_loss, test_accuracy;
  // The algorithm's own results. The built-in ones report: cr-psgd-catalyst
  // outer_iterations (K), inner_budget and gradient_norm, ‖∇f‖ at the
  // returned y (Algorithm 2's convergence measure for non-convex f) on all
  // training data; auto tail_averaged, the share of the budget whose mean
  // iterate is the final model (0: the last iterate).
  AlgorithmFields fields;
  RunTargets targets;                    // as given
  std::optional<TargetReached> reached;  // where they were first reached; nullopt: not reached
  std::uint64_t peak_rss_bytes = 0;      // peak resident memory, the largest over the workers' processes
  std::vector<std::uint64_t> peak_rss_bytes_per_worker;  // each worker's process, by rank
  std::vector<double> x;                                 // the final model
};

// With options.checkpoint.resume, the run goes on from the checkpoint on the
// workers there are, as many as wrote it or not (checkpoint.h). Runs the
// algorithm's parameters as given: with options.algorithm.rounds R they must
// reach R (FitToRounds makes them), else InvalidArgument. Checks the options
// first (CheckTrainOptions), then TrainChecked.
Result<RunSummary> Train(const TrainOptions& options, const Objective& f, Communicator& comm);

// Train's checks, every one a message naming the flag: the algorithm's
// settings on `plan_workers` (Validate), R reached by its parameters, f's
// batch floor and compression (CheckOptionsFitObjective), the targets' values.
Status CheckTrainOptions(const TrainOptions& options, const Objective& f, int plan_workers);

// Train without CheckTrainOptions, for a caller that made the same checks
// itself, once, before it wrote anything (the job: FitToRounds, CheckOptionsFitObjective
// and ValidateJob's targets, before --out is touched).
Result<RunSummary> TrainChecked(const TrainOptions& options, const Objective& f, Communicator& comm);

// The N a run plans for: the workers there are, or, resuming, the plan's N of
// the checkpoint (CheckpointPlanWorkers).
int PlanWorkers(const CheckpointOptions& checkpoint, int workers);

// The algorithm's own fields of summary.json, from its registry row: its
// parameters ("b1", "rho", "sync_period", ...) and what it reported of the
// run (RunSummary::fields), null where it reported nothing.
AlgorithmFields SummaryFieldsOf(const RunSummary& summary);

// The part of a run's checkpoint identity known before L̂ and the step: the
// seed, the workers, the algorithm with its parameters, the budget. Train's
// identity starts with it; a tool checks a resume against it before any work
// (leaving out the algorithm under --rho auto, whose B₁ may rise with L̂).
std::vector<std::pair<std::string, std::string>> EarlyRunIdentity(const AlgorithmOptions& algorithm, std::uint64_t seed,
                                                                  int workers);

// What the objective cannot take: --compress powersgd on a model without
// matrices; the algorithm's smallest batch below the objective's floor (a
// network's batch norm needs 2). InvalidArgument naming the flag (and the
// layer and the minimum). CheckTrainOptions checks it; the job before
// writing anything.
Status CheckOptionsFitObjective(const AlgorithmOptions& options, const Objective& f);

struct SmoothnessEstimate {
  double value = 0.0;  // L̂
  std::string method;  // "power-iteration" or "bound"
  // L̄, the mean per-sample smoothness (built-in linear models only).
  std::optional<double> mean_sample;
};

// Estimates the smoothness constant L of the global f. Collective. Built-in
// linear models use a power iteration on the data (and give L̄ too); other
// objectives the largest SmoothnessBound() over workers. Fails when neither
// is available.
Result<SmoothnessEstimate> EstimateLipschitz(const Objective& f, Communicator& comm);

// Samples averaged into one step of `options` on `workers` workers: N·B for
// psgd, N·B₁ (the first, smallest batch) for cr-psgd and the catalyst's inner
// runs, b for local SGD's local steps.
double SamplesPerStep(const AlgorithmOptions& options, int workers);

// The step of --lr auto: 1/(L̂ + L̄/b) with b = SamplesPerStep. A batch of b
// samples has gradient noise of order L̄/b beside L (Gower et al. 2019's
// expected smoothness, with the mean per-sample constant): single samples get
// 1/(L + L̄) (theory-check's 1/(L + tr H)), large batches 1/L. Without L̄, 1/L̂.
double SafeStep(const SmoothnessEstimate& smoothness, const AlgorithmOptions& options, int workers);

// γ·(L̂ + L̄/(N·B)) at most this: SGD on a quadratic is stable in mean square
// below 2, and this keeps a margin.
inline constexpr double kStableStepMargin = 1.5;

// The smallest first batch B₁ ≥ `first_batch` whose rounds are stable at step
// `lr` on `workers` workers: lr·(L̂ + L̄/(N·B₁)) ≤ kStableStepMargin. --rho auto
// starts there: from a smaller batch its first rounds blow the loss up and
// the budget goes into recovering. `first_batch` itself when L̄ is unknown or
// lr·L̂ ≥ kStableStepMargin (no batch is stable by this bound).
std::uint64_t StableFirstBatch(const SmoothnessEstimate& smoothness, double lr, int workers, std::uint64_t first_batch);

// How a run's step is chosen: as given (AlgorithmOptions::lr), K/L̂
// (--lr auto*K), or SafeStep (--lr auto, crpsgd train's default).
struct StepRule {
  enum class Kind { kGiven, kMultipleOfInverseL, kSafe };
  Kind kind = Kind::kGiven;
  double multiple = 1.0;  // K of kMultipleOfInverseL
  bool needs_smoothness() const { return kind != Kind::kGiven; }
};

// `options` ready to train as crpsgd train would: the step by `rule` (L̂
// required unless kGiven); for auto with --batch auto, b_min as a number
// (SmallestBatch); for cr-psgd with --rho auto, B₁ raised to StableFirstBatch
// at that step (within the budget). `note`, when given, receives a sentence
// saying why B₁ changed or that auto guessed b_min at a given step, or stays
// empty.
Result<AlgorithmOptions> ResolveStep(AlgorithmOptions options, const StepRule& rule,
                                     const std::optional<SmoothnessEstimate>& smoothness, int workers,
                                     std::string* note = nullptr);

}  // namespace crpsgd
