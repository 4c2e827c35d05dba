#include <vector>

#include "crpsgd/objective.h"

namespace crpsgd {

double Objective::Loss(std::span<const double> x, std::span<const std::size_t> samples) const {
  std::vector<double> scratch(dim(), 0.0);
  return AccumulateGradient(x, samples, scratch);
}

double ProximalObjective::AccumulateGradient(std::span<const double> x, std::span<const std::size_t> samples,
                                             std::span<double> grad_sum) const {
  double loss = base_.AccumulateGradient(x, samples, grad_sum);
  // Σ_i θ(x − y): the proximal term's gradient, once per sample, no SFO of its own.
  const double weight = theta_ * static_cast<double>(samples.size());
  double sq = 0.0;
  for (std::size_t j = 0; j < x.size(); ++j) {
    const double diff = x[j] - center_[j];
    grad_sum[j] += weight * diff;
    sq += diff * diff;
  }
  return loss + 0.5 * weight * sq;
}

void ProximalObjective::AddGradient(std::span<const double> x, std::span<const std::size_t> samples,
                                    std::span<double> grad_sum) const {
  base_.AddGradient(x, samples, grad_sum);
  const double weight = theta_ * static_cast<double>(samples.size());
  for (std::size_t j = 0; j < x.size(); ++j) grad_sum[j] += weight * (x[j] - center_[j]);
}

std::optional<double> ProximalObjective::SmoothnessBound() const {
  if (auto l = base_.SmoothnessBound()) return *l + theta_;
  return std::nullopt;
}

}  // namespace crpsgd
