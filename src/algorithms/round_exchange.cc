#include "algorithms/round_exchange.h"

#include <algorithm>

namespace crpsgd::internal {

template <class T>
Status RoundExchange::AverageAs(Communicator& comm, std::span<double> values, std::span<const double> state,
                                std::vector<T>& wire) {
  wire.resize(values.size() + state.size());
  std::transform(values.begin(), values.end(), wire.begin(), [](double v) { return static_cast<T>(v); });
  std::transform(state.begin(), state.end(), wire.begin() + static_cast<std::ptrdiff_t>(values.size()),
                 [](double v) { return static_cast<T>(v); });
  CRPSGD_RETURN_IF_ERROR(comm.AllreduceMean(std::span<T>(wire), Traffic::kTraining));
  TakeMean(std::span<const T>(wire), values);
  return Status::OK();
}

template <class T>
void RoundExchange::TakeMean(std::span<const T> mean, std::span<double> values) {
  std::copy_n(mean.begin(), values.size(), values.begin());
  if (state_ != nullptr && mean.size() > values.size()) {  // the model's state rode behind
    state_->SetAveragedValues(
        std::vector<double>(mean.begin() + static_cast<std::ptrdiff_t>(values.size()), mean.end()));
  }
}

Status RoundExchange::AverageCompressed(Communicator& comm, std::span<double> values, std::span<const double> state) {
  std::vector<double>& residual = *residual_;
  if (residual.size() != values.size()) residual.assign(values.size(), 0.0);
  message_.assign(values.begin(), values.end());
  for (std::size_t j = 0; j < values.size(); ++j) message_[j] += residual[j];
  message_.insert(message_.end(), state.begin(), state.end());
  sent_.resize(message_.size());  // what the wire makes of this worker's message
  CRPSGD_RETURN_IF_ERROR(comm.AllreduceMeanCompressed(message_, compression_, Traffic::kTraining, sent_));
  for (std::size_t j = 0; j < values.size(); ++j) residual[j] = (values[j] + residual[j]) - sent_[j];
  TakeMean(std::span<const double>(message_), values);
  return Status::OK();
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
  const std::vector<double> state = state_ != nullptr ? state_->AveragedValues() : std::vector<double>();
  if (compression_ != Compression::kNone) return AverageCompressed(comm, values, state);
  if (wire_ == DataType::kFloat64 && state.empty()) return comm.AllreduceMean(values, Traffic::kTraining);
  if (wire_ == DataType::kFloat32) return AverageAs(comm, values, state, wire32_);
  return AverageAs(comm, values, state, wire64_);
}

}  // namespace crpsgd::internal
