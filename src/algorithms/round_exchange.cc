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
  std::copy_n(wire.begin(), values.size(), values.begin());
  if (state_ != nullptr && !state.empty()) {
    state_->SetAveragedValues(
        std::vector<double>(wire.begin() + static_cast<std::ptrdiff_t>(values.size()), wire.end()));
  }
  return Status::OK();
}

Status RoundExchange::Average(Communicator& comm, std::span<double> values) {
  const std::vector<double> state = state_ != nullptr ? state_->AveragedValues() : std::vector<double>();
  if (wire_ == DataType::kFloat64 && state.empty()) return comm.AllreduceMean(values, Traffic::kTraining);
  if (wire_ == DataType::kFloat32) return AverageAs(comm, values, state, wire32_);
  return AverageAs(comm, values, state, wire64_);
}

}  // namespace crpsgd::internal
