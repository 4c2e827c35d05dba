// The built-in objectives: linear models on a Dataset shard.
//
//   F(x; i) = φ(a_i·x, y_i) + R(x)
//
//   logreg        φ = log(1 + exp(−y z)),  R = λ/2 ‖x‖²             (convex, PL)
//   leastsq       φ = ½ (z − y)²,           R = λ/2 ‖x‖²             (convex, PL, closed-form f*)
//   ncvx-logreg   φ = log(1 + exp(−y z)),  R = λ Σ_j x_j²/(1+x_j²)  (non-convex)
//
// and logreg on K > 2 classes, multinomial (MultinomialLogisticObjective):
//
//   F(x; i) = log Σ_k exp(w_k·a_i) − w_{y_i}·a_i + λ/2 ‖x‖²              (convex, PL)
//
// f(x) is the average of F over all samples of all shards. Each object owns
// its shard; const methods are thread safe.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "crpsgd/communicator.h"
#include "crpsgd/dataset.h"
#include "crpsgd/objective.h"

namespace crpsgd {

class ForkJoinPool;  // util: the helper threads of set_threads

enum class Problem { kLogistic, kLeastSquares, kNonconvexLogistic };

const char* ProblemName(Problem problem);  // "logreg", "leastsq", "ncvx-logreg"
Result<Problem> ParseProblem(std::string_view name);

// How the objective stores the features its gradients read.
enum class Precision {
  kFloat64,  // as read
  kFloat32,  // rounded to float once: half the bytes per row; dot products, sums and the model stay double
};

const char* PrecisionName(Precision precision);  // "float64" / "float32"
Result<Precision> ParsePrecision(std::string_view name);

class LinearModelObjective final : public Objective {
 public:
  LinearModelObjective(Problem problem, Dataset shard, double lambda, Precision precision = Precision::kFloat64);
  // A shard shared with others (a byte-range part the caller keeps): no copy
  // at float64. At float32 the objective keeps its own float copy and labels.
  LinearModelObjective(Problem problem, std::shared_ptr<const Dataset> shard, double lambda,
                       Precision precision = Precision::kFloat64);
  ~LinearModelObjective() override;

  std::size_t dim() const override { return dim_; }
  std::size_t num_samples() const override { return labels_.size(); }
  double AccumulateGradient(std::span<const double> x, std::span<const std::size_t> samples,
                            std::span<double> grad_sum) const override;
  // The gradient alone: the logistic terms skip their log1p.
  void AddGradient(std::span<const double> x, std::span<const std::size_t> samples,
                   std::span<double> grad_sum) const override;
  double Loss(std::span<const double> x, std::span<const std::size_t> samples) const override;
  bool convex() const override { return problem_ != Problem::kNonconvexLogistic; }
  // c·max_i ‖a_i‖² + r, with c bounding φ'' and r bounding R''.
  std::optional<double> SmoothnessBound() const override;
  std::optional<std::size_t> CountCorrect(std::span<const double> x,
                                          std::span<const std::size_t> samples) const override;
  // L̂ by a power iteration on the data, and L̄ (EstimateSmoothness and
  // EstimateMeanSampleSmoothness below). Collective.
  Result<std::optional<SmoothnessConstants>> GlobalSmoothness(Communicator& comm) const override;
  // Least squares of up to 4096 features: the normal equations, solved. Collective.
  Result<std::optional<ExactMinimizer>> SolveExactly(Communicator& comm, std::size_t total_samples) const override;

  // Threads that split each batch gradient and loss (default 1). The batch is
  // cut into `threads` contiguous chunks, each summed on its own thread, and
  // the partial sums are added in chunk order: results are bit-identical run
  // to run for a given thread count (not across counts). Batches too small to
  // be worth the threads (under 1024 samples a thread) run on one.
  // The helper threads start here, once, and serve every batch after.
  void set_threads(int threads);
  int threads() const { return threads_; }

  Problem problem() const { return problem_; }
  double lambda() const { return lambda_; }
  Precision precision() const { return precision_; }
  bool is_sparse() const { return sparse_; }
  // Stored non-zeros of local sample i (dense rows: dim()).
  std::size_t row_nonzeros(std::size_t i) const;
  // Bounds on φ''(z) and R''(x) (per coordinate).
  double loss_curvature() const;
  double regularizer_curvature() const;
  // Σ_{local i} ‖a_i‖² (a mean of it bounds the per-sample curvature: tr H).
  double SumSquaredRowNorms() const;
  // out += Σ_{local i} a_i (a_i · v): the Gram product behind the power iteration.
  void AccumulateGramProduct(std::span<const double> v, std::span<double> out) const;
  // AtA += Σ a_i a_iᵀ, Atb += Σ a_i y_i over the local shard (least squares' normal equations).
  void AccumulateNormalEquations(Eigen::MatrixXd& AtA, Eigen::VectorXd& Atb) const;

 private:
  // A view of the features in one precision: dense row-major or CSR.
  template <class Scalar>
  struct Rows {
    const Scalar* dense = nullptr;  // [samples x cols], row-major
    const std::int64_t* outer = nullptr;
    const std::int64_t* inner = nullptr;
    const Scalar* values = nullptr;
    std::size_t cols = 0;
    const Scalar* DenseRow(std::size_t i) const { return dense + i * cols; }
    // row i · x; dense rows: `next`, the row to be worked on after this one, is prefetched meanwhile.
    double Dot(std::size_t i, const double* x, const Scalar* next = nullptr) const;
    void AddScaled(std::size_t i, double scale, double* out) const;  // out += scale · row i
    double SquaredNorm(std::size_t i) const;
  };
  // f(rows) with the view of the stored precision.
  template <class F>
  decltype(auto) WithRows(F&& f) const {
    return precision_ == Precision::kFloat32 ? f(rows32_) : f(rows64_);
  }
  // φ(z, y) (0 unless with_loss); *slope = φ'(z).
  double Phi(double z, double y, double* slope, bool with_loss) const;
  // Σ φ over `samples` (0 unless with_loss), and grad_sum += Σ φ'·a_i when
  // grad_sum is not empty (no regulariser), on one thread.
  template <class Scalar>
  double SumLosses(const Rows<Scalar>& rows, std::span<const double> x, std::span<const std::size_t> samples,
                   std::span<double> grad_sum, bool with_loss) const;
  // The same, split over threads_ threads as set_threads() describes.
  double SumLossesParallel(std::span<const double> x, std::span<const std::size_t> samples, std::span<double> grad_sum,
                           bool with_loss = true) const;
  // R(x), and grad += weight·∇R(x) when grad is not empty.
  double Regularizer(std::span<const double> x, double weight, std::span<double> grad) const;

  Problem problem_;
  double lambda_;
  Precision precision_;
  int threads_ = 1;
  std::unique_ptr<ForkJoinPool> pool_;  // threads_ − 1 helpers; null for one thread
  bool sparse_ = false;
  std::size_t dim_ = 0;
  std::shared_ptr<const Dataset> shard_;  // float64: the features; float32: null (released after the copy)
  // float32: the features rounded to float, and the labels.
  Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> dense32_;
  Eigen::SparseMatrix<float, Eigen::RowMajor, std::int64_t> sparse32_;
  std::vector<double> labels32_;
  std::span<const double> labels_;
  Rows<double> rows64_;
  Rows<float> rows32_;
};

// Multinomial (softmax) logistic regression over K ≥ 2 classes, labels
// 0..K−1. x holds the d×K weights feature by feature, x[j·K + k] = w_k[j]:
// the layout of a LIBLINEAR model file's rows. Costs as the binary models: one
// SFO call per sample, whatever K. Float64 features, one thread.
class MultinomialLogisticObjective final : public Objective {
 public:
  MultinomialLogisticObjective(std::shared_ptr<const Dataset> shard, std::size_t classes, double lambda);

  std::size_t dim() const override { return features_ * classes_; }
  std::size_t num_samples() const override { return shard_->num_samples(); }
  double AccumulateGradient(std::span<const double> x, std::span<const std::size_t> samples,
                            std::span<double> grad_sum) const override;
  bool convex() const override { return true; }
  // ½ max_i ‖a_i‖² + λ: the softmax's curvature diag(p) − ppᵀ is at most ½.
  std::optional<double> SmoothnessBound() const override;
  std::optional<std::size_t> CountCorrect(std::span<const double> x,
                                          std::span<const std::size_t> samples) const override;
  // L̂ = ½ λ_max((1/n) Σ a_i a_iᵀ) + λ by a power iteration, L̄ = ½ mean ‖a_i‖² + λ. Collective.
  Result<std::optional<SmoothnessConstants>> GlobalSmoothness(Communicator& comm) const override;

  std::size_t classes() const { return classes_; }
  // The K scores w_k·a_i of local sample i.
  void Scores(std::span<const double> x, std::size_t i, std::span<double> scores) const;

 private:
  // out[k] += scale_k · a_i[j] at x's layout, for every feature j of sample i.
  void AddOuter(std::size_t i, std::span<const double> scale, std::span<double> out) const;
  // fn(j, a_i[j]) for the stored features of local sample i (a sparse row's non-zeros).
  template <class Fn>
  void ForEachFeature(std::size_t i, Fn&& fn) const {
    const Dataset& d = *shard_;
    if (d.is_sparse) {
      for (SparseMatrix::InnerIterator it(d.sparse, static_cast<Eigen::Index>(i)); it; ++it) {
        fn(static_cast<std::size_t>(it.col()), it.value());
      }
      return;
    }
    const double* row = d.dense.data() + i * features_;
    for (std::size_t j = 0; j < features_; ++j) fn(j, row[j]);
  }

  std::shared_ptr<const Dataset> shard_;
  std::size_t features_;
  std::size_t classes_;
  double lambda_;
};

// Estimates L of the global f by a power iteration on (1/n) Σ_i a_i a_iᵀ over
// all shards (evaluation traffic, deterministic): L ≈ c·λ_max + r. Collective.
Result<double> EstimateSmoothness(const LinearModelObjective& f, Communicator& comm, std::size_t total_samples);

// The mean per-sample smoothness L̄ = c·(1/n) Σ_i ‖a_i‖² + r over all shards
// (an upper bound on tr H for the data term): what limits the step of SGD on
// small batches. Collective (one evaluation all-reduce).
Result<double> EstimateMeanSampleSmoothness(const LinearModelObjective& f, Communicator& comm,
                                            std::size_t total_samples);

}  // namespace crpsgd
