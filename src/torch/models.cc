#include "torch/models.h"

namespace crpsgd::internal {
namespace {

namespace F = torch::nn::functional;

struct FlattenLinearImpl : torch::nn::Module {
  FlattenLinearImpl(std::int64_t in, std::int64_t classes)
      : fc(register_module("fc", torch::nn::Linear(in, classes))) {}
  torch::Tensor forward(torch::Tensor x) { return fc(x.flatten(1)); }
  torch::nn::Linear fc;
};
TORCH_MODULE(FlattenLinear);

struct MlpImpl : torch::nn::Module {
  MlpImpl(std::int64_t in, std::int64_t hidden, std::int64_t classes)
      : fc1(register_module("fc1", torch::nn::Linear(in, hidden))),
        fc2(register_module("fc2", torch::nn::Linear(hidden, classes))) {}
  torch::Tensor forward(torch::Tensor x) { return fc2(torch::relu(fc1(x.flatten(1)))); }
  torch::nn::Linear fc1, fc2;
};
TORCH_MODULE(Mlp);

torch::nn::Conv2d Conv3x3(std::int64_t in, std::int64_t out, std::int64_t stride) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).stride(stride).padding(1).bias(false));
}

// A basic block: conv-bn-relu-conv-bn plus the shortcut. When the shape
// changes, the shortcut is "option A" of the paper: subsample by 2 and pad the
// new channels with zeros, which adds no parameters (0.27 M in all).
struct BasicBlockImpl : torch::nn::Module {
  BasicBlockImpl(std::int64_t in, std::int64_t out, std::int64_t stride)
      : conv1(register_module("conv1", Conv3x3(in, out, stride))),
        bn1(register_module("bn1", torch::nn::BatchNorm2d(out))),
        conv2(register_module("conv2", Conv3x3(out, out, 1))),
        bn2(register_module("bn2", torch::nn::BatchNorm2d(out))),
        downsample(stride != 1 || in != out),
        pad((out - in) / 2) {}

  torch::Tensor forward(torch::Tensor x) {
    torch::Tensor y = torch::relu(bn1(conv1(x)));
    y = bn2(conv2(y));
    torch::Tensor shortcut = x;
    if (downsample) {
      using torch::indexing::Slice;
      shortcut = x.index({Slice(), Slice(), Slice(torch::indexing::None, torch::indexing::None, 2),
                          Slice(torch::indexing::None, torch::indexing::None, 2)});
      shortcut = F::pad(shortcut, F::PadFuncOptions({0, 0, 0, 0, pad, pad}));
    }
    return torch::relu(y + shortcut);
  }

  torch::nn::Conv2d conv1;
  torch::nn::BatchNorm2d bn1;
  torch::nn::Conv2d conv2;
  torch::nn::BatchNorm2d bn2;
  bool downsample;
  std::int64_t pad;
};
TORCH_MODULE(BasicBlock);

struct ResNet20Impl : torch::nn::Module {
  ResNet20Impl(std::int64_t channels, std::int64_t classes)
      : conv(register_module("conv", Conv3x3(channels, 16, 1))),
        bn(register_module("bn", torch::nn::BatchNorm2d(16))),
        fc(register_module("fc", torch::nn::Linear(64, classes))) {
    std::int64_t in = 16;
    for (std::int64_t stage = 0; stage < 3; ++stage) {
      const std::int64_t out = 16 << stage;
      for (int block = 0; block < 3; ++block) {
        const std::int64_t stride = (stage > 0 && block == 0) ? 2 : 1;
        blocks->push_back(BasicBlock(in, out, stride));
        in = out;
      }
    }
    register_module("blocks", blocks);
    for (auto& module : modules(/*include_self=*/false)) {
      if (auto* c = module->as<torch::nn::Conv2d>()) torch::nn::init::kaiming_normal_(c->weight, 0.0, torch::kFanOut);
    }
  }

  torch::Tensor forward(torch::Tensor x) {
    x = torch::relu(bn(conv(x)));
    x = blocks->forward(x);
    x = F::adaptive_avg_pool2d(x, F::AdaptiveAvgPool2dFuncOptions(1)).flatten(1);
    return fc(x);
  }

  torch::nn::Conv2d conv;
  torch::nn::BatchNorm2d bn;
  torch::nn::Sequential blocks;
  torch::nn::Linear fc;
};
TORCH_MODULE(ResNet20);

}  // namespace

torch::nn::AnyModule MakeModel(const TorchObjectiveOptions& options, const std::vector<std::int64_t>& input_shape) {
  std::int64_t features = 1;
  for (std::int64_t d : input_shape) features *= d;
  const auto classes = static_cast<std::int64_t>(options.num_classes);
  switch (options.model) {
    case TorchModel::kSoftmax: return torch::nn::AnyModule(FlattenLinear(features, classes));
    case TorchModel::kMlp:
      return torch::nn::AnyModule(Mlp(features, static_cast<std::int64_t>(options.hidden), classes));
    case TorchModel::kResNet20: return torch::nn::AnyModule(ResNet20(input_shape.at(0), classes));
  }
  return {};
}

}  // namespace crpsgd::internal
