#include "crpsgd/train.h"

#include <chrono>
#include <cmath>
#include <cstdlib>

#include "crpsgd/evaluation.h"
#include "crpsgd/linear_models.h"

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
      : options_(options), f_(f), comm_(comm), eval_(eval), test_eval_(test_eval), start_(Clock::now()),
        base_(comm.stats()) {}

  Status OnRound(const RoundRecord& in, std::span<const double> x) override {
    RoundRecord record = in;
    record.sfo_total = record.sfo_per_worker * static_cast<std::uint64_t>(comm_.size());
    record.wall_s = std::chrono::duration<double>(Clock::now() - start_).count() - eval_s_;
    record.comm_s = comm_.stats().training.seconds - base_.training.seconds;
    record.bytes = comm_.stats().training.bytes - base_.training.bytes;
    if (options_.net_model) {
      net_model_s_ += options_.net_model->AllreduceSeconds(record.bytes - last_.bytes, comm_.size());
      record.net_model_s = net_model_s_;
    }
    if (ShouldEvaluate(record)) {
      const auto t0 = Clock::now();
      CRPSGD_RETURN_IF_ERROR(f_.SynchronizeState(comm_));  // e.g. batch-norm statistics
      CRPSGD_ASSIGN_OR_RETURN(double loss, eval_.Loss(x));
      if (test_eval_ != nullptr) {
        CRPSGD_ASSIGN_OR_RETURN(record.test_accuracy, test_eval_->Accuracy(x));
      }
      eval_s_ += std::chrono::duration<double>(Clock::now() - t0).count();
      if (!std::isfinite(loss)) {
        return Status::Diverged("round " + std::to_string(record.round) +
                                ": the loss is not finite (the step size is probably too large)");
      }
      record.loss = loss;
      last_loss_ = loss;
    }
    for (RoundObserver* observer : options_.observers) CRPSGD_RETURN_IF_ERROR(observer->OnRound(record, x));
    last_ = record;
    return Status::OK();
  }

  const RoundRecord& last() const { return last_; }
  double last_loss() const { return last_loss_; }
  double eval_s() const { return eval_s_; }

 private:
  bool ShouldEvaluate(const RoundRecord& record) {
    if (record.round == 0 || record.last) return true;
    if (options_.eval_every > 0) return record.round % options_.eval_every == 0;
    if (record.round <= 20 || record.round >= next_auto_) {
      next_auto_ = std::max(record.round + 1, static_cast<std::uint64_t>(std::ceil(1.1 * static_cast<double>(record.round))));
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
  std::uint64_t next_auto_ = 0;
  RoundRecord last_;
};

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
      return Status::InvalidArgument("--net-model: '" + item + "' is not KEY=NUMBER (expected alpha=SECONDS,bandwidth=BYTES_PER_S)");
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

Result<RunSummary> Train(const TrainOptions& options, const Objective& f, Communicator& comm) {
  CRPSGD_RETURN_IF_ERROR(options.algorithm.Validate(comm.size()));
  if (f.num_samples() == 0) {
    return Status::InvalidArgument("worker " + std::to_string(comm.rank()) + " has an empty shard");
  }
  if (!options.initial_x.empty() && options.initial_x.size() != f.dim()) {
    return Status::InvalidArgument("initial x has " + std::to_string(options.initial_x.size()) +
                                   " entries, the objective has dimension " + std::to_string(f.dim()));
  }
  f.RestoreInitialState();  // a second run on the same objective starts where the first did
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
  std::unique_ptr<Sampler> sampler = MakeSampler(options.algorithm.sampling, f.num_samples(), options.seed, comm.rank());
  std::unique_ptr<Algorithm> algorithm = MakeAlgorithm(options.algorithm);

  std::optional<FullEvaluator> test_eval;
  if (options.test_objective != nullptr) {
    CRPSGD_ASSIGN_OR_RETURN(test_eval,
                            FullEvaluator::Create(*options.test_objective, comm, options.eval_samples_per_worker));
  }
  TrainMonitor monitor(options, f, comm, eval, test_eval ? &*test_eval : nullptr);
  CRPSGD_RETURN_IF_ERROR(monitor.OnRound(RoundRecord{}, x));  // round 0: the starting point
  CRPSGD_ASSIGN_OR_RETURN(AlgorithmResult result, algorithm->Run(comm, f, *sampler, x, monitor));

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
  summary.comm_s = comm.stats().training.seconds - base.training.seconds;
  summary.net_model_s = monitor.last().net_model_s;
  summary.bytes = comm.stats().training.bytes - base.training.bytes;
  summary.eval_s = monitor.eval_s();
  CRPSGD_ASSIGN_OR_RETURN(summary.train_accuracy, eval.Accuracy(x));
  if (options.algorithm.kind == AlgorithmKind::kCrPsgdCatalyst) {
    summary.outer_iterations = options.algorithm.OuterIterationsFor(comm.size());
    summary.inner_budget = options.algorithm.InnerBudgetFor(comm.size());
    std::vector<double> gradient(x.size());
    CRPSGD_RETURN_IF_ERROR(eval.LossAndGradient(x, gradient).status());
    double norm2 = 0.0;
    for (double g : gradient) norm2 += g * g;
    summary.gradient_norm = std::sqrt(norm2);
  }
  if (test_eval) {
    CRPSGD_ASSIGN_OR_RETURN(summary.test_loss, test_eval->Loss(x));
    summary.test_accuracy = monitor.last().test_accuracy;  // the last round is always evaluated
  }
  summary.eval_bytes = comm.stats().evaluation.bytes - base.evaluation.bytes;
  summary.x = std::move(x);
  return summary;
}

Result<SmoothnessEstimate> EstimateLipschitz(const Objective& f, Communicator& comm) {
  if (const auto* linear = dynamic_cast<const LinearModelObjective*>(&f)) {
    CRPSGD_ASSIGN_OR_RETURN(FullEvaluator eval, FullEvaluator::Create(f, comm));
    CRPSGD_ASSIGN_OR_RETURN(double value, EstimateSmoothness(*linear, comm, eval.total_samples()));
    return SmoothnessEstimate{value, "power-iteration"};
  }
  // The largest bound over workers: each writes its own slot, the sum gathers them.
  std::vector<double> bounds(comm.size(), 0.0);
  const std::optional<double> mine = f.SmoothnessBound();
  bounds[comm.rank()] = mine ? *mine : std::nan("");
  CRPSGD_RETURN_IF_ERROR(comm.AllreduceSum(bounds, Traffic::kEvaluation));
  double largest = 0.0;
  for (double b : bounds) {
    if (!std::isfinite(b)) {
      return Status::InvalidArgument("--lr auto needs an estimate of L, and this objective gives none; pass --lr");
    }
    largest = std::max(largest, b);
  }
  return SmoothnessEstimate{largest, "bound"};
}

}  // namespace crpsgd
