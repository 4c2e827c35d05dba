#include "crpsgd/sampler.h"

#include <numeric>
#include <random>
#include <sstream>
#include <vector>

#include "util/check.h"
#include "util/rng.h"

namespace crpsgd {
namespace {

class WithReplacementSampler final : public Sampler {
 public:
  WithReplacementSampler(std::size_t n, std::uint64_t seed) : n_(n), rng_(seed) {}
  void Next(std::size_t count, std::vector<std::size_t>* out) override {
    out->resize(count);
    for (std::size_t& i : *out) i = rng_.UniformIndex(n_);
  }
  std::string SaveState() const override {
    std::ostringstream os;
    os << rng_.engine();
    return os.str();
  }
  Status LoadState(const std::string& state) override {
    std::istringstream is(state);
    std::mt19937_64 engine;  // parsed aside: a refused state changes nothing
    is >> engine;
    if (!is) return Status::Corruption("the sampler's state does not parse");
    rng_.engine() = engine;
    return Status::OK();
  }

 private:
  std::size_t n_;
  Rng rng_;
};

class ReshuffleSampler final : public Sampler {
 public:
  ReshuffleSampler(std::size_t n, std::uint64_t seed) : order_(n), rng_(seed) {
    std::iota(order_.begin(), order_.end(), std::size_t{0});
    rng_.Shuffle(order_);
  }
  void Next(std::size_t count, std::vector<std::size_t>* out) override {
    out->resize(count);
    for (std::size_t& i : *out) {
      if (position_ == order_.size()) {  // a pass is over: start a new, reshuffled one
        rng_.Shuffle(order_);
        position_ = 0;
      }
      i = order_[position_++];
    }
  }
  std::string SaveState() const override {
    std::ostringstream os;
    os << rng_.engine() << " " << position_;
    for (std::size_t i : order_) os << " " << i;
    return os.str();
  }
  Status LoadState(const std::string& state) override {
    std::istringstream is(state);
    std::mt19937_64 engine;  // parsed aside: a refused state changes nothing
    std::vector<std::size_t> order(order_.size());
    std::size_t position = 0;
    is >> engine >> position;
    for (std::size_t& i : order) is >> i;
    if (!is || position > order.size()) return Status::Corruption("the sampler's state does not parse");
    // A permutation of 0..n-1, or the samples it names would be read out of bounds.
    std::vector<bool> seen(order.size(), false);
    for (std::size_t i : order) {
      if (i >= order.size() || seen[i]) {
        return Status::Corruption("the sampler's state is not a permutation of the samples");
      }
      seen[i] = true;
    }
    rng_.engine() = engine;
    order_ = std::move(order);
    position_ = position;
    return Status::OK();
  }

 private:
  std::vector<std::size_t> order_;
  std::size_t position_ = 0;
  Rng rng_;
};

}  // namespace

const char* SamplingName(Sampling sampling) {
  return sampling == Sampling::kWithReplacement ? "with-replacement" : "reshuffle";
}

Result<Sampling> ParseSampling(std::string_view name) {
  if (name == "with-replacement") return Sampling::kWithReplacement;
  if (name == "reshuffle" || name == "without-replacement") return Sampling::kReshuffle;
  return Status::InvalidArgument("--sampling must be 'with-replacement' or 'reshuffle', got '" + std::string(name) +
                                 "'");
}

std::unique_ptr<Sampler> MakeSampler(Sampling sampling, std::size_t n, std::uint64_t seed, int rank) {
  CRPSGD_CHECK(n >= 1);
  const std::uint64_t worker_seed = DeriveSeed(seed, RngStream::kSampler, static_cast<std::uint64_t>(rank));
  if (sampling == Sampling::kWithReplacement) return std::make_unique<WithReplacementSampler>(n, worker_seed);
  return std::make_unique<ReshuffleSampler>(n, worker_seed);
}

}  // namespace crpsgd
