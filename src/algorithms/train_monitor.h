// Train's parts that watch every round: the costs and the evaluation
// schedule (TrainMonitor), and the divergence policy applied to each
// evaluated loss. Checkpoints are written by a hook the monitor calls after
// the user's observers (RunCheckpoints). Internal to the library.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <vector>

#include "algorithms/checkpoint_file.h"
#include "crpsgd/evaluation.h"
#include "crpsgd/objective.h"
#include "crpsgd/train.h"

namespace crpsgd::internal {

// A run that makes f worse is reported as diverged, not as a result
// (TrainOptions::divergence_factor, end_below_start), measured against the
// loss of round 0.
class DivergencePolicy {
 public:
  explicit DivergencePolicy(const TrainOptions& options) : options_(options) {}
  // `loss`: the full loss evaluated at `record`'s round (round 0 sets the start).
  Status Check(const RoundRecord& record, double loss);
  double first_loss() const { return first_loss_; }
  void set_first_loss(double loss) { first_loss_ = loss; }  // a resumed run's start

 private:
  const TrainOptions& options_;
  double first_loss_ = 0.0;  // round 0's
};

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
        base_(comm.stats()),
        divergence_(options) {}

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
      CRPSGD_RETURN_IF_ERROR(divergence_.Check(record, loss));
      record.loss = loss;
      last_loss_ = loss;
      CRPSGD_RETURN_IF_ERROR(CheckTargets(record, x));
    }
    for (RoundObserver* observer : options_.observers) CRPSGD_RETURN_IF_ERROR(observer->OnRound(record, x));
    last_ = record;
    if (reached_) {  // every worker evaluated alike: all stop at this round
      stopped_x_.assign(x.begin(), x.end());
      return Status::Stopped("round " + std::to_string(record.round) + ": target reached");
    }
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
  MonitorState Save() const {
    MonitorState m;
    m.next_auto_eval = next_auto_;
    m.bytes = last_.bytes;
    m.wall_s = last_.wall_s;
    m.comm_s = last_.comm_s;
    m.eval_s = eval_s_;
    m.net_model_s = net_model_s_;
    m.last_loss = last_loss_;
    m.first_loss = divergence_.first_loss();
    return m;
  }
  void Restore(const MonitorState& m) {
    // Costs continue from the checkpoint's: wall time counts training only,
    // so the evaluation time is part of the offset, not of eval_s_ below.
    resumed_ = m;
    resumed_.wall_s = m.wall_s + m.eval_s;
    next_auto_ = m.next_auto_eval;
    eval_s_ = m.eval_s;
    net_model_s_ = m.net_model_s;
    last_loss_ = m.last_loss;
    divergence_.set_first_loss(m.first_loss);
    last_.bytes = m.bytes;
  }

  const RoundRecord& last() const { return last_; }
  // Where the targets were reached (the run stopped there), and its model.
  const std::optional<TargetReached>& reached() const { return reached_; }
  std::vector<double>& stopped_x() { return stopped_x_; }
  double last_loss() const { return last_loss_; }
  double eval_s() const { return eval_s_; }

 private:
  // At an evaluated round (record.loss set): has a target been reached?
  Status CheckTargets(const RoundRecord& record, std::span<const double> x) {
    const RunTargets& targets = options_.targets;
    if (!targets.any() || record.round == 0) return Status::OK();
    bool reached = (targets.loss && *record.loss <= *targets.loss) ||
                   (targets.gap && options_.f_star && *record.loss - *options_.f_star <= *targets.gap);
    if (targets.relative_gap && options_.f_star) {  // the gap closed to a share of round 0's
      const double start_gap = divergence_.first_loss() - *options_.f_star;
      reached = reached || (start_gap > 0.0 && *record.loss - *options_.f_star <= *targets.relative_gap * start_gap);
    }
    if (targets.accuracy) {
      std::optional<double> accuracy = record.test_accuracy;
      if (test_eval_ == nullptr) {
        CRPSGD_ASSIGN_OR_RETURN(accuracy, eval_.Accuracy(x));  // collective
      }
      reached = reached || (accuracy && *accuracy >= *targets.accuracy);
    }
    if (reached) reached_ = TargetReached{record.round, record.sfo_per_worker, record.bytes, record.wall_s};
    return Status::OK();
  }

  bool ShouldEvaluate(const RoundRecord& record) {
    if (record.round == 0 || record.last) return true;
    if (options_.eval_every_sfo > 0) {
      // Stateless (a resumed run decides alike): did this round's samples cross a multiple?
      const std::uint64_t samples = record.samples != 0 ? record.samples : record.batch * record.local_steps;
      const std::uint64_t before = record.sfo_per_worker - std::min(record.sfo_per_worker, samples);
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
  std::uint64_t next_auto_ = 0;
  RoundRecord last_;
  MonitorState resumed_;  // zero unless resumed
  DivergencePolicy divergence_;
  std::optional<TargetReached> reached_;
  std::vector<double> stopped_x_;
  std::function<Status(std::uint64_t, std::span<const double>)> checkpoint_;
};

}  // namespace crpsgd::internal
