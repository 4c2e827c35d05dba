// Internal helpers shared by the algorithms.
#pragma once

#include <cmath>
#include <span>
#include <string>
#include <vector>

#include "crpsgd/objective.h"
#include "crpsgd/sampler.h"
#include "crpsgd/status.h"

namespace crpsgd::internal {

// The local mini-batch gradient ḡ = (1/B) Σ_{j=1..B} ∇F(x; ζ_j) of one worker,
// computed as micro-batches of at most max_micro samples accumulated in place:
// memory stays bounded however large B grows, and it is still one round.
class BatchGradient {
 public:
  BatchGradient(const Objective& f, Sampler& sampler, std::uint64_t max_micro)
      : f_(f), sampler_(sampler), max_micro_(max_micro) {}

  // Overwrites grad with ḡ; costs `batch` SFO calls.
  void Compute(std::span<const double> x, std::uint64_t batch, std::span<double> grad) {
    std::fill(grad.begin(), grad.end(), 0.0);
    for (std::uint64_t done = 0; done < batch;) {
      const std::uint64_t take = std::min(max_micro_, batch - done);
      sampler_.Next(take, &indices_);
      f_.AccumulateGradient(x, indices_, grad);
      done += take;
    }
    const double inv = 1.0 / static_cast<double>(batch);
    for (double& g : grad) g *= inv;
  }

 private:
  const Objective& f_;
  Sampler& sampler_;
  std::uint64_t max_micro_;
  std::vector<std::size_t> indices_;
};

// Diverged unless every entry is finite.
inline Status CheckFinite(std::span<const double> v, const char* what, std::uint64_t round) {
  for (double e : v) {
    if (!std::isfinite(e)) {
      return Status::Diverged("round " + std::to_string(round) + ": the " + what +
                              " is not finite (the step size is probably too large)");
    }
  }
  return Status::OK();
}

}  // namespace crpsgd::internal
