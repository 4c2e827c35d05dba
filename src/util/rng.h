// Seeded random numbers that are the same on every platform and library.
//
// Every random choice in crpsgd comes from an Rng whose seed is derived from
// the run's seed with DeriveSeed(seed, stream, rank); nothing reads the clock.
// std::uniform_int_distribution and std::normal_distribution are not used
// because their output differs between standard libraries.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace crpsgd {

// SplitMix64: a good 64-bit mixing function for deriving independent seeds.
inline std::uint64_t SplitMix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

// Named random streams, so that adding a consumer never shifts another's numbers.
enum class RngStream : std::uint64_t {
  kShard = 1,
  kSampler = 2,
  kSynthetic = 3,
  kInit = 4,
  kSolver = 5,
  kAugment = 6,
  kDropout = 7,
  kGlobalOrder = 8,  // --sampling global: each epoch's order of the whole set
  kResume = 9,       // a with-replacement stream after a resume on other workers
  kPowerSgd = 10,    // --compress powersgd: the factors' random start, alike on every worker
};

inline std::uint64_t DeriveSeed(std::uint64_t seed, RngStream stream, std::uint64_t rank = 0) {
  return SplitMix64(SplitMix64(SplitMix64(seed) ^ static_cast<std::uint64_t>(stream)) ^ rank);
}

class Rng {
 public:
  explicit Rng(std::uint64_t seed) : engine_(seed) {}

  std::uint64_t NextU64() { return engine_(); }

  // Uniform in [0, n), unbiased (rejection sampling), n >= 1.
  std::uint64_t UniformIndex(std::uint64_t n) {
    const std::uint64_t limit = (~std::uint64_t{0}) - ((~std::uint64_t{0}) % n);
    std::uint64_t v;
    do v = engine_();
    while (v >= limit);
    return v % n;
  }

  // Uniform in [0, 1) with 53 random bits.
  double UniformUnit() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }

  // Standard normal (Box-Muller, the cosine branch only: simple and portable).
  double Normal() {
    const double u1 = 1.0 - UniformUnit();  // (0, 1]
    const double u2 = UniformUnit();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }

  template <class T>
  void Shuffle(std::vector<T>& v) {  // Fisher-Yates
    for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[UniformIndex(i)]);
  }

  const std::mt19937_64& engine() const { return engine_; }
  std::mt19937_64& engine() { return engine_; }

 private:
  std::mt19937_64 engine_;
};

}  // namespace crpsgd
