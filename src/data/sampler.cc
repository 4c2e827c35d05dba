#include "crpsgd/sampler.h"

#include <numeric>
#include <random>
#include <sstream>
#include <vector>

#include "util/check.h"
#include "util/rng.h"

namespace crpsgd {
namespace {

// Worker `rank`'s part [begin, end) of a step's `step` samples shared by
// `workers` as evenly as they go (parts differ by at most one).
struct StepShare {
  std::uint64_t begin, end;
};
StepShare ShareOfStep(std::uint64_t step, const SamplerPlace& place) {
  const auto workers = static_cast<std::uint64_t>(place.workers), rank = static_cast<std::uint64_t>(place.rank);
  return {step * rank / workers, step * (rank + 1) / workers};
}

class WithReplacementSampler final : public Sampler {
 public:
  WithReplacementSampler(std::size_t n, std::uint64_t seed, SamplerPlace place)
      : n_(n),
        seed_(seed),
        place_(place),
        rng_(DeriveSeed(seed, RngStream::kSampler, static_cast<std::uint64_t>(place.rank))) {}
  // Its share of the step's planned samples (on the plan's workers, `batch`).
  std::size_t Claim(std::size_t batch) override {
    const StepShare share = ShareOfStep(static_cast<std::uint64_t>(place_.plan_workers) * batch, place_);
    return static_cast<std::size_t>(share.end - share.begin);
  }
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
  // Draws stay uniform over the worker's (new) shard; a stream of its own, so
  // that no two workers of the resumed run repeat each other's draws.
  Status ContinueOnOtherWorkers(const std::string&, std::uint64_t resumed_round) override {
    const auto rank = static_cast<std::uint64_t>(place_.rank);
    rng_ = Rng(DeriveSeed(DeriveSeed(seed_, RngStream::kSampler, rank), RngStream::kResume, resumed_round));
    return Status::OK();
  }

 private:
  std::size_t n_;
  std::uint64_t seed_;
  SamplerPlace place_;
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
  Status ContinueOnOtherWorkers(const std::string&, std::uint64_t) override {
    return Status::InvalidArgument(
        "--sampling reshuffle passes over each worker's own shard, which another number of workers does not "
        "have: resume on the same number of workers, or run with --sampling global");
  }

 private:
  std::vector<std::size_t> order_;
  std::size_t position_ = 0;
  Rng rng_;
};

// kGlobal: position p of the run's sample stream is sample order(p / n)[p % n],
// where order(e) is epoch e's permutation of 0..n−1, seeded by (seed, e).
class GlobalSampler final : public Sampler {
 public:
  GlobalSampler(std::size_t n, std::uint64_t seed, SamplerPlace place)
      : n_(n), seed_(seed), place_(place), epoch_order_(n) {}

  std::size_t Claim(std::size_t batch) override {
    // The step's samples are the next plan_workers·batch of the stream,
    // shared by the workers of this run.
    const std::uint64_t step = static_cast<std::uint64_t>(place_.plan_workers) * batch;
    const StepShare share = ShareOfStep(step, place_);
    next_ = cursor_ + share.begin;
    claim_end_ = cursor_ + share.end;
    cursor_ += step;
    return static_cast<std::size_t>(share.end - share.begin);
  }

  void Next(std::size_t count, std::vector<std::size_t>* out) override {
    CRPSGD_CHECK(next_ + count <= claim_end_);  // within the step Claim began
    out->resize(count);
    for (std::size_t& i : *out) i = At(next_++);
  }

  std::string SaveState() const override { return "global " + std::to_string(cursor_); }

  Status LoadState(const std::string& state) override {
    std::istringstream is(state);
    std::string kind;
    std::uint64_t cursor = 0;
    is >> kind >> cursor;
    if (!is || kind != "global") return Status::Corruption("the sampler's state does not parse");
    cursor_ = next_ = claim_end_ = cursor;
    return Status::OK();
  }

  // The cursor is the whole run's, the same on every worker.
  Status ContinueOnOtherWorkers(const std::string& first_worker, std::uint64_t) override {
    return LoadState(first_worker);
  }

 private:
  std::size_t At(std::uint64_t position) {
    const std::uint64_t epoch = position / n_;
    if (!has_epoch_ || epoch != epoch_) {
      std::iota(epoch_order_.begin(), epoch_order_.end(), std::size_t{0});
      Rng(DeriveSeed(seed_, RngStream::kGlobalOrder, epoch)).Shuffle(epoch_order_);
      epoch_ = epoch, has_epoch_ = true;
    }
    return epoch_order_[position % n_];
  }

  std::size_t n_;
  std::uint64_t seed_;
  SamplerPlace place_;
  std::uint64_t cursor_ = 0;                // the next step's first position, on every worker alike
  std::uint64_t next_ = 0, claim_end_ = 0;  // this worker's share of the step Claim began
  std::vector<std::size_t> epoch_order_;    // order(epoch_), built when first read
  std::uint64_t epoch_ = 0;
  bool has_epoch_ = false;
};

}  // namespace

const char* SamplingName(Sampling sampling) {
  switch (sampling) {
    case Sampling::kWithReplacement: return "with-replacement";
    case Sampling::kReshuffle: return "reshuffle";
    case Sampling::kGlobal: return "global";
  }
  return "?";
}

Result<Sampling> ParseSampling(std::string_view name) {
  if (name == "with-replacement") return Sampling::kWithReplacement;
  if (name == "reshuffle" || name == "without-replacement") return Sampling::kReshuffle;
  if (name == "global") return Sampling::kGlobal;
  return Status::InvalidArgument("--sampling must be 'with-replacement', 'reshuffle' or 'global', got '" +
                                 std::string(name) + "'");
}

std::unique_ptr<Sampler> MakeSampler(Sampling sampling, std::size_t n, std::uint64_t seed, SamplerPlace place) {
  CRPSGD_CHECK(n >= 1 && place.workers >= 1 && place.rank >= 0 && place.rank < place.workers);
  if (place.plan_workers == 0) place.plan_workers = place.workers;
  const auto rank = static_cast<std::uint64_t>(place.rank);
  switch (sampling) {
    case Sampling::kWithReplacement: return std::make_unique<WithReplacementSampler>(n, seed, place);
    case Sampling::kReshuffle:
      return std::make_unique<ReshuffleSampler>(n, DeriveSeed(seed, RngStream::kSampler, rank));
    case Sampling::kGlobal: return std::make_unique<GlobalSampler>(n, seed, place);
  }
  return nullptr;
}

}  // namespace crpsgd
