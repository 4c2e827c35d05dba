// Checkpoints: a run that is killed at any moment continues from its last
// checkpoint to a result bit-identical to the run that was never stopped.
//
// Every `every` rounds each worker writes its own file (x, the algorithm's
// state, its sampler's state, what the observers — metrics.jsonl — have
// written so far) atomically (temporary file, fsync, rename) with a checksum;
// after a barrier rank 0 points DIR/LATEST at the new round and the older
// files are removed. A kill at any moment leaves LATEST naming a complete
// checkpoint. Resuming checks the checksum and that the checkpoint belongs to
// this run (algorithm, budget, step, seed, the plan's workers, …).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "crpsgd/status.h"

namespace crpsgd {

struct CheckpointOptions {
  std::filesystem::path dir;  // empty: no checkpoints
  std::uint64_t every = 0;    // write one every this many rounds; 0 = never
  bool resume = false;        // continue from DIR/LATEST
  // What identifies the run beyond what Train knows (problem, data, λ, …):
  // key/value pairs a checkpoint must match to be resumed.
  std::vector<std::pair<std::string, std::string>> run_identity;
};

// Before any work of a resumed run: the differences between the checkpoint
// in `dir` (its LATEST) and this run's identity (the keys given; RunIdentity's
// others are checked when Train resumes), all in one InvalidArgument. OK when
// they match, or when `dir` holds no checkpoint. `workers` are this run's:
// another number than wrote the checkpoint is a difference only for
// --sampling reshuffle.
//
// A run resumed on another number of workers keeps its plan's: the plan's N
// stays in the identity ("workers"), each round's planned samples are shared
// by the workers there are (Sampler::Claim), x is the writers' average and
// the algorithm merges their states (docs/reliability.md).
Status CheckCheckpointMatches(const std::filesystem::path& dir, int workers,
                              const std::vector<std::pair<std::string, std::string>>& identity);

// The N of the plan of the run whose checkpoint is in `dir`, which a resume on
// any number of workers keeps; nullopt when `dir` holds no (readable) checkpoint.
std::optional<int> CheckpointPlanWorkers(const std::filesystem::path& dir);

// The round of the last checkpoint in `dir`, which a resume continues from;
// nullopt when `dir` holds no (readable) checkpoint.
std::optional<std::uint64_t> LatestCheckpointRound(const std::filesystem::path& dir);

}  // namespace crpsgd
