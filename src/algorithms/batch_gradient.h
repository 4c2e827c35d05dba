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

  // Overwrites grad with ḡ; costs `batch` SFO calls per worker of the plan.
  // (On another number of workers than planned, a worker averages its share
  // of the step's samples: Sampler::Claim; none, zero.)
  void Compute(std::span<const double> x, std::uint64_t batch, std::span<double> grad) {
    std::fill(grad.begin(), grad.end(), 0.0);
    const std::uint64_t mine = sampler_.Claim(batch);
    for (std::uint64_t done = 0; done < mine;) {
      const std::uint64_t take = std::min(max_micro_, mine - done);
      sampler_.Next(take, &indices_);
      f_.AddGradient(x, indices_, grad);
      done += take;
    }
    if (mine == 0) return;
    const double inv = 1.0 / static_cast<double>(mine);
    for (double& g : grad) g *= inv;
  }

 private:
  const Objective& f_;
  Sampler& sampler_;
  std::uint64_t max_micro_;
  std::vector<std::size_t> indices_;
};

// x ← x − γ·d with d = g + wd·x, or, with momentum μ > 0, v ← μv + d and
// x ← x − γ·v (heavy ball). With μ = wd = 0 this is plain SGD, bit for bit.
// The momentum buffer v is the caller's (part of the algorithm's state, which a
// checkpoint saves): an empty one starts at zero, a resumed one goes on.
class SgdStep {
 public:
  SgdStep(double lr, double momentum, double weight_decay, std::size_t dim, std::vector<double>& velocity)
      : lr_(lr), momentum_(momentum), weight_decay_(weight_decay), velocity_(velocity) {
    if (momentum_ > 0 && velocity_.empty()) velocity_.assign(dim, 0.0);
  }

  // lr_scale: the schedule's factor for this step (1 for a constant step).
  void Apply(std::span<const double> grad, std::span<double> x, double lr_scale = 1.0) {
    const double lr = lr_ * lr_scale;  // exact when the scale is 1
    for (std::size_t j = 0; j < x.size(); ++j) {
      double d = grad[j];
      if (weight_decay_ != 0.0) d += weight_decay_ * x[j];
      if (momentum_ != 0.0) d = velocity_[j] = momentum_ * velocity_[j] + d;
      x[j] -= lr * d;
    }
  }

 private:
  double lr_, momentum_, weight_decay_;
  std::vector<double>& velocity_;
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
