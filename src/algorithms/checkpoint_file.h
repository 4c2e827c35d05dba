// One worker's checkpoint file: a binary record with a checksum. Internal to Train.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "algorithms/algorithm_internal.h"
#include "crpsgd/algorithm.h"
#include "crpsgd/communicator.h"
#include "crpsgd/status.h"

namespace crpsgd::internal {

// What Train's monitor has accumulated: cumulative costs and its schedule.
struct MonitorState {
  std::uint64_t next_auto_eval = 0;
  std::uint64_t bytes = 0, eval_bytes = 0;
  double wall_s = 0, comm_s = 0, eval_s = 0, net_model_s = 0, last_loss = 0, first_loss = 0;
};

struct WorkerCheckpoint {
  std::vector<std::pair<std::string, std::string>> identity;  // the run it belongs to
  std::uint64_t rank = 0, workers = 0;
  std::vector<double> x;
  RunProgress progress;
  std::string algorithm;        // its name ("cr-psgd")
  std::string algorithm_state;  // Algorithm::SaveState(): the algorithm's own versioned record
  std::string sampler;
  MonitorState monitor;
  std::vector<std::string> observers;  // RoundObserver::CheckpointState(), in order
  std::string model_state;             // ModelState::SaveState() (format 4; empty without one)
};

// DIR/round-<t>.rank-<r>
std::filesystem::path CheckpointFile(const std::filesystem::path& dir, std::uint64_t round, int rank);

Status WriteWorkerCheckpoint(const std::filesystem::path& path, const WorkerCheckpoint& checkpoint);
// Errors name the file: missing, truncated, checksum mismatch.
Result<WorkerCheckpoint> ReadWorkerCheckpoint(const std::filesystem::path& path);

// The checkpoint protocol, collective: every worker writes its file, then
// rank 0 points DIR/LATEST at `round`, then the files of `previous` go.
Status WriteCheckpoint(Communicator& comm, const std::filesystem::path& dir, std::uint64_t round,
                       std::uint64_t previous, const WorkerCheckpoint& mine);
// DIR/LATEST: the round of the last complete checkpoint, how many workers
// wrote it, and the identity of its run. NotFound without one, Corruption
// naming the file when it does not parse.
struct LatestRecord {
  std::uint64_t round = 0, writers = 0;
  std::vector<std::pair<std::string, std::string>> identity;
};
Result<LatestRecord> ReadLatest(const std::filesystem::path& dir);

// The round DIR/LATEST names and the files of it this worker reads, each
// checked against `identity` (and its rank). A checkpoint written by as many
// workers as there are now: this worker's own file. By another number of
// workers (a resume elsewhere): every file of that round, in rank order.
Result<std::vector<WorkerCheckpoint>> ReadLatestCheckpoint(
    const std::filesystem::path& dir, int rank, int workers,
    const std::vector<std::pair<std::string, std::string>>& identity, std::uint64_t* round);

}  // namespace crpsgd::internal
