// Full-data quantities over all shards: f(x), ∇f(x), accuracy, and f*.
//
// All functions here are collectives (every worker calls them with the same x)
// and use Traffic::kEvaluation, so they never count as communication rounds
// and never as SFO calls: they are measurements, not part of the algorithm.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <vector>

#include "crpsgd/communicator.h"
#include "crpsgd/objective.h"

namespace crpsgd {

class FullEvaluator {
 public:
  // Collective: learns the total number of samples across shards. With
  // max_local_samples > 0 each worker evaluates only the first that many
  // samples of its shard (a fixed subset: cheaper estimates for networks).
  static Result<FullEvaluator> Create(const Objective& f, Communicator& comm, std::size_t max_local_samples = 0);

  std::size_t total_samples() const { return total_samples_; }
  // This worker's samples in the evaluation: the first max_local_samples of its shard.
  std::span<const std::size_t> local_samples() const { return all_local_; }
  // f(x) = (1/n) Σ_all i F(x; ζ_i).
  Result<double> Loss(std::span<const double> x);
  // f(x), and ∇f(x) into grad.
  Result<double> LossAndGradient(std::span<const double> x, std::span<double> grad);
  // Fraction of all samples classified correctly; nullopt if f is no classifier.
  Result<std::optional<double>> Accuracy(std::span<const double> x);

 private:
  FullEvaluator(const Objective& f, Communicator& comm, std::size_t local, std::size_t total);
  const Objective* f_;
  Communicator* comm_;
  std::size_t total_samples_;
  std::vector<std::size_t> all_local_;  // 0..n_local-1
  std::vector<double> buffer_;          // [dim + 1]
};

struct OptimumOptions {
  double gradient_tolerance = 1e-7;  // stop when ‖∇f‖ is below this (f − f* ≲ ‖∇f‖²/2μ)
  int max_iterations = 5000;
};

struct Optimum {
  double value = 0.0;          // f*
  double gradient_norm = 0.0;  // ‖∇f‖ at the solution found
  int iterations = 0;
  const char* method = "";  // "normal-equations" or "l-bfgs"
};

// f* of a convex objective: the closed form for least squares, a deterministic
// full-batch L-BFGS otherwise. Collective.
Result<Optimum> ComputeOptimum(const Objective& f, Communicator& comm, const OptimumOptions& options = {});

}  // namespace crpsgd
