#include "crpsgd/train.h"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <functional>

#include "algorithms/algorithm_internal.h"
#include "algorithms/algorithm_spec.h"
#include "algorithms/checkpoint_file.h"
#include "crpsgd/evaluation.h"
#include "crpsgd/files.h"

namespace crpsgd {
namespace {

using Clock = std::chrono::steady_clock;

// Completes each RoundRecord with costs and (when due) the full loss, then
// hands it to the user's observers. Every worker runs it identically, so the
// collective loss evaluations line up.
class TrainMonitor final : public RoundObserver {
 public:
  TrainMonitor(const TrainOptions& options, const Objective& f, Communicator& comm, FullEvaluator& eval,
               FullEvaluator* test_eval)
      : options_(options),
        f_(f),
        comm_(comm),
        eval_(eval),
        test_eval_(test_eval),
        start_(Clock::now()),
        base_(comm.stats()) {}

  Status OnRound(const RoundRecord& in, std::span<const double> x) override {
    RoundRecord record = in;
    record.sfo_total = record.sfo_per_worker * static_cast<std::uint64_t>(comm_.size());
    record.wall_s = resumed_.wall_s + std::chrono::duration<double>(Clock::now() - start_).count() - eval_s_;
    record.comm_s = resumed_.comm_s + comm_.stats().training.seconds - base_.training.seconds;
    record.bytes = resumed_.bytes + comm_.stats().training.bytes - base_.training.bytes;
    if (options_.net_model) {
      net_model_s_ += options_.net_model->AllreduceSeconds(record.bytes - last_.bytes, comm_.size());
      record.net_model_s = net_model_s_;
    }
    if (ShouldEvaluate(record)) {
      const auto t0 = Clock::now();
      if (ModelState* state = f_.model_state()) {  // e.g. batch-norm statistics: agreed on, or recomputed
        CRPSGD_RETURN_IF_ERROR(options_.recalibrate_state ? state->Recalibrate(x, eval_.local_samples(), comm_)
                                                          : state->Synchronize(comm_));
      }
      CRPSGD_ASSIGN_OR_RETURN(double loss, eval_.Loss(x));
      if (test_eval_ != nullptr) {
        CRPSGD_ASSIGN_OR_RETURN(record.test_accuracy, test_eval_->Accuracy(x));
      }
      eval_s_ += std::chrono::duration<double>(Clock::now() - t0).count();
      if (!std::isfinite(loss)) {
        return Status::Diverged("round " + std::to_string(record.round) +
                                ": the loss is not finite (the step size is probably too large)");
      }
      if (record.round == 0) first_loss_ = loss;
      CRPSGD_RETURN_IF_ERROR(CheckAgainstStart(record, loss));
      record.loss = loss;
      last_loss_ = loss;
    }
    for (RoundObserver* observer : options_.observers) CRPSGD_RETURN_IF_ERROR(observer->OnRound(record, x));
    last_ = record;
    const CheckpointOptions& checkpoint = options_.checkpoint;
    if (checkpoint_ && checkpoint.every > 0 && record.round > 0 && record.round % checkpoint.every == 0 &&
        !record.last) {
      CRPSGD_RETURN_IF_ERROR(checkpoint_(record.round, x));
    }
    return Status::OK();
  }

  // Called after the observers at every checkpoint round.
  void set_checkpoint(std::function<Status(std::uint64_t, std::span<const double>)> write) {
    checkpoint_ = std::move(write);
  }

  // What a checkpoint keeps of the monitor, and the return to it.
  internal::MonitorState Save() const {
    internal::MonitorState m;
    m.next_auto_eval = next_auto_;
    m.bytes = last_.bytes;
    m.wall_s = last_.wall_s;
    m.comm_s = last_.comm_s;
    m.eval_s = eval_s_;
    m.net_model_s = net_model_s_;
    m.last_loss = last_loss_;
    m.first_loss = first_loss_;
    return m;
  }
  void Restore(const internal::MonitorState& m) {
    // Costs continue from the checkpoint's: wall time counts training only,
    // so the evaluation time is part of the offset, not of eval_s_ below.
    resumed_ = m;
    resumed_.wall_s = m.wall_s + m.eval_s;
    next_auto_ = m.next_auto_eval;
    eval_s_ = m.eval_s;
    net_model_s_ = m.net_model_s;
    last_loss_ = m.last_loss;
    first_loss_ = m.first_loss;
    last_.bytes = m.bytes;
  }

  // A run that makes f worse is reported as diverged, not as a result
  // (TrainOptions::divergence_factor, end_below_start).
  Status CheckAgainstStart(const RoundRecord& record, double loss) const {
    if (!(first_loss_ > 0.0)) return Status::OK();  // f(x₀) = 0: nothing to compare with
    char message[512];
    if (loss > options_.divergence_factor * first_loss_) {
      std::snprintf(message, sizeof message,
                    "round %llu: the loss %.6g grew past %g times its start %.6g (the step size is probably too large)",
                    static_cast<unsigned long long>(record.round), loss, options_.divergence_factor, first_loss_);
      return Status::Diverged(message);
    }
    // A warm start may begin at the optimum, where sampling noise alone ends above it.
    if (record.last && loss > first_loss_ && options_.end_below_start && options_.initial_x.empty()) {
      std::snprintf(message, sizeof message,
                    "the loss ended at %.6g, above its start %.6g, after %llu rounds (the step size is probably too "
                    "large for this batch, where --lr auto picks a stable one; or features of very different scales "
                    "leave too few rounds for any stable step: --standardize)",
                    loss, first_loss_, static_cast<unsigned long long>(record.round));
      return Status::Diverged(message);
    }
    return Status::OK();
  }

  const RoundRecord& last() const { return last_; }
  double last_loss() const { return last_loss_; }
  double eval_s() const { return eval_s_; }

 private:
  bool ShouldEvaluate(const RoundRecord& record) {
    if (record.round == 0 || record.last) return true;
    if (options_.eval_every_sfo > 0) {
      // Stateless (a resumed run decides alike): did this round's samples cross a multiple?
      const std::uint64_t before =
          record.sfo_per_worker - std::min(record.sfo_per_worker, record.batch * record.local_steps);
      return record.sfo_per_worker / options_.eval_every_sfo > before / options_.eval_every_sfo;
    }
    if (options_.eval_every > 0) return record.round % options_.eval_every == 0;
    if (record.round <= 20 || record.round >= next_auto_) {
      next_auto_ =
          std::max(record.round + 1, static_cast<std::uint64_t>(std::ceil(1.1 * static_cast<double>(record.round))));
      return true;
    }
    return false;
  }

  const TrainOptions& options_;
  const Objective& f_;
  Communicator& comm_;
  FullEvaluator& eval_;
  FullEvaluator* test_eval_;
  Clock::time_point start_;
  CommStats base_;
  double eval_s_ = 0.0;
  double net_model_s_ = 0.0;
  double last_loss_ = 0.0;
  double first_loss_ = 0.0;  // round 0's
  std::uint64_t next_auto_ = 0;
  RoundRecord last_;
  internal::MonitorState resumed_;  // zero unless resumed
  std::function<Status(std::uint64_t, std::span<const double>)> checkpoint_;
};

}  // namespace

std::vector<std::pair<std::string, std::string>> EarlyRunIdentity(const AlgorithmOptions& a, std::uint64_t seed,
                                                                  int workers) {
  return {{"seed", std::to_string(seed)},
          {"workers", std::to_string(workers)},
          {"algorithm", std::string(AlgorithmName(a.kind)) + " " + a.Describe()},
          {"budget", std::to_string(a.budget)}};
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
                                   {"lr_schedule", LrScheduleName(a.lr_schedule)},
                                   {"sampling", SamplingName(a.sampling)},
                                   {"max_micro_batch", std::to_string(a.max_micro_batch)},
                                   {"dim", std::to_string(f.dim())},
                                   {"eval_every", std::to_string(options.eval_every)},
                                   {"eval_samples_per_worker", std::to_string(options.eval_samples_per_worker)}});
  // Only when set, so that checkpoints written before the option existed still match.
  if (options.eval_every_sfo > 0) identity.emplace_back("eval_every_sfo", std::to_string(options.eval_every_sfo));
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

Status CheckBatchFloor(const AlgorithmOptions& options, const Objective& f) {
  const BatchFloor floor = f.MinimumBatch();
  const std::uint64_t smallest = options.SmallestBatch();
  if (smallest >= floor.samples) return Status::OK();
  const bool fixed = internal::SpecOf(options.kind).fixed_batch;
  return Status::InvalidArgument(std::string(fixed ? "--batch " : "--b1 ") + std::to_string(smallest) + ": " +
                                 floor.reason + ": give " + (fixed ? "--batch " : "--b1 ") +
                                 std::to_string(floor.samples) + " or more");
}

Result<RunSummary> Train(const TrainOptions& options, const Objective& f, Communicator& comm) {
  CRPSGD_RETURN_IF_ERROR(options.algorithm.Validate(comm.size()));
  CRPSGD_RETURN_IF_ERROR(CheckBatchFloor(options.algorithm, f));
  if (f.num_samples() == 0) {
    return Status::InvalidArgument("worker " + std::to_string(comm.rank()) + " has an empty shard");
  }
  if (!options.initial_x.empty() && options.initial_x.size() != f.dim()) {
    return Status::InvalidArgument("initial x has " + std::to_string(options.initial_x.size()) +
                                   " entries, the objective has dimension " + std::to_string(f.dim()));
  }
  // A second run on the same objective starts where the first did.
  if (ModelState* state = f.model_state()) state->RestoreInitial();
  CRPSGD_ASSIGN_OR_RETURN(FullEvaluator eval, FullEvaluator::Create(f, comm, options.eval_samples_per_worker));
  const CommStats base = comm.stats();
  std::vector<double> x = options.initial_x;
  if (x.empty()) {
    x = f.InitialPoint();
    if (x.empty()) {
      x.assign(f.dim(), 0.0);
    } else if (x.size() != f.dim()) {
      return Status::Internal("the objective's initial point has the wrong dimension");
    } else {
      CRPSGD_RETURN_IF_ERROR(comm.Broadcast(x, 0));  // one starting point for all workers
    }
  }
  std::unique_ptr<Sampler> sampler =
      MakeSampler(options.algorithm.sampling, f.num_samples(), options.seed, comm.rank());
  std::unique_ptr<Algorithm> algorithm = MakeAlgorithm(options.algorithm);

  std::optional<FullEvaluator> test_eval;
  if (options.test_objective != nullptr) {
    CRPSGD_ASSIGN_OR_RETURN(test_eval,
                            FullEvaluator::Create(*options.test_objective, comm, options.eval_samples_per_worker));
  }
  TrainMonitor monitor(options, f, comm, eval, test_eval ? &*test_eval : nullptr);
  AlgorithmState state;
  // Evaluation bytes of the run so far: those before a resume, plus this process's since eval_base.
  std::uint64_t eval_bytes_before = 0, eval_base = base.evaluation.bytes;
  const CheckpointOptions& checkpoint = options.checkpoint;
  const bool checkpointing = checkpoint.every > 0 || checkpoint.resume;
  std::uint64_t previous_checkpoint = 0;
  if (checkpointing) {
    if (checkpoint.dir.empty()) return Status::InvalidArgument("checkpoints need a folder (--out)");
    const auto identity = RunIdentity(options, f, comm.size());
    if (checkpoint.resume) {
      CRPSGD_ASSIGN_OR_RETURN(
          internal::WorkerCheckpoint saved,
          internal::ReadLatestCheckpoint(checkpoint.dir, comm.rank(), comm.size(), identity, &previous_checkpoint));
      // Observers without state (progress output) may come and go; the others must match.
      bool fits = saved.x.size() == x.size();
      for (std::size_t i = options.observers.size(); i < saved.observers.size(); ++i) {
        fits = fits && saved.observers[i].empty();
      }
      if (!fits) {
        return Status::InvalidArgument(
            internal::CheckpointFile(checkpoint.dir, previous_checkpoint, comm.rank()).string() +
            ": does not fit this run (model size or outputs differ)");
      }
      saved.observers.resize(options.observers.size());
      eval_bytes_before = saved.monitor.eval_bytes;
      eval_base = comm.stats().evaluation.bytes;  // this process's evaluation traffic counts from here
      ModelState* model_state = f.model_state();
      if (model_state == nullptr && !saved.model_state.empty()) {
        return Status::InvalidArgument(
            internal::CheckpointFile(checkpoint.dir, previous_checkpoint, comm.rank()).string() +
            ": holds model state (batch-norm statistics) that this objective does not have");
      }
      if (model_state != nullptr) {
        const Status loaded = model_state->LoadState(saved.model_state);
        if (!loaded.ok()) {
          return Status(loaded.code(),
                        internal::CheckpointFile(checkpoint.dir, previous_checkpoint, comm.rank()).string() + ": " +
                            loaded.message());
        }
      }
      x = std::move(saved.x);
      state = std::move(saved.algorithm);
      CRPSGD_RETURN_IF_ERROR(sampler->LoadState(saved.sampler));
      monitor.Restore(saved.monitor);
      for (std::size_t i = 0; i < options.observers.size(); ++i) {
        CRPSGD_RETURN_IF_ERROR(options.observers[i]->RestoreCheckpointState(saved.observers[i]));
      }
    }
    monitor.set_checkpoint([&, identity](std::uint64_t round, std::span<const double> now) -> Status {
      internal::WorkerCheckpoint mine;
      mine.identity = identity;
      mine.rank = static_cast<std::uint64_t>(comm.rank());
      mine.workers = static_cast<std::uint64_t>(comm.size());
      mine.x.assign(now.begin(), now.end());
      mine.algorithm = state;
      mine.sampler = sampler->SaveState();
      mine.monitor = monitor.Save();
      mine.monitor.eval_bytes = eval_bytes_before + comm.stats().evaluation.bytes - eval_base;
      for (const RoundObserver* o : options.observers) mine.observers.push_back(o->CheckpointState());
      if (const ModelState* model_state = f.model_state()) mine.model_state = model_state->SaveState();
      CRPSGD_RETURN_IF_ERROR(internal::WriteCheckpoint(comm, checkpoint.dir, round, previous_checkpoint, mine));
      previous_checkpoint = round;
      return Status::OK();
    });
  }
  if (!checkpoint.resume) CRPSGD_RETURN_IF_ERROR(monitor.OnRound(RoundRecord{}, x));  // round 0: the start
  CRPSGD_ASSIGN_OR_RETURN(AlgorithmResult result, algorithm->Run(comm, f, *sampler, x, monitor, state));

  RunSummary summary;
  summary.algorithm = options.algorithm;
  summary.backend = comm.backend_name();
  summary.workers = comm.size();
  summary.seed = options.seed;
  summary.rounds = result.rounds;
  summary.sfo_per_worker = result.sfo_per_worker;
  summary.sfo_total = result.sfo_per_worker * static_cast<std::uint64_t>(comm.size());
  summary.budget_left = result.budget_left;
  summary.final_loss = monitor.last_loss();
  summary.f_star = options.f_star;
  summary.lipschitz = options.lipschitz;
  summary.wall_s = monitor.last().wall_s;
  summary.comm_s = monitor.last().comm_s;
  summary.net_model_s = monitor.last().net_model_s;
  summary.bytes = monitor.last().bytes;
  summary.eval_s = monitor.eval_s();
  CRPSGD_ASSIGN_OR_RETURN(summary.train_accuracy, eval.Accuracy(x));
  if (const auto finish = internal::SpecOf(options.algorithm.kind).finish) {  // what the algorithm adds
    CRPSGD_RETURN_IF_ERROR(finish(options.algorithm, comm.size(), eval, x, summary));
  }
  if (test_eval) {
    CRPSGD_ASSIGN_OR_RETURN(summary.test_loss, test_eval->Loss(x));
    summary.test_accuracy = monitor.last().test_accuracy;  // the last round is always evaluated
  }
  // Peak memory of each worker's process (threads of one process share one);
  // the largest, gathered as evaluation traffic.
  rusage usage{};
  const double mine = ::getrusage(RUSAGE_SELF, &usage) == 0 ? static_cast<double>(usage.ru_maxrss) * 1024.0 : 0.0;
  CRPSGD_ASSIGN_OR_RETURN(const std::vector<double> rss, comm.Allgather(std::span(&mine, 1), Traffic::kEvaluation));
  summary.peak_rss_bytes = static_cast<std::uint64_t>(*std::max_element(rss.begin(), rss.end()));
  summary.peak_rss_bytes_per_worker.assign(rss.begin(), rss.end());
  summary.eval_bytes = eval_bytes_before + comm.stats().evaluation.bytes - eval_base;
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

}  // namespace crpsgd
