// Sampler: which local samples a worker's next stochastic gradients use.
//
// Each worker owns one Sampler. Three kinds:
//  * kWithReplacement: i.i.d. uniform indices of the worker's shard [0, n)
//    (the paper's model);
//  * kReshuffle: passes over the shard, reshuffled before every pass
//    (sampling without replacement);
//  * kGlobal: one order of the whole training set [0, n) per epoch, read at a
//    cursor every worker keeps alike. A step of B samples a worker takes the
//    next N·B of that order, worker r the r-th share: each epoch reads every
//    sample once across the workers, and a run resumed on another number of
//    workers N′ goes on at the same cursor, each step's N·B samples now shared
//    among N′ (Claim). Every worker holds the whole training set.
// Seeded from the run seed (and the rank, or the epoch); never from the
// clock. Not thread safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "crpsgd/status.h"

namespace crpsgd {

enum class Sampling { kWithReplacement, kReshuffle, kGlobal };

const char* SamplingName(Sampling sampling);  // "with-replacement", "reshuffle", "global"
Result<Sampling> ParseSampling(std::string_view name);

class Sampler {
 public:
  virtual ~Sampler() = default;
  // A step of `batch` samples per worker of the run's plan begins: how many
  // this worker takes (the Next calls that follow): `batch`, but on another
  // number of workers than planned (kWithReplacement, kGlobal) this worker's
  // share of the step's planned samples, which may be 0.
  virtual std::size_t Claim(std::size_t batch) { return batch; }
  // Replaces *out with the next `count` sample indices.
  virtual void Next(std::size_t count, std::vector<std::size_t>* out) = 0;
  // The sampler's position, as text, and a return to it (checkpoints).
  virtual std::string SaveState() const = 0;
  virtual Status LoadState(const std::string& state) = 0;
  // A resume on another number of workers: goes on from `first_worker`, the
  // state worker 0 of the run that wrote the checkpoint saved. kGlobal: its
  // cursor, which every worker shares. kWithReplacement: a new stream of its
  // own, seeded by (seed, rank, resumed_round). kReshuffle cannot (its passes
  // are over shards that the new workers do not have): InvalidArgument.
  virtual Status ContinueOnOtherWorkers(const std::string& first_worker, std::uint64_t resumed_round) = 0;
};

// Where a sampler draws: rank `rank` of `workers`; plan_workers is the N of
// the run's plan (kGlobal shares a step's plan_workers·B samples among
// `workers`); 0 = workers.
struct SamplerPlace {
  int rank = 0;
  int workers = 1;
  int plan_workers = 0;
};

// n >= 1 (kGlobal: the whole training set's samples).
std::unique_ptr<Sampler> MakeSampler(Sampling sampling, std::size_t n, std::uint64_t seed, SamplerPlace place);

}  // namespace crpsgd
