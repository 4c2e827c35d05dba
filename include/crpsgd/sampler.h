// Sampler: which local samples a worker's next stochastic gradients use.
//
// Each worker owns one Sampler over its own shard [0, n). Two kinds:
//  * kWithReplacement: i.i.d. uniform indices (the paper's model);
//  * kReshuffle: passes over the shard, reshuffled before every pass
//    (sampling without replacement).
// Seeded from (run seed, rank); never from the clock. Not thread safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "crpsgd/status.h"

namespace crpsgd {

enum class Sampling { kWithReplacement, kReshuffle };

const char* SamplingName(Sampling sampling);  // "with-replacement" / "reshuffle"
Result<Sampling> ParseSampling(std::string_view name);

class Sampler {
 public:
  virtual ~Sampler() = default;
  // Replaces *out with the next `count` sample indices.
  virtual void Next(std::size_t count, std::vector<std::size_t>* out) = 0;
  // The sampler's position, as text, and a return to it (checkpoints).
  virtual std::string SaveState() const = 0;
  virtual Status LoadState(const std::string& state) = 0;
};

// n >= 1.
std::unique_ptr<Sampler> MakeSampler(Sampling sampling, std::size_t n, std::uint64_t seed, int rank);

}  // namespace crpsgd
