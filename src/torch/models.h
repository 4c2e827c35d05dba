// The networks of crpsgd_torch, as torch::nn modules that map a batch
// [B, C, H, W] (or [B, features]) to logits [B, classes].
#pragma once

#include <torch/torch.h>

#include "crpsgd/torch.h"

namespace crpsgd::internal {

// `input_shape`: one sample's shape, [C, H, W] for images or [features].
torch::nn::AnyModule MakeModel(const TorchObjectiveOptions& options, const std::vector<std::int64_t>& input_shape);

}  // namespace crpsgd::internal
