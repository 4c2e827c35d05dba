// Multinomial logistic regression: logreg on more than two classes.
#include <algorithm>
#include <cmath>
#include <vector>

#include "crpsgd/evaluation.h"
#include "crpsgd/linear_models.h"
#include "objectives/gram.h"

namespace crpsgd {

MultinomialLogisticObjective::MultinomialLogisticObjective(std::shared_ptr<const Dataset> shard, std::size_t classes,
                                                           double lambda)
    : shard_(std::move(shard)), features_(shard_->num_features()), classes_(classes), lambda_(lambda) {}

void MultinomialLogisticObjective::Scores(std::span<const double> x, std::size_t i, std::span<double> scores) const {
  std::fill(scores.begin(), scores.end(), 0.0);
  const std::size_t K = classes_;
  ForEachFeature(i, [&](std::size_t j, double a) {
    const double* w = x.data() + j * K;
    for (std::size_t k = 0; k < K; ++k) scores[k] += a * w[k];
  });
}

void MultinomialLogisticObjective::AddOuter(std::size_t i, std::span<const double> scale, std::span<double> out) const {
  const std::size_t K = classes_;
  ForEachFeature(i, [&](std::size_t j, double a) {
    double* g = out.data() + j * K;
    for (std::size_t k = 0; k < K; ++k) g[k] += a * scale[k];
  });
}

double MultinomialLogisticObjective::AccumulateGradient(std::span<const double> x, std::span<const std::size_t> samples,
                                                        std::span<double> grad_sum) const {
  std::vector<double> z(classes_);
  double loss = 0.0;
  for (const std::size_t i : samples) {
    Scores(x, i, z);
    const auto y = static_cast<std::size_t>(shard_->labels[i]);
    const double top = *std::max_element(z.begin(), z.end());  // log-sum-exp without overflow
    const double shifted_y = z[y] - top;
    double sum = 0.0;
    for (double& zk : z) sum += (zk = std::exp(zk - top));
    loss += std::log(sum) - shifted_y;  // log Σ e^{z_k} − z_y, both shifted by `top`
    for (double& zk : z) zk /= sum;     // softmax probabilities p_k
    z[y] -= 1.0;                        // ∂F/∂z_k = p_k − [k = y]
    if (!grad_sum.empty()) AddOuter(i, z, grad_sum);
  }
  const double count = static_cast<double>(samples.size());
  double norm2 = 0.0;
  for (std::size_t j = 0; j < x.size(); ++j) {
    norm2 += x[j] * x[j];
    if (!grad_sum.empty()) grad_sum[j] += count * lambda_ * x[j];
  }
  return loss + count * 0.5 * lambda_ * norm2;
}

std::optional<double> MultinomialLogisticObjective::SmoothnessBound() const {
  double max_norm2 = 0.0;
  const Dataset& d = *shard_;
  for (std::size_t i = 0; i < num_samples(); ++i) {
    const double norm2 = d.is_sparse ? d.sparse.row(static_cast<Eigen::Index>(i)).squaredNorm()
                                     : d.dense.row(static_cast<Eigen::Index>(i)).squaredNorm();
    max_norm2 = std::max(max_norm2, norm2);
  }
  return 0.5 * max_norm2 + lambda_;
}

std::optional<std::size_t> MultinomialLogisticObjective::CountCorrect(std::span<const double> x,
                                                                      std::span<const std::size_t> samples) const {
  std::vector<double> z(classes_);
  std::size_t correct = 0;
  for (const std::size_t i : samples) {
    Scores(x, i, z);
    const auto predicted = static_cast<std::size_t>(std::max_element(z.begin(), z.end()) - z.begin());
    correct += static_cast<double>(predicted) == shard_->labels[i] ? 1 : 0;
  }
  return correct;
}

Result<std::optional<SmoothnessConstants>> MultinomialLogisticObjective::GlobalSmoothness(Communicator& comm) const {
  CRPSGD_ASSIGN_OR_RETURN(FullEvaluator eval, FullEvaluator::Create(*this, comm));
  // The data's Gram product and row norms are the binary models' kernels, on
  // the same shard (float64: shared, not copied).
  const LinearModelObjective rows(Problem::kLogistic, shard_, lambda_);
  const auto product = [&](std::span<const double> v, std::span<double> out) { rows.AccumulateGramProduct(v, out); };
  CRPSGD_ASSIGN_OR_RETURN(const double eigenvalue,
                          GramLargestEigenvalue(product, features_, comm, eval.total_samples()));
  std::vector<double> sum{rows.SumSquaredRowNorms()};
  CRPSGD_RETURN_IF_ERROR(comm.AllreduceSum(sum, Traffic::kEvaluation));
  const double mean_sample = 0.5 * sum[0] / static_cast<double>(eval.total_samples()) + lambda_;
  return std::optional<SmoothnessConstants>(
      SmoothnessConstants{0.5 * eigenvalue + lambda_, mean_sample, "power-iteration"});
}

}  // namespace crpsgd
