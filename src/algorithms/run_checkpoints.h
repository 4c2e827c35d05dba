// --checkpoint-every and --resume (TrainOptions::checkpoint): the parts of a
// run that save themselves (x, the run's progress and the algorithm's own state, the sampler, the
// monitor, the user's observers, the model's state), written after the
// observers of every K-th round and read back on resume, one file per
// worker (checkpoint_file.h). Internal to the library.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "algorithms/algorithm_internal.h"
#include "algorithms/checkpoint_file.h"
#include "algorithms/train_monitor.h"
#include "crpsgd/sampler.h"
#include "crpsgd/train.h"

namespace crpsgd::internal {

class RunCheckpoints {
 public:
  struct Parts {
    std::vector<double>& x;
    Algorithm& algorithm;
    RunProgress& progress;
    Sampler& sampler;
    TrainMonitor& monitor;
  };
  // eval_base: this worker's evaluation bytes when the run started.
  RunCheckpoints(const TrainOptions& options, const Objective& f, Communicator& comm, Parts parts,
                 std::uint64_t eval_base)
      : options_(options), f_(f), comm_(comm), parts_(parts), eval_base_(eval_base) {}

  // What a checkpoint must match to be resumed by this run.
  void set_identity(std::vector<std::pair<std::string, std::string>> identity) { identity_ = std::move(identity); }
  // Every part back to the latest checkpoint: this worker's own file, or
  // those of all the workers that wrote it, when they were another number.
  Status Resume();
  // Every part into the checkpoint of `round`, at x = `now`.
  Status Write(std::uint64_t round, std::span<const double> now);
  // The run's evaluation bytes so far: those before a resume, and this process's since.
  std::uint64_t EvalBytes() const { return eval_bytes_before_ + comm_.stats().evaluation.bytes - eval_base_; }

 private:
  Status ResumeOwn(WorkerCheckpoint saved);
  Status CheckAlgorithmName(const std::string& saved, const std::string& file) const;
  // The monitor, the observers, the model's state.
  Status RestoreWorkerParts(WorkerCheckpoint& saved, const std::string& file);

  const TrainOptions& options_;
  const Objective& f_;
  Communicator& comm_;
  Parts parts_;
  std::vector<std::pair<std::string, std::string>> identity_;
  std::uint64_t previous_ = 0;  // the round of the last checkpoint written or read
  std::uint64_t eval_bytes_before_ = 0, eval_base_;
};

}  // namespace crpsgd::internal
