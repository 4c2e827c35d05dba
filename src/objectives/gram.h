// The power iteration on the data's Gram matrix (1/n) Σ_i a_i a_iᵀ over all
// shards, shared by the linear models' smoothness estimates.
#pragma once

#include <cstddef>
#include <functional>
#include <span>

#include "crpsgd/communicator.h"
#include "crpsgd/status.h"

namespace crpsgd {

// out += Σ_{local i} a_i (a_i · v), for v and out of the features' length.
using GramProduct = std::function<void(std::span<const double> v, std::span<double> out)>;

// λ_max of (1/n) Σ_i a_i a_iᵀ over all workers' shards (n = total_samples),
// by a deterministic power iteration (evaluation traffic). Collective.
Result<double> GramLargestEigenvalue(const GramProduct& product, std::size_t d, Communicator& comm,
                                     std::size_t total_samples);

}  // namespace crpsgd
