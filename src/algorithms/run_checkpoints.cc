#include "algorithms/run_checkpoints.h"

#include "algorithms/checkpoint_file.h"

#include <algorithm>

namespace crpsgd::internal {

namespace {

// x of a resume on another number of workers: the writers' average (their
// common x, bit for bit, when they agree, as they do after an all-reduce).
std::vector<double> AverageOfWriters(const std::vector<WorkerCheckpoint>& files) {
  std::vector<double> x = files.front().x;
  bool alike = true;
  for (const WorkerCheckpoint& c : files) alike = alike && c.x == x;
  if (alike) return x;
  for (std::size_t w = 1; w < files.size(); ++w) {
    for (std::size_t j = 0; j < x.size(); ++j) x[j] += files[w].x[j];
  }
  for (double& v : x) v /= static_cast<double>(files.size());
  return x;
}

}  // namespace

Status RunCheckpoints::Resume() {
  const CheckpointOptions& checkpoint = options_.checkpoint;
  CRPSGD_ASSIGN_OR_RETURN(std::vector<WorkerCheckpoint> files,
                          ReadLatestCheckpoint(checkpoint.dir, comm_.rank(), comm_.size(), identity_, &previous_));
  const auto writers = files.front().workers;
  if (writers == static_cast<std::uint64_t>(comm_.size())) return ResumeOwn(std::move(files.front()));
  // Another number of workers: x their average, the algorithm's state merged,
  // the sampler on from writer 0's; the parts of a worker (its observers, the
  // model's state) from the writer of the same rank, where there is one.
  const auto own = std::min<std::uint64_t>(static_cast<std::uint64_t>(comm_.rank()), writers - 1);
  const std::string file = CheckpointFile(checkpoint.dir, previous_, static_cast<int>(own)).string();
  for (const WorkerCheckpoint& c : files) {
    if (c.x.size() != parts_.x.size()) return Status::InvalidArgument(file + ": does not fit this run (model size)");
  }
  std::vector<std::string> records;
  for (const WorkerCheckpoint& c : files) records.push_back(c.algorithm_state);
  CRPSGD_RETURN_IF_ERROR(CheckAlgorithmName(files.front().algorithm, file));
  if (Status loaded = parts_.algorithm.LoadStates(records); !loaded.ok()) {
    return Status(loaded.code(), file + ": " + loaded.message());
  }
  if (Status sampler = parts_.sampler.ContinueOnOtherWorkers(files.front().sampler, previous_); !sampler.ok()) {
    return Status(sampler.code(), file + ": " + sampler.message());
  }
  parts_.x = AverageOfWriters(files);
  parts_.progress = files.front().progress;
  WorkerCheckpoint& mine = files[own];
  if (own != static_cast<std::uint64_t>(comm_.rank())) mine.observers.assign(mine.observers.size(), "");  // a new rank
  mine.monitor = files.front().monitor;
  return RestoreWorkerParts(mine, file);
}

Status RunCheckpoints::ResumeOwn(WorkerCheckpoint saved) {
  const std::string file = CheckpointFile(options_.checkpoint.dir, previous_, comm_.rank()).string();
  if (saved.x.size() != parts_.x.size()) {
    return Status::InvalidArgument(file + ": does not fit this run (model size or outputs differ)");
  }
  CRPSGD_RETURN_IF_ERROR(CheckAlgorithmName(saved.algorithm, file));
  const Status loaded = parts_.algorithm.LoadState(saved.algorithm_state);
  if (!loaded.ok()) return Status(loaded.code(), file + ": " + loaded.message());
  parts_.x = std::move(saved.x);
  parts_.progress = saved.progress;
  CRPSGD_RETURN_IF_ERROR(parts_.sampler.LoadState(saved.sampler));
  return RestoreWorkerParts(saved, file);
}

Status RunCheckpoints::CheckAlgorithmName(const std::string& saved, const std::string& file) const {
  const char* algorithm = AlgorithmName(options_.algorithm.kind);
  if (saved == algorithm) return Status::OK();
  return Status::InvalidArgument(file + ": holds the state of " + saved + ", this run is " + algorithm);
}

Status RunCheckpoints::RestoreWorkerParts(WorkerCheckpoint& saved, const std::string& file) {
  // Observers without state (progress output) may come and go; the others must match.
  bool fits = true;
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
