#include "algorithms/run_checkpoints.h"

#include "algorithms/checkpoint_file.h"

namespace crpsgd::internal {

Status RunCheckpoints::Resume() {
  const CheckpointOptions& checkpoint = options_.checkpoint;
  CRPSGD_ASSIGN_OR_RETURN(WorkerCheckpoint saved,
                          ReadLatestCheckpoint(checkpoint.dir, comm_.rank(), comm_.size(), identity_, &previous_));
  const std::string file = CheckpointFile(checkpoint.dir, previous_, comm_.rank()).string();
  // Observers without state (progress output) may come and go; the others must match.
  bool fits = saved.x.size() == parts_.x.size();
  for (std::size_t i = options_.observers.size(); i < saved.observers.size(); ++i) {
    fits = fits && saved.observers[i].empty();
  }
  if (!fits) return Status::InvalidArgument(file + ": does not fit this run (model size or outputs differ)");
  saved.observers.resize(options_.observers.size());
  eval_bytes_before_ = saved.monitor.eval_bytes;
  eval_base_ = comm_.stats().evaluation.bytes;  // this process's evaluation traffic counts from here
  ModelState* model_state = f_.model_state();
  if (model_state == nullptr && !saved.model_state.empty()) {
    return Status::InvalidArgument(file +
                                   ": holds model state (batch-norm statistics) that this objective does not have");
  }
  if (model_state != nullptr) {
    const Status loaded = model_state->LoadState(saved.model_state);
    if (!loaded.ok()) return Status(loaded.code(), file + ": " + loaded.message());
  }
  const char* algorithm = AlgorithmName(options_.algorithm.kind);
  if (saved.algorithm != algorithm) {
    return Status::InvalidArgument(file + ": holds the state of " + saved.algorithm + ", this run is " + algorithm);
  }
  const Status loaded = parts_.algorithm.LoadState(saved.algorithm_state);
  if (!loaded.ok()) return Status(loaded.code(), file + ": " + loaded.message());
  parts_.x = std::move(saved.x);
  parts_.progress = saved.progress;
  CRPSGD_RETURN_IF_ERROR(parts_.sampler.LoadState(saved.sampler));
  parts_.monitor.Restore(saved.monitor);
  for (std::size_t i = 0; i < options_.observers.size(); ++i) {
    if (auto* part = dynamic_cast<Checkpointed*>(options_.observers[i])) {
      CRPSGD_RETURN_IF_ERROR(part->RestoreCheckpointState(saved.observers[i]));
    }
  }
  return Status::OK();
}

Status RunCheckpoints::Write(std::uint64_t round, std::span<const double> now) {
  WorkerCheckpoint mine;
  mine.identity = identity_;
  mine.rank = static_cast<std::uint64_t>(comm_.rank());
  mine.workers = static_cast<std::uint64_t>(comm_.size());
  mine.x.assign(now.begin(), now.end());
  mine.progress = parts_.progress;
  mine.algorithm = AlgorithmName(options_.algorithm.kind);
  mine.algorithm_state = parts_.algorithm.SaveState();
  mine.sampler = parts_.sampler.SaveState();
  mine.monitor = parts_.monitor.Save();
  mine.monitor.eval_bytes = EvalBytes();
  for (const RoundObserver* o : options_.observers) {  // one entry per observer: "" for those without state
    const auto* part = dynamic_cast<const Checkpointed*>(o);
    mine.observers.push_back(part != nullptr ? part->CheckpointState() : std::string());
  }
  if (const ModelState* model_state = f_.model_state()) mine.model_state = model_state->SaveState();
  CRPSGD_RETURN_IF_ERROR(WriteCheckpoint(comm_, options_.checkpoint.dir, round, previous_, mine));
  previous_ = round;
  return Status::OK();
}

}  // namespace crpsgd::internal
