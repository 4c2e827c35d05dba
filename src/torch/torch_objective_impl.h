// The inside of TorchObjective, shared by its parts: the network and its data
// (torch_objective.cc) and its state outside x (model_state.cc). Private to
// the torch target.
#pragma once

#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "crpsgd/torch.h"
#include "util/rng.h"

namespace crpsgd {

// One model, possibly shared by a training and a test objective: a built-in
// network or a TorchScript module, behind the calls the objective makes.
struct SharedModel {
  torch::nn::AnyModule module;                                 // a built-in network, or
  std::optional<torch::jit::Module> script;                    // a TorchScript module (--model)
  std::vector<torch::Tensor> parameters;                       // in the order of x
  std::vector<std::pair<std::string, torch::Tensor>> buffers;  // every buffer, named (checkpoints)
  std::vector<std::pair<std::string, torch::Tensor>> state;    // the floating-point ones (batch-norm statistics)
  std::vector<double> initial_x;                               // the seeded initialisation
  std::vector<torch::Tensor> initial_state;                    // copies of `state` as initialised
  std::size_t dim = 0;
  bool draws_random = false;  // forward in training draws random numbers (dropout)

  torch::Tensor Forward(const torch::Tensor& batch) {
    if (script) return script->forward({batch}).toTensor();
    return module.forward(batch);
  }
  void SetTraining(bool on) {
    if (script) {
      script->train(on);
    } else {
      module.ptr()->train(on);
    }
  }
};

struct TorchObjective::Impl {
  TorchObjectiveOptions options;
  std::shared_ptr<SharedModel> model;
  torch::Tensor inputs;  // [n, C, H, W] or [n, features]
  torch::Tensor labels;  // [n]: int64 class numbers, or float targets (mse; model's loss on real targets)
  mutable Rng augment_rng{0};
  // This worker's stream for a module's own random numbers (dropout), swapped
  // into LibTorch's global generator around each training forward pass, so
  // that in-process workers draw as separate processes do.
  mutable std::optional<at::Generator> generator;

  torch::Tensor TrainingForward(const torch::Tensor& batch) const {
    if (!generator) return Forward(batch);
    static std::mutex mutex;  // one worker at a time holds the global generator
    std::lock_guard lock(mutex);
    at::Generator global = at::detail::getDefaultCPUGenerator();
    const torch::Tensor saved = global.get_state();
    global.set_state(generator->get_state());
    torch::Tensor out;
    try {
      out = Forward(batch);
    } catch (...) {
      global.set_state(saved);
      throw;
    }
    generator->set_state(global.get_state());
    global.set_state(saved);
    return out;
  }

  // The loss of a batch's outputs, summed over its samples.
  torch::Tensor LossSum(const torch::Tensor& output, const torch::Tensor& target) const {
    namespace F = torch::nn::functional;
    switch (options.loss) {
      case TorchLoss::kCrossEntropy:
        return F::cross_entropy(output, target, F::CrossEntropyFuncOptions().reduction(torch::kSum));
      case TorchLoss::kMse:
        return F::mse_loss(output.reshape({-1}), target, F::MSELossFuncOptions().reduction(torch::kSum));
      case TorchLoss::kModel:
        return model->script->get_method("loss")({output, target}).toTensor().reshape({}) *
               static_cast<double>(output.size(0));
    }
    return {};
  }
  // Whether outputs are scored as classes (the largest output).
  bool Classifies() const { return labels.scalar_type() == torch::kInt64 && options.loss != TorchLoss::kMse; }

  void LoadParameters(std::span<const double> x) const {
    torch::NoGradGuard no_grad;
    std::size_t offset = 0;
    for (const torch::Tensor& p : model->parameters) {
      const auto source = torch::from_blob(const_cast<double*>(x.data() + offset), p.sizes(), torch::kFloat64);
      p.copy_(source);  // converts to the model's dtype
      offset += static_cast<std::size_t>(p.numel());
    }
  }

  torch::Tensor Indices(std::span<const std::size_t> samples, std::size_t begin, std::size_t end) const {
    std::vector<std::int64_t> idx(samples.begin() + static_cast<std::ptrdiff_t>(begin),
                                  samples.begin() + static_cast<std::ptrdiff_t>(end));
    return torch::tensor(idx, torch::kInt64);
  }

  // The standard CIFAR augmentation, seeded: pad 4, crop back at a random
  // offset, flip horizontally with probability ½.
  torch::Tensor Augment(const torch::Tensor& batch) const {
    namespace F = torch::nn::functional;
    const auto h = batch.size(2), w = batch.size(3);
    const torch::Tensor padded = F::pad(batch, F::PadFuncOptions({4, 4, 4, 4}));
    std::vector<torch::Tensor> images;
    images.reserve(static_cast<std::size_t>(batch.size(0)));
    for (std::int64_t i = 0; i < batch.size(0); ++i) {
      const auto dy = static_cast<std::int64_t>(augment_rng.UniformIndex(9));
      const auto dx = static_cast<std::int64_t>(augment_rng.UniformIndex(9));
      torch::Tensor image = padded[i].narrow(1, dy, h).narrow(2, dx, w);
      if (augment_rng.UniformIndex(2) == 1) image = image.flip({2});
      images.push_back(image);
    }
    return torch::stack(images);
  }

  torch::Tensor Forward(const torch::Tensor& batch) const { return model->Forward(batch); }
};

// The network's batch-norm statistics (and augmentation stream): the state
// outside x that Train and local SGD keep in step across workers.
class TorchObjective::State final : public ModelState {
 public:
  explicit State(Impl* impl) : impl_(impl) {}
  void RestoreInitial() override;
  Status Synchronize(Communicator& comm) override;
  std::vector<double> AveragedValues() const override;
  void SetAveragedValues(std::span<const double> values) override;
  // Precise batch norm: every batch-norm layer's statistics become those of x
  // on `samples` (all of them at once, as one population), then are averaged
  // over workers.
  Status Recalibrate(std::span<const double> x, std::span<const std::size_t> samples, Communicator& comm) override;
  // Every buffer of the network (name, then its bytes) and the augmentation
  // stream: what the next rounds read besides x.
  std::string SaveState() const override;
  Status LoadState(std::string_view saved) override;

 private:
  Impl* impl_;
};

}  // namespace crpsgd
