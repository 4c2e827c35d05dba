// Small shared test problems (ensmallen's problems/): tiny data sets with
// known structure, IDX byte builders, and a central finite-difference check.
#pragma once

#include <cmath>
#include <cstdint>
#include <functional>
#include <numeric>
#include <span>
#include <string>
#include <vector>

#include "crpsgd/dataset.h"
#include "crpsgd/objective.h"
#include "crpsgd/round_record.h"

namespace crpsgd::testing {

// Keeps every round's record (an observer for Train's options).
class Recorder final : public RoundObserver {
 public:
  Status OnRound(const RoundRecord& record, std::span<const double>) override {
    records.push_back(record);
    return Status::OK();
  }
  std::vector<RoundRecord> records;
};

// Dense synthetic data (regression or ±1 labels), deterministic.
inline Dataset SmallDense(std::size_t n, std::size_t d, SyntheticTask task, std::uint64_t seed = 7) {
  SyntheticOptions options;
  options.samples = n;
  options.features = d;
  options.task = task;
  options.seed = seed;
  return MakeSynthetic(options).value();
}

// The same data as a CSR matrix, with every third entry dropped to make it sparse.
inline Dataset ToSparse(const Dataset& dense) {
  Dataset out;
  out.is_sparse = true;
  out.labels = dense.labels;
  std::vector<Eigen::Triplet<double, std::int64_t>> triplets;
  for (Eigen::Index i = 0; i < dense.dense.rows(); ++i) {
    for (Eigen::Index j = 0; j < dense.dense.cols(); ++j) {
      if ((i + j) % 3 != 0) triplets.emplace_back(i, j, dense.dense(i, j));
    }
  }
  out.sparse.resize(dense.dense.rows(), dense.dense.cols());
  out.sparse.setFromTriplets(triplets.begin(), triplets.end());
  return out;
}

inline std::vector<std::size_t> AllIndices(std::size_t n) {
  std::vector<std::size_t> v(n);
  std::iota(v.begin(), v.end(), std::size_t{0});
  return v;
}

// Central differences of x ↦ f.Loss(x, samples) against the gradients of
// AccumulateGradient and of AddGradient: the largest absolute difference,
// relative to max(1, ‖g‖_∞); and AccumulateGradient's value against Loss.
inline double GradientError(const Objective& f, std::vector<double> x, std::span<const std::size_t> samples,
                            double h = 1e-6) {
  std::vector<double> analytic(f.dim(), 0.0);
  const double value = f.AccumulateGradient(x, samples, analytic);
  // AddGradient is the call training makes (linear models skip the loss
  // there): it must give the same gradient, checked below against the same
  // finite differences.
  std::vector<double> added(f.dim(), 0.0);
  f.AddGradient(x, samples, added);
  const double loss = f.Loss(x, samples);
  double worst = std::abs(value - loss) / std::max(1.0, std::abs(loss));
  double scale = 1.0;
  for (double g : analytic) scale = std::max(scale, std::abs(g));
  for (std::size_t j = 0; j < x.size(); ++j) {
    const double saved = x[j];
    x[j] = saved + h;
    const double plus = f.Loss(x, samples);
    x[j] = saved - h;
    const double minus = f.Loss(x, samples);
    x[j] = saved;
    const double numeric = (plus - minus) / (2 * h);
    worst = std::max(worst, std::abs(numeric - analytic[j]) / scale);
    worst = std::max(worst, std::abs(numeric - added[j]) / scale);
  }
  return worst;
}

// An IDX file's bytes: magic, big-endian dimensions, payload.
inline std::string IdxBytes(const std::vector<std::uint32_t>& dims, const std::vector<std::uint8_t>& payload,
                            std::uint8_t type = 0x08) {
  std::string s = {0, 0, static_cast<char>(type), static_cast<char>(dims.size())};
  for (std::uint32_t d : dims) {
    for (int shift = 24; shift >= 0; shift -= 8) s.push_back(static_cast<char>((d >> shift) & 0xFF));
  }
  s.append(payload.begin(), payload.end());
  return s;
}

// Least squares at x = 0: the per-sample gradients are g_i = −y_i a_i, so
// tr Σ (their variance about the mean) and ‖∇f(0)‖² are known exactly. The
// noise estimators' tests (--rho auto, auto) check against them.
struct KnownNoise {
  double trace = 0.0, grad_norm2 = 0.0;
};
inline KnownNoise LeastSquaresNoiseAtZero(const Dataset& data) {
  const std::size_t n = data.num_samples(), d = data.num_features();
  std::vector<double> mean(d, 0.0);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < d; ++j) mean[j] -= data.labels[i] * data.dense(i, j) / static_cast<double>(n);
  }
  KnownNoise noise;
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < d; ++j) {
      const double e = -data.labels[i] * data.dense(i, j) - mean[j];
      noise.trace += e * e / static_cast<double>(n);
    }
  }
  for (double m : mean) noise.grad_norm2 += m * m;
  return noise;
}

// The mean of independent draws and its standard error.
struct SampleMean {
  double mean = 0.0, standard_error = 0.0;
};
inline SampleMean MeanOf(const std::vector<double>& draws) {
  const double count = static_cast<double>(draws.size());
  SampleMean s;
  s.mean = std::accumulate(draws.begin(), draws.end(), 0.0) / count;
  double var = 0.0;
  for (double x : draws) var += (x - s.mean) * (x - s.mean) / (count - 1.0);
  s.standard_error = std::sqrt(var / count);
  return s;
}

}  // namespace crpsgd::testing
