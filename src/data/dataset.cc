#include <algorithm>
#include <cmath>
#include <numeric>

#include "crpsgd/dataset.h"
#include "util/check.h"
#include "util/huge_pages.h"
#include "util/rng.h"

namespace crpsgd {

Dataset::Dataset(Dataset&& other) noexcept { *this = std::move(other); }

Dataset& Dataset::operator=(Dataset&& other) noexcept {
  is_sparse = other.is_sparse;
  dense = std::move(other.dense);
  sparse.swap(other.sparse);
  other.sparse.resize(0, 0);
  labels = std::move(other.labels);
  source = std::move(other.source);
  image_shape = std::move(other.image_shape);
  return *this;
}

void ResizeDense(Dataset& data, std::size_t rows, std::size_t cols) {
  data.dense.resize(static_cast<Eigen::Index>(rows), static_cast<Eigen::Index>(cols));
  AdviseHugePages(data.dense.data(), rows * cols * sizeof(double));
}

Dataset SelectRows(const Dataset& data, std::span<const std::size_t> rows) {
  Dataset out;
  out.is_sparse = data.is_sparse;
  out.source = data.source;
  out.image_shape = data.image_shape;
  out.labels.reserve(rows.size());
  for (std::size_t r : rows) out.labels.push_back(data.labels[r]);
  if (!data.is_sparse) {
    ResizeDense(out, rows.size(), static_cast<std::size_t>(data.dense.cols()));
    for (std::size_t i = 0; i < rows.size(); ++i) out.dense.row(i) = data.dense.row(rows[i]);
    return out;
  }
  std::vector<std::int64_t> outer(rows.size() + 1, 0);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const auto r = static_cast<Eigen::Index>(rows[i]);
    outer[i + 1] = outer[i] + (data.sparse.outerIndexPtr()[r + 1] - data.sparse.outerIndexPtr()[r]);
  }
  std::vector<std::int64_t> inner(outer.back());
  std::vector<double> values(outer.back());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const auto r = static_cast<Eigen::Index>(rows[i]);
    const std::int64_t from = data.sparse.outerIndexPtr()[r];
    const std::int64_t len = outer[i + 1] - outer[i];
    std::copy_n(data.sparse.innerIndexPtr() + from, len, inner.begin() + outer[i]);
    std::copy_n(data.sparse.valuePtr() + from, len, values.begin() + outer[i]);
  }
  out.sparse = Eigen::Map<const SparseMatrix>(static_cast<Eigen::Index>(rows.size()), data.sparse.cols(), outer.back(),
                                              outer.data(), inner.data(), values.data());
  return out;
}

void AppendBiasFeature(Dataset& data, double bias) {
  if (bias == 0.0) return;
  if (!data.is_sparse) {
    data.dense.conservativeResize(Eigen::NoChange, data.dense.cols() + 1);
    data.dense.col(data.dense.cols() - 1).setConstant(bias);
    return;
  }
  const Eigen::Index rows = data.sparse.rows(), cols = data.sparse.cols();
  std::vector<Eigen::Triplet<double, std::int64_t>> triplets;
  triplets.reserve(data.sparse.nonZeros() + rows);
  for (Eigen::Index r = 0; r < rows; ++r) {
    for (SparseMatrix::InnerIterator it(data.sparse, r); it; ++it) triplets.emplace_back(r, it.col(), it.value());
    triplets.emplace_back(r, cols, bias);
  }
  data.sparse.resize(rows, cols + 1);
  data.sparse.setFromTriplets(triplets.begin(), triplets.end());
}

std::vector<std::size_t> ShardIndices(std::size_t n, int rank, int size, std::uint64_t seed) {
  CRPSGD_CHECK(size >= 1 && rank >= 0 && rank < size);
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  Rng rng(DeriveSeed(seed, RngStream::kShard));
  rng.Shuffle(order);
  const std::size_t begin = n * rank / size, end = n * (rank + 1) / size;
  std::vector<std::size_t> mine(order.begin() + begin, order.begin() + end);
  std::sort(mine.begin(), mine.end());  // keep file order inside a shard: better locality
  return mine;
}

Result<Dataset> MakeSynthetic(const SyntheticOptions& options) {
  if (options.samples < 1) return Status::InvalidArgument("--synthetic-samples must be >= 1");
  if (options.features < 1) return Status::InvalidArgument("--synthetic-features must be >= 1");
  if (!(options.noise >= 0.0)) return Status::InvalidArgument("--synthetic-noise must be >= 0");
  if (!(options.condition_number >= 1.0) || !std::isfinite(options.condition_number)) {
    return Status::InvalidArgument("synthetic condition number must be finite and >= 1");
  }
  Rng rng(DeriveSeed(options.seed, RngStream::kSynthetic));
  const auto n = static_cast<Eigen::Index>(options.samples), d = static_cast<Eigen::Index>(options.features);
  Eigen::VectorXd x_true(d);
  const double scale = 1.0 / std::sqrt(static_cast<double>(d));
  for (Eigen::Index j = 0; j < d; ++j) x_true[j] = rng.Normal() * scale;
  Dataset data;
  data.source = "synthetic";
  ResizeDense(data, options.samples, options.features);
  data.labels.resize(options.samples);
  Eigen::VectorXd stddev = Eigen::VectorXd::Ones(d);
  for (Eigen::Index j = 1; j < d; ++j) {
    stddev[j] = std::pow(options.condition_number, -0.5 * static_cast<double>(j) / static_cast<double>(d - 1));
  }
  for (Eigen::Index i = 0; i < n; ++i) {
    for (Eigen::Index j = 0; j < d; ++j) data.dense(i, j) = stddev[j] * rng.Normal();
    const double z = data.dense.row(i).dot(x_true) + options.noise * rng.Normal();
    data.labels[i] = options.task == SyntheticTask::kRegression ? z : (z >= 0 ? 1.0 : -1.0);
  }
  return data;
}

}  // namespace crpsgd

namespace crpsgd {

FeatureScaling FeatureStatistics(const Dataset& data, bool center) {
  const std::size_t d = data.num_features();
  const double n = static_cast<double>(std::max<std::size_t>(1, data.num_samples()));
  std::vector<double> sum(d, 0.0), sum2(d, 0.0);
  if (data.is_sparse) {
    for (Eigen::Index r = 0; r < data.sparse.rows(); ++r) {
      for (SparseMatrix::InnerIterator it(data.sparse, r); it; ++it) {
        sum[static_cast<std::size_t>(it.col())] += it.value();
        sum2[static_cast<std::size_t>(it.col())] += it.value() * it.value();
      }
    }
  } else {
    for (Eigen::Index r = 0; r < data.dense.rows(); ++r) {
      for (std::size_t j = 0; j < d; ++j) {
        const double v = data.dense(r, static_cast<Eigen::Index>(j));
        sum[j] += v;
        sum2[j] += v * v;
      }
    }
  }
  FeatureScaling scaling{std::vector<double>(d, 0.0), std::vector<double>(d, 1.0)};
  for (std::size_t j = 0; j < d; ++j) {
    const double mean = sum[j] / n;
    const double variance = std::max(0.0, sum2[j] / n - mean * mean);
    const double stddev = std::sqrt(variance);
    scaling.scale[j] = stddev > 1e-12 * std::max(1.0, std::abs(mean)) ? stddev : 1.0;
    if (center && !data.is_sparse) scaling.mean[j] = mean;
  }
  return scaling;
}

void MakeDense(Dataset& data) {
  if (!data.is_sparse) return;
  const SparseMatrix sparse = std::move(data.sparse);
  ResizeDense(data, static_cast<std::size_t>(sparse.rows()), static_cast<std::size_t>(sparse.cols()));
  data.dense = sparse;
  data.sparse = SparseMatrix();
  data.is_sparse = false;
}

void ApplyScaling(Dataset& data, const FeatureScaling& scaling) {
  if (data.is_sparse) {
    for (Eigen::Index r = 0; r < data.sparse.outerSize(); ++r) {
      for (SparseMatrix::InnerIterator it(data.sparse, r); it; ++it) it.valueRef() /= scaling.scale[it.col()];
    }
    return;
  }
  const std::size_t d = data.num_features();
  for (Eigen::Index r = 0; r < data.dense.rows(); ++r) {
    double* row = data.dense.data() + static_cast<std::size_t>(r) * d;
    for (std::size_t j = 0; j < d; ++j) row[j] = (row[j] - scaling.mean[j]) / scaling.scale[j];
  }
}

std::vector<double> UnscaleWeights(std::span<const double> x, const FeatureScaling& scaling, std::size_t columns,
                                   double bias) {
  std::vector<double> raw(x.begin(), x.end());
  const std::size_t d = scaling.scale.size();
  std::vector<double> shift(columns, 0.0);
  for (std::size_t j = 0; j < d; ++j) {
    for (std::size_t k = 0; k < columns; ++k) {
      raw[j * columns + k] = x[j * columns + k] / scaling.scale[j];
      shift[k] += raw[j * columns + k] * scaling.mean[j];
    }
  }
  if (bias != 0.0) {
    for (std::size_t k = 0; k < columns; ++k) raw[d * columns + k] -= shift[k] / bias;
  }
  return raw;
}

}  // namespace crpsgd
