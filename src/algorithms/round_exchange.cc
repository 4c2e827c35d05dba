#include "algorithms/round_exchange.h"

#include <algorithm>
#include <cmath>

#include "util/rng.h"

namespace crpsgd::internal {

template <class T>
Status RoundExchange::AverageAs(Communicator& comm, std::span<double> values, std::span<double> state,
                                std::vector<T>& wire, Traffic traffic) {
  wire.resize(values.size() + state.size());
  std::transform(values.begin(), values.end(), wire.begin(), [](double v) { return static_cast<T>(v); });
  std::transform(state.begin(), state.end(), wire.begin() + static_cast<std::ptrdiff_t>(values.size()),
                 [](double v) { return static_cast<T>(v); });
  CRPSGD_RETURN_IF_ERROR(comm.AllreduceMean(std::span<T>(wire), traffic));
  TakeMean(std::span<const T>(wire), values, state);
  return Status::OK();
}

template <class T>
void RoundExchange::TakeMean(std::span<const T> mean, std::span<double> values, std::span<double> state) {
  std::copy_n(mean.begin(), values.size(), values.begin());
  // The model's state rode behind.
  std::copy(mean.begin() + static_cast<std::ptrdiff_t>(values.size()), mean.end(), state.begin());
}

Status RoundExchange::AverageCompressed(Communicator& comm, std::span<double> values, std::span<double> state) {
  std::vector<double>& residual = *residual_;
  if (residual.size() != values.size()) residual.assign(values.size(), 0.0);
  message_.assign(values.begin(), values.end());
  for (std::size_t j = 0; j < values.size(); ++j) message_[j] += residual[j];
  sent_.resize(message_.size());  // what the wire makes of this worker's message
  CRPSGD_RETURN_IF_ERROR(comm.AllreduceMeanCompressed(message_, compression_, Traffic::kTraining, sent_));
  for (std::size_t j = 0; j < values.size(); ++j) residual[j] = (values[j] + residual[j]) - sent_[j];
  std::copy(message_.begin(), message_.end(), values.begin());
  if (state.empty()) return Status::OK();
  // The model's state (batch-norm statistics) is not a step that error
  // feedback corrects: in an int8 block a small variance beside a large one
  // rounds to 0 and the layer divides by it. It goes whole, in the round's
  // second all-reduce, on the model's wire.
  return MeanOnWire(comm, state, Traffic::kRoundPart, nullptr);
}

namespace {

// PyTorch's rule (min_compression_rate 2): a matrix is factored only where
// its factors are at most half its size.
bool WorthFactoring(const Objective::MatrixBlock& m, std::size_t rank) {
  return 2 * (m.rows + m.cols) * rank < m.rows * m.cols;
}

// The columns of a rows×rank matrix (row-major) made orthonormal, in order
// (Gram–Schmidt twice for accuracy); a column of zeros stays zero.
void Orthonormalize(double* a, std::size_t rows, std::size_t rank) {
  for (std::size_t c = 0; c < rank; ++c) {
    for (int pass = 0; pass < 2; ++pass) {
      for (std::size_t k = 0; k < c; ++k) {
        double dot = 0.0;
        for (std::size_t i = 0; i < rows; ++i) dot += a[i * rank + c] * a[i * rank + k];
        for (std::size_t i = 0; i < rows; ++i) a[i * rank + c] -= dot * a[i * rank + k];
      }
    }
    double norm = 0.0;
    for (std::size_t i = 0; i < rows; ++i) norm += a[i * rank + c] * a[i * rank + c];
    norm = std::sqrt(norm);
    if (norm > 0.0) {
      for (std::size_t i = 0; i < rows; ++i) a[i * rank + c] /= norm;
    }
  }
}

}  // namespace

Status RoundExchange::MeanOnWire(Communicator& comm, std::span<double> values, Traffic traffic,
                                 std::vector<double>* sent) {
  const bool float32 = wire_ == DataType::kFloat32;
  if (sent != nullptr) {
    sent->resize(values.size());
    std::transform(values.begin(), values.end(), sent->begin(),
                   [&](double v) { return float32 ? static_cast<double>(static_cast<float>(v)) : v; });
  }
  if (float32) return AverageAs(comm, values, {}, wire32_, traffic);
  return comm.AllreduceMean(values, traffic);
}

Status RoundExchange::MeanOfFactors(Communicator& comm, std::span<double> values, Traffic traffic,
                                    std::vector<double>* sent) {
  if (factor_wire_ == Compression::kNone) return MeanOnWire(comm, values, traffic, sent);
  // bf16 keeps 8 significant bits of any value, a batch-norm variance too
  // (int8's blocks would round a small one to 0 beside a large one).
  if (sent != nullptr) sent->resize(values.size());
  return comm.AllreduceMeanCompressed(values, factor_wire_, traffic,
                                      sent != nullptr ? std::span<double>(*sent) : std::span<double>());
}

namespace {

// out += A·B, row by row (outer×R, row-major), where A[a][k] is
// mat[a·a_stride + k·k_stride] and B (inner×R) is row-major: M·Q with
// strides (cols, 1), Mᵀ·P with (1, cols) for the rows×cols matrix M at `mat`.
void AppendProduct(const double* mat, std::size_t outer, std::size_t inner, std::size_t a_stride, std::size_t k_stride,
                   const double* b, std::size_t r, std::vector<double>& out) {
  for (std::size_t a = 0; a < outer; ++a) {
    for (std::size_t c = 0; c < r; ++c) {
      double v = 0.0;
      for (std::size_t k = 0; k < inner; ++k) v += mat[a * a_stride + k * k_stride] * b[k * r + c];
      out.push_back(v);
    }
  }
}

}  // namespace

std::vector<Objective::MatrixBlock> RoundExchange::FactoredBlocks(const Objective& f, const AlgorithmOptions& options) {
  std::vector<Objective::MatrixBlock> factored;
  if (options.compression != Compression::kPowerSgd) return factored;
  for (const Objective::MatrixBlock& m : f.matrix_blocks()) {
    if (WorthFactoring(m, static_cast<std::size_t>(std::max(options.compression_rank, 0)))) factored.push_back(m);
  }
  return factored;
}

void RoundExchange::StartPowerSgd(std::size_t n) {
  std::size_t q_values = 0;
  for (const Objective::MatrixBlock& m : factored_) q_values += m.cols * rank_;
  std::vector<double>& residual = *residual_;
  if (residual.size() != n + q_values) {  // the first round (a checkpoint brings both back)
    residual.assign(n + q_values, 0.0);
    Rng rng(DeriveSeed(seed_, RngStream::kPowerSgd));
    double* q = residual.data() + n;
    for (const Objective::MatrixBlock& m : factored_) {
      for (std::size_t k = 0; k < m.cols * rank_; ++k) q[k] = rng.Normal();
      Orthonormalize(q, m.cols, rank_);
      q += m.cols * rank_;
    }
  }
}

Status RoundExchange::AveragePowerSgd(Communicator& comm, std::span<double> values, std::span<double> state) {
  const std::size_t n = values.size(), r = rank_;
  StartPowerSgd(n);
  std::vector<double>& residual = *residual_;  // [error feedback (n) | each factored_ matrix's Q (cols×R)]
  message_.assign(values.begin(), values.end());
  for (std::size_t j = 0; j < n; ++j) message_[j] += residual[j];
  // First all-reduce: every P = M·Q, then the values outside them, then the state.
  std::vector<bool> in_matrix(n, false);
  factors_.clear();  // not step_, which may be `values`
  const double* q = residual.data() + n;
  for (const Objective::MatrixBlock& m : factored_) {
    AppendProduct(message_.data() + m.offset, m.rows, m.cols, m.cols, 1, q, r, factors_);  // P = M·Q
    std::fill(in_matrix.begin() + static_cast<std::ptrdiff_t>(m.offset),
              in_matrix.begin() + static_cast<std::ptrdiff_t>(m.offset + m.rows * m.cols), true);
    q += m.cols * r;
  }
  const std::size_t p_values = factors_.size();
  for (std::size_t j = 0; j < n; ++j) {
    if (!in_matrix[j]) factors_.push_back(message_[j]);
  }
  factors_.insert(factors_.end(), state.begin(), state.end());
  CRPSGD_RETURN_IF_ERROR(MeanOfFactors(comm, factors_, Traffic::kTraining, &sent_));
  for (std::size_t j = 0, k = p_values; j < n; ++j) {  // the values outside the matrices: their mean
    if (in_matrix[j]) continue;
    residual[j] = message_[j] - sent_[k];
    values[j] = factors_[k++];
  }
  std::copy(factors_.end() - static_cast<std::ptrdiff_t>(state.size()), factors_.end(), state.begin());
  // Second all-reduce: every Q = Mᵀ·P, P the mean orthonormalised.
  std::vector<double> qs;
  double* p = factors_.data();
  for (const Objective::MatrixBlock& m : factored_) {
    Orthonormalize(p, m.rows, r);
    AppendProduct(message_.data() + m.offset, m.cols, m.rows, 1, m.cols, p, r, qs);  // Q = Mᵀ·P
    p += m.rows * r;
  }
  if (!factored_.empty()) CRPSGD_RETURN_IF_ERROR(MeanOfFactors(comm, qs, Traffic::kRoundPart, nullptr));
  // The mean of each matrix is P·Qᵀ; what this worker's M lost, its residual.
  p = factors_.data();
  const double* mean_q = qs.data();
  for (const Objective::MatrixBlock& m : factored_) {
    for (std::size_t i = 0; i < m.rows; ++i) {
      for (std::size_t j = 0; j < m.cols; ++j) {
        double v = 0.0;
        for (std::size_t c = 0; c < r; ++c) v += p[i * r + c] * mean_q[j * r + c];
        const std::size_t at = m.offset + i * m.cols + j;
        residual[at] = message_[at] - v;
        values[at] = v;
      }
    }
    p += m.rows * r;
    mean_q += m.cols * r;
  }
  std::copy(qs.begin(), qs.end(), residual.begin() + static_cast<std::ptrdiff_t>(n));  // the next round's warm start
  return Status::OK();
}

std::uint64_t RoundExchange::MessageBytes(const Objective& f, bool with_state, const AlgorithmOptions& options) {
  const std::size_t n = f.dim(), wire = DataTypeSize(f.wire_type());
  const ModelState* state = with_state ? f.model_state() : nullptr;
  const std::size_t state_values = state != nullptr ? state->AveragedValues().size() : 0;
  std::size_t bytes = 0;
  switch (options.compression) {
    case Compression::kNone: bytes = (n + state_values) * wire; break;
    case Compression::kBf16:
    case Compression::kInt8:  // the state goes whole, on the model's wire
      bytes = EncodedBytes(options.compression, n) + state_values * wire;
      break;
    case Compression::kPowerSgd: {
      std::size_t values = n + state_values;  // each factored matrix: P and Q instead
      const std::size_t rank = static_cast<std::size_t>(std::max(options.compression_rank, 0));
      for (const Objective::MatrixBlock& m : FactoredBlocks(f, options)) {
        values = values - m.rows * m.cols + (m.rows + m.cols) * rank;
      }
      bytes = values * (options.compression_bf16_factors ? 2 : wire);
      break;
    }
  }
  return static_cast<std::uint64_t>(bytes);
}

Status RoundExchange::AverageModels(Communicator& comm, std::span<double> x, std::span<const double> start) {
  if (compression_ == Compression::kNone) return Average(comm, x);
  step_.resize(x.size());
  for (std::size_t j = 0; j < x.size(); ++j) step_[j] = start[j] - x[j];
  CRPSGD_RETURN_IF_ERROR(Average(comm, step_));
  for (std::size_t j = 0; j < x.size(); ++j) x[j] = start[j] - step_[j];
  return Status::OK();
}

Status RoundExchange::Average(Communicator& comm, std::span<double> values) {
  std::vector<double> state = state_ != nullptr ? state_->AveragedValues() : std::vector<double>();
  CRPSGD_RETURN_IF_ERROR(AverageApart(comm, values, state));
  if (!state.empty()) state_->SetAveragedValues(state);
  return Status::OK();
}

Status RoundExchange::AverageApart(Communicator& comm, std::span<double> values, std::span<double> state) {
  if (compression_ == Compression::kPowerSgd) return AveragePowerSgd(comm, values, state);
  if (compression_ != Compression::kNone) return AverageCompressed(comm, values, state);
  if (wire_ == DataType::kFloat64 && state.empty()) return comm.AllreduceMean(values, Traffic::kTraining);
  if (wire_ == DataType::kFloat32) return AverageAs(comm, values, state, wire32_);
  return AverageAs(comm, values, state, wire64_);
}

}  // namespace crpsgd::internal
