// The built-in objectives: linear models on a Dataset shard.
//
//   F(x; i) = φ(a_i·x, y_i) + R(x)
//
//   logreg        φ = log(1 + exp(−y z)),  R = λ/2 ‖x‖²             (convex, PL)
//   leastsq       φ = ½ (z − y)²,           R = λ/2 ‖x‖²             (convex, PL, closed-form f*)
//   ncvx-logreg   φ = log(1 + exp(−y z)),  R = λ Σ_j x_j²/(1+x_j²)  (non-convex)
//
// f(x) is the average of F over all samples of all shards. Each object owns
// its shard; const methods are thread safe.
#pragma once

#include <memory>
#include <string_view>

#include "crpsgd/communicator.h"
#include "crpsgd/dataset.h"
#include "crpsgd/objective.h"

namespace crpsgd {

enum class Problem { kLogistic, kLeastSquares, kNonconvexLogistic };

const char* ProblemName(Problem problem);  // "logreg", "leastsq", "ncvx-logreg"
Result<Problem> ParseProblem(std::string_view name);

class LinearModelObjective final : public Objective {
 public:
  LinearModelObjective(Problem problem, Dataset shard, double lambda);

  std::size_t dim() const override { return shard_.num_features(); }
  std::size_t num_samples() const override { return shard_.num_samples(); }
  double AccumulateGradient(std::span<const double> x, std::span<const std::size_t> samples,
                            std::span<double> grad_sum) const override;
  double Loss(std::span<const double> x, std::span<const std::size_t> samples) const override;
  bool convex() const override { return problem_ != Problem::kNonconvexLogistic; }
  // c·max_i ‖a_i‖² + r, with c bounding φ'' and r bounding R''.
  std::optional<double> SmoothnessBound() const override;
  std::optional<std::size_t> CountCorrect(std::span<const double> x,
                                          std::span<const std::size_t> samples) const override;

  // Threads that split each batch gradient and loss (default 1). The batch is
  // cut into `threads` contiguous chunks, each summed on its own thread, and
  // the partial sums are added in chunk order: results are bit-identical run
  // to run for a given thread count (not across counts). Batches too small to
  // be worth the threads (under 1024 samples a thread) run on one.
  void set_threads(int threads) { threads_ = threads < 1 ? 1 : threads; }
  int threads() const { return threads_; }

  Problem problem() const { return problem_; }
  double lambda() const { return lambda_; }
  const Dataset& shard() const { return shard_; }
  // Bounds on φ''(z) and R''(x) (per coordinate).
  double loss_curvature() const;
  double regularizer_curvature() const;
  // out += Σ_{local i} a_i (a_i · v): the Gram product behind the power iteration.
  void AccumulateGramProduct(std::span<const double> v, std::span<double> out) const;
  // AtA += Σ a_i a_iᵀ, Atb += Σ a_i y_i over the local shard (least squares' normal equations).
  void AccumulateNormalEquations(Eigen::MatrixXd& AtA, Eigen::VectorXd& Atb) const;

 private:
  // row i · x; dense data: `next_row`, if given, is prefetched meanwhile.
  double RowDot(std::size_t i, std::span<const double> x, const double* next_row = nullptr) const;
  void AddScaledRow(std::size_t i, double scale, std::span<double> out) const;
  // φ(z, y); *slope = φ'(z).
  double Phi(double z, double y, double* slope) const;
  // Σ φ over `samples`, and grad_sum += Σ φ'·a_i when grad_sum is not empty
  // (no regulariser), on one thread.
  double SumLosses(std::span<const double> x, std::span<const std::size_t> samples, std::span<double> grad_sum) const;
  // The same, split over threads_ threads as set_threads() describes.
  double SumLossesParallel(std::span<const double> x, std::span<const std::size_t> samples,
                           std::span<double> grad_sum) const;
  // R(x), and grad += weight·∇R(x) when grad is not empty.
  double Regularizer(std::span<const double> x, double weight, std::span<double> grad) const;

  Problem problem_;
  Dataset shard_;
  double lambda_;
  int threads_ = 1;
};

// Estimates L of the global f by a power iteration on (1/n) Σ_i a_i a_iᵀ over
// all shards (evaluation traffic, deterministic): L ≈ c·λ_max + r. Collective.
Result<double> EstimateSmoothness(const LinearModelObjective& f, Communicator& comm, std::size_t total_samples);

}  // namespace crpsgd
