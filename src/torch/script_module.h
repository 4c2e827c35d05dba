// TorchScript modules (--model FILE.pt) and tensor files (--format tensors):
// loading them with errors that name the file and say what to do. Internal
// to crpsgd_torch.
#pragma once

#include <filesystem>
#include <functional>
#include <span>
#include <string>

#include <torch/script.h>

#include "crpsgd/status.h"

namespace crpsgd::internal {

// torch::jit::load, refusing what would train wrongly: a file that is not a
// TorchScript module, one without forward, and a traced module whose batch
// norm or dropout has its training flag baked in (eval() would do nothing).
Result<torch::jit::Module> LoadScriptModule(const std::filesystem::path& path);

// Whether forward may draw random numbers (dropout, rand, bernoulli, normal,
// ...) from LibTorch's global generator, which in-process workers share.
bool DrawsRandomNumbers(const torch::jit::Module& module);

// Precise batch norm for a TorchScript module, whose momentum is a constant
// of the scripted BatchNorm (it cannot be set per piece as for the built-in
// networks): every batch-norm submodule's statistics become the size-weighted
// means of those of the pieces. `forward_piece(k)` runs piece k (of
// piece_sizes[k] samples) through the module, whose batch norms are then in
// training mode and everything else (dropout) in eval mode.
Status RecalibrateScriptBatchNorm(torch::jit::Module& module, std::span<const std::size_t> piece_sizes,
                                  const std::function<void(std::size_t piece)>& forward_piece);

// "[2, 10]"
std::string ShapeText(const torch::Tensor& t);
// The line of a LibTorch or TorchScript error that says what went wrong
// (without the backtrace, the graph or the module's code around it).
std::string ErrorSummary(const std::exception& e);

}  // namespace crpsgd::internal
