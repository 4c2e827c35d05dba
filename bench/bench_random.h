// The benchmarks' seeded numbers: crpsgd's SplitMix64 over a counter, so that
// every run benchmarks the same data, batches and generated files.
#pragma once

#include <cstdint>

#include "util/rng.h"

namespace crpsgd::bench {

// The next number of the stream whose position is `state`.
inline std::uint64_t NextSplitMix(std::uint64_t& state) {
  const std::uint64_t value = SplitMix64(state);
  state += 0x9E3779B97F4A7C15ULL;
  return value;
}

// Uniform in [0, 1) with 53 random bits.
inline double NextUniform(std::uint64_t& state) { return static_cast<double>(NextSplitMix(state) >> 11) * 0x1.0p-53; }

}  // namespace crpsgd::bench
