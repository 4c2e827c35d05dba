#include "crpsgd/train.h"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <variant>
#include <sstream>

#include "algorithms/algorithm_internal.h"
#include "algorithms/algorithm_spec.h"
#include "algorithms/checkpoint_file.h"
#include "algorithms/run_checkpoints.h"
#include "algorithms/train_monitor.h"
#include "crpsgd/evaluation.h"
#include "crpsgd/files.h"
#include "crpsgd/slice_objective.h"

namespace crpsgd {

std::vector<std::pair<std::string, std::string>> EarlyRunIdentity(const AlgorithmOptions& a, std::uint64_t seed,
                                                                  int workers) {
  return {{"seed", std::to_string(seed)},
          {"workers", std::to_string(workers)},
          {"algorithm", std::string(AlgorithmName(a.kind)) + " " + a.Describe()},
          {"budget", std::to_string(a.budget)},
          {"sampling", SamplingName(a.sampling)}};
}

namespace {

// Everything a checkpoint must match to be resumed by this run.
std::vector<std::pair<std::string, std::string>> RunIdentity(const TrainOptions& options, const Objective& f,
                                                             int workers) {
  auto identity = options.checkpoint.run_identity;
  const AlgorithmOptions& a = options.algorithm;
  const auto early = EarlyRunIdentity(a, options.seed, workers);
  identity.insert(identity.end(), early.begin(), early.end());
  identity.insert(identity.end(), {{"lr", ExactNumber(a.lr)},
                                   {"lr_schedule", LrScheduleName(a.Schedule())},
                                   {"max_micro_batch", std::to_string(a.max_micro_batch)},
                                   {"dim", std::to_string(f.dim())},
                                   {"eval_every", std::to_string(options.eval_every)},
                                   {"eval_samples_per_worker", std::to_string(options.eval_samples_per_worker)}});
  // Only when set, so that checkpoints written before the option existed still match.
  if (a.compression != Compression::kNone)
    identity.emplace_back("compress",
                          CompressionChoiceName(a.compression, a.compression_rank, a.compression_bf16_factors));
  if (a.overlap) identity.emplace_back("overlap", "yes");
  if (options.eval_every_sfo > 0) identity.emplace_back("eval_every_sfo", std::to_string(options.eval_every_sfo));
  // Always where it may average: a checkpoint from before the tail average (format 5) did not average.
  if (internal::SpecOf(a.kind).tail_averages) {
    const FieldValue tail = internal::ParamValue(a, "tail_average");
    identity.emplace_back("tail_average",
                          std::holds_alternative<double>(tail) ? ExactNumber(std::get<double>(tail)) : "auto");
  }
  return identity;
}

}  // namespace

double NetworkModel::AllreduceSeconds(std::uint64_t bytes, int workers) const {
  if (workers <= 1 || bytes == 0) return 0.0;
  const double messages = 2.0 * (workers - 1);
  return messages * (alpha_s + static_cast<double>(bytes) / workers / bandwidth_bytes_per_s);
}

Result<NetworkModel> ParseNetworkModel(const std::string& text) {
  NetworkModel model;
  bool has_alpha = false, has_bandwidth = false;
  std::size_t begin = 0;
  while (begin <= text.size()) {
    const std::size_t end = std::min(text.find(',', begin), text.size());
    const std::string item = text.substr(begin, end - begin);
    const std::size_t eq = item.find('=');
    const std::string key = item.substr(0, eq);
    char* parse_end = nullptr;
    const double value = eq == std::string::npos ? NAN : std::strtod(item.c_str() + eq + 1, &parse_end);
    if (eq == std::string::npos || parse_end == item.c_str() + eq + 1 || *parse_end != '\0' || !std::isfinite(value)) {
      return Status::InvalidArgument("--net-model: '" + item +
                                     "' is not KEY=NUMBER (expected alpha=SECONDS,bandwidth=BYTES_PER_S)");
    }
    if (key == "alpha" && value >= 0) {
      model.alpha_s = value, has_alpha = true;
    } else if (key == "bandwidth" && value > 0) {
      model.bandwidth_bytes_per_s = value, has_bandwidth = true;
    } else {
      return Status::InvalidArgument("--net-model: '" + item + "': expected alpha >= 0 and bandwidth > 0");
    }
    begin = end + 1;
  }
  if (!has_alpha || !has_bandwidth) {
    return Status::InvalidArgument("--net-model needs both alpha and bandwidth, e.g. alpha=5e-5,bandwidth=1.25e8");
  }
  return model;
}

Status CheckOptionsFitObjective(const AlgorithmOptions& options, const Objective& f) {
  if (options.compression == Compression::kPowerSgd && f.matrix_blocks().empty()) {
    return Status::InvalidArgument(
        "--compress powersgd factors a network's matrix-shaped parameters; this model has none (a linear "
        "model's one vector: --compress int8 or bf16)");
  }
  const BatchFloor floor = f.MinimumBatch();
  const std::uint64_t smallest = options.SmallestBatch();
  if (smallest >= floor.samples) return Status::OK();
  const bool fixed = internal::SpecOf(options.kind).fixed_batch;
  return Status::InvalidArgument(std::string(fixed ? "--batch " : "--b1 ") + std::to_string(smallest) + ": " +
                                 floor.reason + ": give " + (fixed ? "--batch " : "--b1 ") +
                                 std::to_string(floor.samples) + " or more");
}

Status RunTargets::Validate() const {
  for (const auto& [value, flag] : {std::pair{loss, "--target-loss"}, {gap, "--target-gap"}}) {
    if (value && !std::isfinite(*value)) return Status::InvalidArgument(std::string(flag) + " must be a finite number");
  }
  if (gap && !(*gap >= 0.0)) return Status::InvalidArgument("--target-gap must be >= 0 (f - f* is never below 0)");
  if (relative_gap && !(*relative_gap > 0.0 && *relative_gap < 1.0)) {
    return Status::InvalidArgument("the relative gap of the stop rule must be in (0, 1) (got " +
                                   std::to_string(*relative_gap) + ")");
  }
  if (accuracy && !(*accuracy > 0.0 && *accuracy <= 1.0)) {
    return Status::InvalidArgument("--target-accuracy must be a fraction in (0, 1], e.g. 0.9 for 90% (got " +
                                   std::to_string(*accuracy) + ")");
  }
  return Status::OK();
}

Status CheckTrainOptions(const TrainOptions& options, const Objective& f, int plan_workers) {
  const AlgorithmOptions& algorithm = options.algorithm;
  CRPSGD_RETURN_IF_ERROR(algorithm.Validate(plan_workers));
  if (algorithm.rounds > 0) {  // Train runs the parameters it is given: they must reach R
    const AlgorithmPlan plan = PlanAlgorithm(algorithm, plan_workers);
    if (plan.rounds > algorithm.rounds) {
      return Status::InvalidArgument("rounds " + std::to_string(algorithm.rounds) + ": " +
                                     AlgorithmName(algorithm.kind) + " " + algorithm.Describe() + " takes " +
                                     std::to_string(plan.rounds) +
                                     " rounds; fit its parameters to R first (FitToRounds)");
    }
  }
  CRPSGD_RETURN_IF_ERROR(CheckOptionsFitObjective(algorithm, f));
  return options.targets.Validate();
}

Result<RunSummary> Train(const TrainOptions& options, const Objective& f, Communicator& comm) {
  CRPSGD_RETURN_IF_ERROR(CheckTrainOptions(options, f, PlanWorkers(options.checkpoint, comm.size())));
  return TrainChecked(options, f, comm);
}

int PlanWorkers(const CheckpointOptions& checkpoint, int workers) {
  if (!checkpoint.resume || checkpoint.dir.empty()) return workers;
  return CheckpointPlanWorkers(checkpoint.dir).value_or(workers);
}

namespace {

// What only the run's own inputs can say (the options' checks are CheckTrainOptions').
Status CheckTrainInputs(const TrainOptions& options, const Objective& f, const Communicator& comm) {
  if ((options.targets.gap || options.targets.relative_gap) && !options.f_star) {
    return Status::InvalidArgument(std::string(options.targets.gap ? "--target-gap" : "the stop rule's relative gap") +
                                   " needs f* (TrainOptions::f_star): a convex problem, evaluated on all samples");
  }
  if (f.num_samples() == 0) {
    return Status::InvalidArgument("worker " + std::to_string(comm.rank()) + " has an empty shard");
  }
  if (!options.initial_x.empty() && options.initial_x.size() != f.dim()) {
    return Status::InvalidArgument("initial x has " + std::to_string(options.initial_x.size()) +
                                   " entries, the objective has dimension " + std::to_string(f.dim()));
  }
  return Status::OK();
}

// x₀: the given one, else the objective's (rank 0's, for all workers), else zero.
Result<std::vector<double>> StartingPoint(const TrainOptions& options, const Objective& f, Communicator& comm) {
  std::vector<double> x = options.initial_x;
  if (!x.empty()) return x;
  x = f.InitialPoint();
  if (x.empty()) {
    x.assign(f.dim(), 0.0);
  } else if (x.size() != f.dim()) {
    return Status::Internal("the objective's initial point has the wrong dimension");
  } else {
    CRPSGD_RETURN_IF_ERROR(comm.Broadcast(x, 0));  // one starting point for all workers
  }
  return x;
}

// The summary's counts, costs and targets, as the monitor saw the run end.
RunSummary CountsOf(const TrainOptions& options, const Communicator& comm, int plan_workers,
                    const internal::TrainMonitor& monitor, const AlgorithmResult& result) {
  RunSummary summary;
  summary.algorithm = options.algorithm;
  summary.backend = comm.backend_name();
  summary.workers = comm.size();
  summary.plan_workers = plan_workers;
  summary.seed = options.seed;
  summary.rounds = result.rounds;
  summary.sfo_per_worker = result.sfo_per_worker;
  summary.sfo_total = result.sfo_per_worker * static_cast<std::uint64_t>(plan_workers);
  summary.budget_left = result.budget_left;
  summary.fields = result.fields;
  summary.final_loss = monitor.last_loss();
  summary.f_star = options.f_star;
  summary.lipschitz = options.lipschitz;
  summary.wall_s = monitor.last().wall_s;
  summary.comm_s = monitor.last().comm_s;
  summary.net_model_s = monitor.last().net_model_s;
  summary.bytes = monitor.last().bytes;
  summary.eval_s = monitor.eval_s();
  summary.targets = options.targets;
  summary.reached = monitor.reached();
  return summary;
}

// Peak memory of each worker's process (threads of one process share one);
// the largest, gathered as evaluation traffic.
Status AddPeakMemory(Communicator& comm, RunSummary& summary) {
  rusage usage{};
  const double mine = ::getrusage(RUSAGE_SELF, &usage) == 0 ? static_cast<double>(usage.ru_maxrss) * 1024.0 : 0.0;
  CRPSGD_ASSIGN_OR_RETURN(const std::vector<double> rss, comm.Allgather(std::span(&mine, 1), Traffic::kEvaluation));
  summary.peak_rss_bytes = static_cast<std::uint64_t>(*std::max_element(rss.begin(), rss.end()));
  summary.peak_rss_bytes_per_worker.assign(rss.begin(), rss.end());
  return Status::OK();
}

// What the algorithm trains on: f, or with --sampling global the objective
// over the whole training set that the sampler's indices name.
Result<const Objective*> TrainedObjective(const TrainOptions& options, const Objective& f) {
  if (options.algorithm.sampling != Sampling::kGlobal) return &f;
  const Objective* global = options.global_objective;
  if (global == nullptr) {
    return Status::InvalidArgument(
        "--sampling global needs each worker's objective over the whole training set "
        "(TrainOptions::global_objective)");
  }
  if (global->dim() != f.dim()) return Status::InvalidArgument("the global objective's dimension differs from f's");
  const auto* slice = dynamic_cast<const SliceObjective*>(&f);
  const bool one_state = slice != nullptr && &slice->whole() == global;
  if ((global->model_state() != nullptr || f.model_state() != nullptr) && !one_state) {  // two would drift apart
    return Status::InvalidArgument(
        "--sampling global with state outside x (batch norm): f must share the global objective's state (make f a "
        "SliceObjective of it, as the job does)");
  }
  return global;
}

}  // namespace

Result<RunSummary> TrainChecked(const TrainOptions& options, const Objective& f, Communicator& comm) {
  const int plan_workers = PlanWorkers(options.checkpoint, comm.size());  // resumed elsewhere: the plan's N
  CRPSGD_ASSIGN_OR_RETURN(const Objective* trained, TrainedObjective(options, f));
  CRPSGD_RETURN_IF_ERROR(CheckTrainInputs(options, *trained, comm));
  // A second run on the same objective starts where the first did.
  if (ModelState* state = f.model_state()) state->RestoreInitial();
  CRPSGD_ASSIGN_OR_RETURN(FullEvaluator eval, FullEvaluator::Create(f, comm, options.eval_samples_per_worker));
  const CommStats base = comm.stats();
  CRPSGD_ASSIGN_OR_RETURN(std::vector<double> x, StartingPoint(options, f, comm));
  std::unique_ptr<Sampler> sampler = MakeSampler(options.algorithm.sampling, trained->num_samples(), options.seed,
                                                 {comm.rank(), comm.size(), plan_workers});
  AlgorithmOptions algorithm_options = options.algorithm;
  algorithm_options.seed = options.seed;
  std::unique_ptr<Algorithm> algorithm = MakeAlgorithm(algorithm_options);
  std::optional<FullEvaluator> test_eval;
  if (options.test_objective != nullptr) {
    CRPSGD_ASSIGN_OR_RETURN(test_eval,
                            FullEvaluator::Create(*options.test_objective, comm, options.eval_samples_per_worker));
  }
  internal::TrainMonitor monitor(options, f, comm, eval, test_eval ? &*test_eval : nullptr);
  RunProgress progress;
  internal::RunCheckpoints checkpoints(options, f, comm, {x, *algorithm, progress, *sampler, monitor},
                                       base.evaluation.bytes);
  const CheckpointOptions& checkpoint = options.checkpoint;
  if (checkpoint.every > 0 || checkpoint.resume) {
    if (checkpoint.dir.empty()) return Status::InvalidArgument("checkpoints need a folder (--out)");
    checkpoints.set_identity(RunIdentity(options, f, plan_workers));
    if (checkpoint.resume) CRPSGD_RETURN_IF_ERROR(checkpoints.Resume());
    monitor.set_checkpoint(
        [&checkpoints](std::uint64_t round, std::span<const double> now) { return checkpoints.Write(round, now); });
  }
  if (!checkpoint.resume) CRPSGD_RETURN_IF_ERROR(monitor.OnRound(RoundRecord{}, x));  // round 0: the start
  comm.NumberRoundsFrom(progress.rounds + 1);
  Result<AlgorithmResult> ran = algorithm->Run(comm, *trained, *sampler, x, monitor, progress);
  AlgorithmResult result;
  if (ran.ok()) {
    result = *ran;
  } else if (ran.status().code() == StatusCode::kStopped && monitor.reached()) {  // a target: the run ends there
    result.rounds = monitor.last().round;
    result.sfo_per_worker = monitor.last().sfo_per_worker;
    result.budget_left = options.algorithm.budget - result.sfo_per_worker;
    x = std::move(monitor.stopped_x());
  } else {
    return ran.status();
  }
  RunSummary summary = CountsOf(options, comm, plan_workers, monitor, result);
  CRPSGD_ASSIGN_OR_RETURN(summary.train_accuracy, eval.Accuracy(x));
  if (const auto finish = internal::SpecOf(options.algorithm.kind).finish) {  // what the algorithm adds
    CRPSGD_RETURN_IF_ERROR(finish(options.algorithm, plan_workers, eval, x, summary));
  }
  if (test_eval) {
    CRPSGD_ASSIGN_OR_RETURN(summary.test_loss, test_eval->Loss(x));
    summary.test_accuracy = monitor.last().test_accuracy;  // the last round is always evaluated
  }
  CRPSGD_RETURN_IF_ERROR(AddPeakMemory(comm, summary));
  summary.eval_bytes = checkpoints.EvalBytes();
  summary.x = std::move(x);
  return summary;
}

Result<SmoothnessEstimate> EstimateLipschitz(const Objective& f, Communicator& comm) {
  CRPSGD_ASSIGN_OR_RETURN(const std::optional<SmoothnessConstants> computed, f.GlobalSmoothness(comm));
  if (computed) return SmoothnessEstimate{computed->smoothness, computed->method, computed->mean_sample};
  // The largest bound over workers.
  const std::optional<double> bound = f.SmoothnessBound();
  const double mine = bound ? *bound : std::nan("");
  CRPSGD_ASSIGN_OR_RETURN(const std::vector<double> bounds, comm.Allgather(std::span(&mine, 1), Traffic::kEvaluation));
  double largest = 0.0;
  for (double b : bounds) {
    if (!std::isfinite(b)) {
      return Status::InvalidArgument("--lr auto needs an estimate of L, and this objective gives none; pass --lr");
    }
    largest = std::max(largest, b);
  }
  return SmoothnessEstimate{largest, "bound", std::nullopt};
}

double SamplesPerStep(const AlgorithmOptions& options, int workers) {
  return internal::SpecOf(options.kind).samples_per_step(options, workers);
}

std::uint64_t StableFirstBatch(const SmoothnessEstimate& smoothness, double lr, int workers,
                               std::uint64_t first_batch) {
  const double room = kStableStepMargin / lr - smoothness.value;  // what L̄/(N·B₁) may add to L̂
  if (!smoothness.mean_sample || !(room > 0.0)) return first_batch;
  const double samples = *smoothness.mean_sample / room;  // N·B₁ at least
  const auto batch = static_cast<std::uint64_t>(std::ceil(samples / static_cast<double>(workers)));
  return std::max(first_batch, batch);
}

double SafeStep(const SmoothnessEstimate& smoothness, const AlgorithmOptions& options, int workers) {
  if (!smoothness.mean_sample) return 1.0 / smoothness.value;
  return 1.0 / (smoothness.value + *smoothness.mean_sample / SamplesPerStep(options, workers));
}

Result<AlgorithmOptions> ResolveStep(AlgorithmOptions options, const StepRule& rule,
                                     const std::optional<SmoothnessEstimate>& smoothness, int workers,
                                     std::string* note) {
  if (note != nullptr) note->clear();
  if (rule.needs_smoothness() && !smoothness) {
    return Status::InvalidArgument("--lr auto needs an estimate of L (EstimateLipschitz)");
  }
  if (rule.kind == StepRule::Kind::kMultipleOfInverseL) options.lr = rule.multiple / smoothness->value;
  if (rule.kind == StepRule::Kind::kSafe) {
    if (internal::SpecOf(options.kind).step_per_batch) {  // its batch moves: each step the safe step for its own
      options.params.Set("smoothness", smoothness->value);
      options.params.Set("mean_sample_smoothness", smoothness->mean_sample.value_or(0.0));
    }
  }
  // auto's --batch auto, now that the step is known: 1 under a step that follows the batch, else larger.
  if (options.ChoosesOwnBatch()) {
    options.batch = options.SmallestBatch();
    if (note != nullptr && options.batch == kAutoBatchForFixedStep) {
      // Its own guess: on ResNet-20 a step chosen for batches of 16 lost 1.5 points at 4.
      *note = "--batch auto: auto's local batches are at least " + std::to_string(options.batch) +
              " at a step that does not follow the batch; a step tuned at a local batch B wants --batch B";
    }
  }
  if (rule.kind == StepRule::Kind::kSafe) options.lr = SafeStep(*smoothness, options, workers);
  if (rule.needs_smoothness() && (!(options.lr > 0.0) || !std::isfinite(options.lr))) {  // L̂ of 0 or infinity
    std::ostringstream os;
    os << "--lr auto: the step from L = " << smoothness->value << " is " << options.lr << "; pass --lr";
    return Status::InvalidArgument(os.str());
  }
  std::string capped;  // --lr-max caps a step from L̂ as it caps a step that grows with the batch
  if (rule.needs_smoothness() && options.lr_max > 0.0 && options.lr > options.lr_max) {
    std::ostringstream os;
    os << "--lr-max " << options.lr_max << " caps the step from L (" << options.lr << ")";
    capped = os.str();
    options.lr = options.lr_max;
  }
  if (internal::SpecOf(options.kind).stable_first_batch && options.adaptive_batch() && smoothness) {
    const std::uint64_t first_batch = internal::GrowingBatchOf(options).first_batch;
    const std::uint64_t stable =
        std::min(StableFirstBatch(*smoothness, options.lr, workers, first_batch), options.budget);
    if (stable > first_batch) {
      if (note != nullptr) {
        std::ostringstream os;
        os << "--rho auto: B1 " << first_batch << " -> " << stable
           << ", the smallest first batch whose rounds are stable at step " << options.lr << " (" << options.lr
           << " * (L " << smoothness->value << " + Lbar " << *smoothness->mean_sample
           << " / (N B1)) <= " << kStableStepMargin << ")";
        *note = os.str();
      }
      options.params.Set(internal::kFirstBatchParam.name, stable);
    }
  }
  if (note != nullptr && !capped.empty()) *note += (note->empty() ? "" : "; ") + capped;
  return options;
}

}  // namespace crpsgd
