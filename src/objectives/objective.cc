#include <vector>

#include "crpsgd/objective.h"

namespace crpsgd {

double Objective::Loss(std::span<const double> x, std::span<const std::size_t> samples) const {
  std::vector<double> scratch(dim(), 0.0);
  return AccumulateGradient(x, samples, scratch);
}

double ProximalObjective::AddProximalTerm(std::span<const double> x, std::size_t count,
                                          std::span<double> grad_sum) const {
  // Σ_i θ(x − y): the proximal term's gradient, once per sample, no SFO of its own.
  const double weight = theta_ * static_cast<double>(count);
  double sq = 0.0;
  for (std::size_t j = 0; j < x.size(); ++j) {
    const double diff = x[j] - center_[j];
    grad_sum[j] += weight * diff;
    sq += diff * diff;
  }
  return 0.5 * weight * sq;
}

double ProximalObjective::AccumulateGradient(std::span<const double> x, std::span<const std::size_t> samples,
                                             std::span<double> grad_sum) const {
  const double loss = base_.AccumulateGradient(x, samples, grad_sum);
  return loss + AddProximalTerm(x, samples.size(), grad_sum);
}

void ProximalObjective::AddGradient(std::span<const double> x, std::span<const std::size_t> samples,
                                    std::span<double> grad_sum) const {
  base_.AddGradient(x, samples, grad_sum);
  AddProximalTerm(x, samples.size(), grad_sum);
}

std::optional<double> ProximalObjective::SmoothnessBound() const {
  if (auto l = base_.SmoothnessBound()) return *l + theta_;
  return std::nullopt;
}

}  // namespace crpsgd
