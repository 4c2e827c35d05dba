#include "crpsgd/evaluation.h"

#include <cmath>
#include <deque>
#include <numeric>

#include <Eigen/Core>

namespace crpsgd {

FullEvaluator::FullEvaluator(const Objective& f, Communicator& comm, std::size_t local, std::size_t total)
    : f_(&f), comm_(&comm), total_samples_(total), all_local_(local), buffer_(f.dim() + 1) {
  std::iota(all_local_.begin(), all_local_.end(), std::size_t{0});
}

Result<FullEvaluator> FullEvaluator::Create(const Objective& f, Communicator& comm, std::size_t max_local_samples) {
  const std::size_t local = max_local_samples == 0 ? f.num_samples() : std::min(f.num_samples(), max_local_samples);
  std::vector<double> count{static_cast<double>(local)};
  CRPSGD_RETURN_IF_ERROR(comm.AllreduceSum(count, Traffic::kEvaluation));
  return FullEvaluator(f, comm, local, static_cast<std::size_t>(count[0]));
}

Result<double> FullEvaluator::Loss(std::span<const double> x) {
  std::vector<double> sum{f_->Loss(x, all_local_)};
  CRPSGD_RETURN_IF_ERROR(comm_->AllreduceSum(sum, Traffic::kEvaluation));
  return sum[0] / static_cast<double>(total_samples_);
}

Result<double> FullEvaluator::LossAndGradient(std::span<const double> x, std::span<double> grad) {
  const std::size_t d = f_->dim();
  std::fill(buffer_.begin(), buffer_.end(), 0.0);
  buffer_[d] = f_->AccumulateGradient(x, all_local_, std::span<double>(buffer_).first(d));
  CRPSGD_RETURN_IF_ERROR(comm_->AllreduceSum(buffer_, Traffic::kEvaluation));
  const double n = static_cast<double>(total_samples_);
  for (std::size_t j = 0; j < d; ++j) grad[j] = buffer_[j] / n;
  return buffer_[d] / n;
}

Result<std::optional<double>> FullEvaluator::Accuracy(std::span<const double> x) {
  const std::optional<std::size_t> correct = f_->CountCorrect(x, all_local_);
  // Every worker runs the same objective type, so all take the same branch.
  if (!correct) return std::optional<double>();
  std::vector<double> sum{static_cast<double>(*correct)};
  CRPSGD_RETURN_IF_ERROR(comm_->AllreduceSum(sum, Traffic::kEvaluation));
  return std::optional<double>(sum[0] / static_cast<double>(total_samples_));
}

namespace {

// Limited-memory BFGS with a backtracking (Armijo) line search. Every worker
// runs it in lockstep on all-reduced values, so all find the same f*.
Result<Optimum> SolveLbfgs(const Objective& f, FullEvaluator& eval, const OptimumOptions& options) {
  constexpr int kMemory = 10;
  const auto d = static_cast<Eigen::Index>(f.dim());
  Eigen::VectorXd x = Eigen::VectorXd::Zero(d), g(d), direction(d), x_new(d), g_new(d);
  auto evaluate = [&](const Eigen::VectorXd& at, Eigen::VectorXd& grad) {
    return eval.LossAndGradient(std::span<const double>(at.data(), d), std::span<double>(grad.data(), d));
  };
  CRPSGD_ASSIGN_OR_RETURN(double value, evaluate(x, g));
  std::deque<Eigen::VectorXd> s_hist, y_hist;
  std::deque<double> rho_hist;
  Optimum optimum;
  optimum.method = "l-bfgs";
  int it = 0;
  for (; it < options.max_iterations && g.norm() > options.gradient_tolerance; ++it) {
    // Two-loop recursion: direction = −H g.
    direction = -g;
    std::vector<double> alpha(s_hist.size());
    for (int k = static_cast<int>(s_hist.size()) - 1; k >= 0; --k) {
      alpha[k] = rho_hist[k] * s_hist[k].dot(direction);
      direction -= alpha[k] * y_hist[k];
    }
    if (!s_hist.empty()) direction *= s_hist.back().dot(y_hist.back()) / y_hist.back().squaredNorm();
    for (std::size_t k = 0; k < s_hist.size(); ++k) {
      const double beta = rho_hist[k] * y_hist[k].dot(direction);
      direction += (alpha[k] - beta) * s_hist[k];
    }
    double slope = g.dot(direction);
    if (slope >= 0) {  // not a descent direction: restart from steepest descent
      s_hist.clear(), y_hist.clear(), rho_hist.clear();
      direction = -g;
      slope = -g.squaredNorm();
    }
    double step = s_hist.empty() ? std::min(1.0, 1.0 / g.norm()) : 1.0;
    double value_new = 0.0;
    bool accepted = false;
    for (int backtrack = 0; backtrack < 60; ++backtrack, step *= 0.5) {
      x_new = x + step * direction;
      CRPSGD_ASSIGN_OR_RETURN(value_new, evaluate(x_new, g_new));
      if (std::isfinite(value_new) && value_new <= value + 1e-4 * step * slope) {
        accepted = true;
        break;
      }
    }
    if (!accepted) break;  // no decrease possible at machine precision
    Eigen::VectorXd s = x_new - x, y = g_new - g;
    const double sy = s.dot(y);
    if (sy > 1e-16 * s.norm() * y.norm()) {
      s_hist.push_back(std::move(s));
      y_hist.push_back(std::move(y));
      rho_hist.push_back(1.0 / sy);
      if (s_hist.size() > kMemory) s_hist.pop_front(), y_hist.pop_front(), rho_hist.pop_front();
    }
    x.swap(x_new);
    g.swap(g_new);
    value = value_new;
  }
  optimum.value = value;
  optimum.gradient_norm = g.norm();
  optimum.iterations = it;
  return optimum;
}

}  // namespace

Result<Optimum> ComputeOptimum(const Objective& f, Communicator& comm, const OptimumOptions& options) {
  if (!f.convex()) return Status::InvalidArgument("ComputeOptimum(): f is not convex, so f* is not computable");
  CRPSGD_ASSIGN_OR_RETURN(FullEvaluator eval, FullEvaluator::Create(f, comm));
  CRPSGD_ASSIGN_OR_RETURN(const std::optional<ExactMinimizer> exact, f.SolveExactly(comm, eval.total_samples()));
  if (!exact) return SolveLbfgs(f, eval, options);
  std::vector<double> grad(f.dim());
  Optimum optimum;
  CRPSGD_ASSIGN_OR_RETURN(optimum.value, eval.LossAndGradient(exact->x, grad));
  optimum.gradient_norm = Eigen::Map<const Eigen::VectorXd>(grad.data(), static_cast<Eigen::Index>(grad.size())).norm();
  optimum.method = exact->method;
  return optimum;
}

}  // namespace crpsgd
