// The end of a model-averaging round (local-sgd, auto): plain averaging, or
// Nesterov momentum on the round's pseudo-gradient (DiLoCo, Douillard et al.
// 2023; SlowMo, Wang et al. 2020).
#pragma once

#include <span>
#include <vector>

#include "algorithms/algorithm_spec.h"
#include "crpsgd/algorithm.h"

namespace crpsgd::internal {

class OuterStep {
 public:
  // `velocity`: u, the caller's (part of the algorithm's state, which a
  // checkpoint saves); an empty one starts at zero.
  OuterStep(const AlgorithmOptions& options, std::vector<double>& velocity, std::size_t dim)
      : lr_(ParamNumber(options, kOuterLrParam.name)),
        momentum_(ParamNumber(options, kOuterMomentumParam.name)),
        velocity_(velocity) {
    if (active() && velocity_.empty()) velocity_.assign(dim, 0.0);
  }

  // α = 1, μ = 0: x̄ is the next model as it came from the all-reduce (today's bits).
  bool active() const { return lr_ != 1.0 || momentum_ != 0.0; }

  // x holds the average x̄, `start` the round's x_r: with Δ = x_r − x̄,
  // u ← μu + Δ and x ← x_r − α(Δ + μu). Every worker computes the same.
  // `momentum_share` in [0, 1] scales μ for this round (auto: the share of
  // the round's mean displacement that is signal, not noise).
  void Apply(std::span<const double> start, std::span<double> x, double momentum_share = 1.0) {
    if (!active()) return;
    const double momentum = momentum_ * momentum_share;
    for (std::size_t j = 0; j < x.size(); ++j) {
      const double delta = start[j] - x[j];
      velocity_[j] = momentum * velocity_[j] + delta;
      x[j] = start[j] - lr_ * (delta + momentum * velocity_[j]);
    }
  }

 private:
  double lr_, momentum_;
  std::vector<double>& velocity_;
};

}  // namespace crpsgd::internal
