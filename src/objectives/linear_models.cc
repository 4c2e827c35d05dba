#include "crpsgd/linear_models.h"

#include "crpsgd/enum_table.h"
#include "crpsgd/evaluation.h"

#include <Eigen/Cholesky>

#include "objectives/gram.h"
#include "objectives/row_kernels.h"
#include "util/fork_join_pool.h"
#include "util/huge_pages.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

namespace crpsgd {

namespace {
constexpr EnumTable<Problem, 3> kProblems{{{{Problem::kLogistic, "logreg"},
                                            {Problem::kLeastSquares, "leastsq"},
                                            {Problem::kNonconvexLogistic, "ncvx-logreg"}}}};
constexpr EnumTable<Precision, 2> kPrecisions{{{{Precision::kFloat64, "float64"}, {Precision::kFloat32, "float32"}}}};
}  // namespace

const char* ProblemName(Problem problem) { return kProblems.Name(problem); }
Result<Problem> ParseProblem(std::string_view name) { return kProblems.Parse(name, "--problem"); }
const char* PrecisionName(Precision precision) { return kPrecisions.Name(precision); }
Result<Precision> ParsePrecision(std::string_view name) { return kPrecisions.Parse(name, "--precision"); }

LinearModelObjective::LinearModelObjective(Problem problem, Dataset shard, double lambda, Precision precision)
    : LinearModelObjective(problem, std::make_shared<const Dataset>(std::move(shard)), lambda, precision) {}

LinearModelObjective::LinearModelObjective(Problem problem, std::shared_ptr<const Dataset> shard, double lambda,
                                           Precision precision)
    : problem_(problem),
      lambda_(lambda),
      precision_(precision),
      sparse_(shard->is_sparse),
      dim_(shard->num_features()),
      shard_(std::move(shard)) {
  if (sparse_ && !shard_->sparse.isCompressed()) {  // the kernels walk plain CSR arrays
    auto compressed = std::make_shared<Dataset>(*shard_);
    compressed->sparse.makeCompressed();
    shard_ = std::move(compressed);
  }
  const Dataset& data = *shard_;
  if (precision_ == Precision::kFloat64) {
    labels_ = data.labels;
    rows64_.cols = dim_;
    if (sparse_) {
      rows64_.outer = data.sparse.outerIndexPtr();
      rows64_.inner = data.sparse.innerIndexPtr();
      rows64_.values = data.sparse.valuePtr();
    } else {
      rows64_.dense = data.dense.data();
    }
    return;
  }
  labels32_ = data.labels;
  labels_ = labels32_;
  rows32_.cols = dim_;
  if (sparse_) {
    sparse32_ = data.sparse.cast<float>();
    sparse32_.makeCompressed();
    rows32_.outer = sparse32_.outerIndexPtr();
    rows32_.inner = sparse32_.innerIndexPtr();
    rows32_.values = sparse32_.valuePtr();
  } else {
    dense32_.resize(data.dense.rows(), data.dense.cols());
    AdviseHugePages(dense32_.data(), static_cast<std::size_t>(dense32_.size()) * sizeof(float));
    dense32_ = data.dense.cast<float>();
    rows32_.dense = dense32_.data();
  }
  shard_.reset();  // the float copy is all the objective reads from now on
}

template <class Scalar>
double LinearModelObjective::Rows<Scalar>::Dot(std::size_t i, const double* x, const Scalar* next) const {
  if (dense != nullptr) return kernels::Dot(DenseRow(i), x, cols, next);
  double z = 0.0;
  for (std::int64_t k = outer[i]; k < outer[i + 1]; ++k) z += static_cast<double>(values[k]) * x[inner[k]];
  return z;
}

template <class Scalar>
void LinearModelObjective::Rows<Scalar>::AddScaled(std::size_t i, double scale, double* out) const {
  if (dense != nullptr) return kernels::AddScaled(DenseRow(i), scale, out, cols);
  for (std::int64_t k = outer[i]; k < outer[i + 1]; ++k) out[inner[k]] += scale * static_cast<double>(values[k]);
}

template <class Scalar>
double LinearModelObjective::Rows<Scalar>::SquaredNorm(std::size_t i) const {
  double norm2 = 0.0;
  if (dense != nullptr) {
    const Scalar* row = DenseRow(i);
    for (std::size_t j = 0; j < cols; ++j) norm2 += static_cast<double>(row[j]) * static_cast<double>(row[j]);
    return norm2;
  }
  for (std::int64_t k = outer[i]; k < outer[i + 1]; ++k) norm2 += static_cast<double>(values[k]) * values[k];
  return norm2;
}

std::size_t LinearModelObjective::row_nonzeros(std::size_t i) const {
  return WithRows([&](const auto& rows) {
    return rows.dense != nullptr ? rows.cols : static_cast<std::size_t>(rows.outer[i + 1] - rows.outer[i]);
  });
}

double LinearModelObjective::Phi(double z, double y, double* slope, bool with_loss) const {
  if (problem_ == Problem::kLeastSquares) {
    *slope = z - y;
    return 0.5 * (z - y) * (z - y);
  }
  const double m = -y * z;                  // log(1 + e^m), computed without overflow
  const double e = std::exp(-std::abs(m));  // one exp serves the loss and its slope
  const double sigma = m >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
  *slope = -y * sigma;
  if (!with_loss) return 0.0;
  return m > 0 ? m + std::log1p(e) : std::log1p(e);
}

double LinearModelObjective::Regularizer(std::span<const double> x, double weight, std::span<double> grad) const {
  double value = 0.0;
  if (problem_ == Problem::kNonconvexLogistic) {
    for (std::size_t j = 0; j < x.size(); ++j) {
      const double s = 1.0 + x[j] * x[j];
      value += x[j] * x[j] / s;
      if (!grad.empty()) grad[j] += weight * lambda_ * 2.0 * x[j] / (s * s);
    }
    return lambda_ * value;
  }
  for (std::size_t j = 0; j < x.size(); ++j) {
    value += x[j] * x[j];
    if (!grad.empty()) grad[j] += weight * lambda_ * x[j];
  }
  return 0.5 * lambda_ * value;
}

template <class Scalar>
double LinearModelObjective::SumLosses(const Rows<Scalar>& rows, std::span<const double> x,
                                       std::span<const std::size_t> samples, std::span<double> grad_sum,
                                       bool with_loss) const {
  double loss = 0.0;
  const bool gradient = !grad_sum.empty();
  for (std::size_t k = 0; k < samples.size(); ++k) {
    // Sampled rows are scattered over the shard: the dot product fetches the
    // next one while it works on this one, so that a large batch runs near
    // memory bandwidth instead of waiting for memory at every row start.
    const Scalar* next = k + 1 < samples.size() && rows.dense != nullptr ? rows.DenseRow(samples[k + 1]) : nullptr;
    const std::size_t i = samples[k];
    double slope = 0.0;
    loss += Phi(rows.Dot(i, x.data(), next), labels_[i], &slope, with_loss);
    if (gradient && slope != 0.0) rows.AddScaled(i, slope, grad_sum.data());
  }
  return loss;
}

LinearModelObjective::~LinearModelObjective() = default;

void LinearModelObjective::set_threads(int threads) {
  threads_ = threads < 1 ? 1 : threads;
  pool_ = threads_ > 1 ? std::make_unique<ForkJoinPool>(threads_ - 1) : nullptr;
}

double LinearModelObjective::SumLossesParallel(std::span<const double> x, std::span<const std::size_t> samples,
                                               std::span<double> grad_sum, bool with_loss) const {
  constexpr std::size_t kMinSamplesPerThread = 1024;  // below this, a helper costs more than it saves
  const std::size_t chunks =
      std::min<std::size_t>(static_cast<std::size_t>(threads_), samples.size() / kMinSamplesPerThread);
  const auto sum = [&](std::span<const std::size_t> part, std::span<double> grad) {
    return WithRows([&](const auto& rows) { return SumLosses(rows, x, part, grad, with_loss); });
  };
  if (chunks <= 1) return sum(samples, grad_sum);
  const auto chunk = [&](std::size_t k) {
    return samples.subspan(samples.size() * k / chunks,
                           samples.size() * (k + 1) / chunks - samples.size() * k / chunks);
  };
  std::vector<double> losses(chunks);
  std::vector<std::vector<double>> grads(chunks);
  pool_->Run(chunks, [&](std::size_t k) {
    if (!grad_sum.empty()) grads[k].assign(grad_sum.size(), 0.0);
    losses[k] = sum(chunk(k), grads[k]);
  });
  // Partial sums added in chunk order: the same bits whatever the timing.
  double loss = 0.0;
  for (std::size_t k = 0; k < chunks; ++k) {
    loss += losses[k];
    for (std::size_t j = 0; j < grads[k].size(); ++j) grad_sum[j] += grads[k][j];
  }
  return loss;
}

double LinearModelObjective::AccumulateGradient(std::span<const double> x, std::span<const std::size_t> samples,
                                                std::span<double> grad_sum) const {
  const double loss = SumLossesParallel(x, samples, grad_sum);
  const double count = static_cast<double>(samples.size());
  return loss + count * Regularizer(x, count, grad_sum);
}

void LinearModelObjective::AddGradient(std::span<const double> x, std::span<const std::size_t> samples,
                                       std::span<double> grad_sum) const {
  SumLossesParallel(x, samples, grad_sum, /*with_loss=*/false);
  Regularizer(x, static_cast<double>(samples.size()), grad_sum);
}

double LinearModelObjective::Loss(std::span<const double> x, std::span<const std::size_t> samples) const {
  return SumLossesParallel(x, samples, {}) + static_cast<double>(samples.size()) * Regularizer(x, 0.0, {});
}

double LinearModelObjective::loss_curvature() const { return problem_ == Problem::kLeastSquares ? 1.0 : 0.25; }

double LinearModelObjective::regularizer_curvature() const {
  return problem_ == Problem::kNonconvexLogistic ? 2.0 * lambda_ : lambda_;
}

std::optional<double> LinearModelObjective::SmoothnessBound() const {
  double max_norm2 = 0.0;
  WithRows([&](const auto& rows) {
    for (std::size_t i = 0; i < num_samples(); ++i) max_norm2 = std::max(max_norm2, rows.SquaredNorm(i));
  });
  return loss_curvature() * max_norm2 + regularizer_curvature();
}

std::optional<std::size_t> LinearModelObjective::CountCorrect(std::span<const double> x,
                                                              std::span<const std::size_t> samples) const {
  if (problem_ == Problem::kLeastSquares) return std::nullopt;
  std::size_t correct = 0;
  WithRows([&](const auto& rows) {
    for (std::size_t i : samples) correct += ((rows.Dot(i, x.data()) >= 0.0 ? 1.0 : -1.0) == labels_[i]);
  });
  return correct;
}

double LinearModelObjective::SumSquaredRowNorms() const {
  double sum = 0.0;
  WithRows([&](const auto& rows) {
    for (std::size_t i = 0; i < num_samples(); ++i) sum += rows.SquaredNorm(i);
  });
  return sum;
}

void LinearModelObjective::AccumulateGramProduct(std::span<const double> v, std::span<double> out) const {
  WithRows([&](const auto& rows) {
    for (std::size_t i = 0; i < num_samples(); ++i) rows.AddScaled(i, rows.Dot(i, v.data()), out.data());
  });
}

void LinearModelObjective::AccumulateNormalEquations(Eigen::MatrixXd& AtA, Eigen::VectorXd& Atb) const {
  const Eigen::VectorXd y =
      Eigen::Map<const Eigen::VectorXd>(labels_.data(), static_cast<Eigen::Index>(labels_.size()));
  const auto accumulate = [&](const auto& dense, const auto& sparse) {
    if (!sparse_) {
      AtA.selfadjointView<Eigen::Lower>().rankUpdate(dense.transpose());
      AtA = AtA.selfadjointView<Eigen::Lower>();
      Atb += dense.transpose() * y;
    } else {
      AtA += Eigen::MatrixXd(sparse.transpose() * sparse);
      Atb += sparse.transpose() * y;
    }
  };
  // float32: on the rounded features the gradients read, so f* is the optimum of the same f.
  if (precision_ == Precision::kFloat32) {
    accumulate(DenseMatrix(dense32_.cast<double>()), SparseMatrix(sparse32_.cast<double>()));
  } else {
    accumulate(shard_->dense, shard_->sparse);
  }
}

Result<double> GramLargestEigenvalue(const GramProduct& product, std::size_t d, Communicator& comm,
                                     std::size_t total_samples) {
  constexpr int kMaxIterations = 200;
  constexpr double kRelativeTolerance = 1e-7;
  std::vector<double> v(d, 1.0 / std::sqrt(static_cast<double>(d))), w(d);
  double eigenvalue = 0.0;
  for (int it = 0; it < kMaxIterations; ++it) {
    std::fill(w.begin(), w.end(), 0.0);
    product(v, w);
    CRPSGD_RETURN_IF_ERROR(comm.AllreduceSum(w, Traffic::kEvaluation));
    double norm = 0.0;
    for (double& wi : w) {
      wi /= static_cast<double>(total_samples);
      norm += wi * wi;
    }
    norm = std::sqrt(norm);
    if (norm == 0.0) break;  // all-zero data: only the regulariser is left
    const double previous = eigenvalue;
    eigenvalue = norm;  // ‖Gv‖ with ‖v‖ = 1 → λ_max
    for (std::size_t j = 0; j < d; ++j) v[j] = w[j] / norm;
    if (std::abs(eigenvalue - previous) <= kRelativeTolerance * eigenvalue) break;
  }
  return eigenvalue;
}

Result<double> EstimateSmoothness(const LinearModelObjective& f, Communicator& comm, std::size_t total_samples) {
  const auto product = [&](std::span<const double> v, std::span<double> out) { f.AccumulateGramProduct(v, out); };
  CRPSGD_ASSIGN_OR_RETURN(const double eigenvalue, GramLargestEigenvalue(product, f.dim(), comm, total_samples));
  return f.loss_curvature() * eigenvalue + f.regularizer_curvature();
}

Result<double> EstimateMeanSampleSmoothness(const LinearModelObjective& f, Communicator& comm,
                                            std::size_t total_samples) {
  std::vector<double> sum{f.SumSquaredRowNorms()};
  CRPSGD_RETURN_IF_ERROR(comm.AllreduceSum(sum, Traffic::kEvaluation));
  return f.loss_curvature() * sum[0] / static_cast<double>(total_samples) + f.regularizer_curvature();
}

Result<std::optional<SmoothnessConstants>> LinearModelObjective::GlobalSmoothness(Communicator& comm) const {
  CRPSGD_ASSIGN_OR_RETURN(FullEvaluator eval, FullEvaluator::Create(*this, comm));
  CRPSGD_ASSIGN_OR_RETURN(const double value, EstimateSmoothness(*this, comm, eval.total_samples()));
  CRPSGD_ASSIGN_OR_RETURN(const double mean_sample, EstimateMeanSampleSmoothness(*this, comm, eval.total_samples()));
  return std::optional<SmoothnessConstants>(SmoothnessConstants{value, mean_sample, "power-iteration"});
}

Result<std::optional<ExactMinimizer>> LinearModelObjective::SolveExactly(Communicator& comm,
                                                                         std::size_t total_samples) const {
  constexpr std::size_t kMaxFeatures = 4096;  // a d×d solve; beyond it L-BFGS is cheaper
  if (problem_ != Problem::kLeastSquares || dim_ > kMaxFeatures) return std::optional<ExactMinimizer>();
  const auto d = static_cast<Eigen::Index>(dim_);
  Eigen::MatrixXd AtA = Eigen::MatrixXd::Zero(d, d);
  Eigen::VectorXd Atb = Eigen::VectorXd::Zero(d);
  AccumulateNormalEquations(AtA, Atb);
  CRPSGD_RETURN_IF_ERROR(comm.AllreduceSum(std::span<double>(AtA.data(), AtA.size()), Traffic::kEvaluation));
  CRPSGD_RETURN_IF_ERROR(comm.AllreduceSum(std::span<double>(Atb.data(), Atb.size()), Traffic::kEvaluation));
  const double n = static_cast<double>(total_samples);
  // ∇f = (AᵀA x − Aᵀb)/n + λx = 0
  Eigen::MatrixXd H = AtA / n;
  H.diagonal().array() += lambda_;
  const Eigen::VectorXd x = H.ldlt().solve(Atb / n);
  return std::optional<ExactMinimizer>(ExactMinimizer{std::vector<double>(x.data(), x.data() + d), "normal-equations"});
}

}  // namespace crpsgd
