#include "torch/script_module.h"

#include <optional>
#include <vector>

#include <torch/csrc/jit/passes/inliner.h>

namespace crpsgd::internal {
namespace {

// Where a traced module has a constant where a scripted one reads
// self.training: batch_norm's `training` (argument 5) or dropout's `train`
// (argument 2). Returns the operator's name, or nullopt.
std::optional<std::string> BakedTrainingFlag(const torch::jit::Block& block) {
  for (const torch::jit::Node* node : block.nodes()) {
    for (const torch::jit::Block* inner : node->blocks()) {
      if (auto found = BakedTrainingFlag(*inner)) return found;
    }
    const std::string kind = node->kind().toQualString();
    std::size_t flag = 0;
    if (kind == "aten::batch_norm" || kind == "aten::instance_norm") {
      flag = 5;
    } else if (kind == "aten::dropout" || kind == "aten::feature_dropout" || kind == "aten::alpha_dropout" ||
               kind == "aten::feature_alpha_dropout") {
      flag = 2;
    } else {
      continue;
    }
    if (node->inputs().size() > flag && node->input(flag)->node()->kind() == c10::prim::Constant) return kind;
  }
  return std::nullopt;
}

// One batch-norm submodule during a recalibration.
struct ScriptBatchNorm {
  torch::jit::Module module;
  torch::Tensor mean, var, tracked;  // its buffers (tracked: undefined when it has none)
  double factor = 1.0;               // the share of a batch's statistics one training step puts into the running ones
  torch::Tensor sum_mean, sum_var, tracked_before;  // the pieces' weighted statistics; tracked as it was
};

std::optional<torch::Tensor> TensorAttribute(const torch::jit::Module& m, const char* name) {
  if (!m.hasattr(name)) return std::nullopt;
  const c10::IValue value = m.attr(name);
  if (!value.isTensor()) return std::nullopt;
  return value.toTensor();
}

void CollectKinds(const torch::jit::Block& block, std::vector<std::string>& kinds) {
  for (const torch::jit::Node* node : block.nodes()) {
    for (const torch::jit::Block* inner : node->blocks()) CollectKinds(*inner, kinds);
    kinds.push_back(node->kind().toQualString());
  }
}

std::shared_ptr<torch::jit::Graph> InlinedForward(const torch::jit::Module& module) {
  std::shared_ptr<torch::jit::Graph> graph = module.get_method("forward").graph()->copy();
  torch::jit::Inline(*graph);
  return graph;
}

}  // namespace

bool DrawsRandomNumbers(const torch::jit::Module& module) {
  std::vector<std::string> kinds;
  CollectKinds(*InlinedForward(module)->block(), kinds);
  for (const std::string& kind : kinds) {
    if (!kind.starts_with("aten::")) continue;
    for (const char* random : {"dropout", "rand", "bernoulli", "normal", "multinomial", "uniform", "poisson",
                               "exponential", "geometric", "cauchy", "log_normal"}) {
      if (kind.find(random) != std::string::npos) return true;
    }
  }
  return false;
}

std::string ErrorSummary(const std::exception& e) {
  const auto* torch_error = dynamic_cast<const c10::Error*>(&e);
  const std::string text = torch_error != nullptr ? torch_error->what_without_backtrace() : e.what();
  // The TorchScript interpreter's message ends with the Python-style error
  // after a traceback of the module's code: that last error is the cause.
  const auto cause = text.rfind("Error: ");
  if (cause != std::string::npos) {
    auto begin = text.rfind('\n', cause);
    begin = begin == std::string::npos ? 0 : begin + 1;
    const auto end = text.find('\n', cause);
    return text.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
  }
  const auto end = text.find('\n');
  return end == std::string::npos ? text : text.substr(0, end);
}

std::string ShapeText(const torch::Tensor& t) {
  std::string text = "[";
  for (std::int64_t i = 0; i < t.dim(); ++i) text += (i ? ", " : "") + std::to_string(t.size(i));
  return text + "]";
}

Result<torch::jit::Module> LoadScriptModule(const std::filesystem::path& path) {
  const std::string name = path.string();
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return Status::NotFound(name + ": no such file (--model)");
  torch::jit::Module module;
  try {
    module = torch::jit::load(name);
  } catch (const std::exception& e) {
    return Status::InvalidArgument(name +
                                   ": not a TorchScript module (write one in Python with "
                                   "torch.jit.script(model).save(FILE)): " +
                                   ErrorSummary(e));
  }
  const auto forward = module.find_method("forward");
  if (!forward) return Status::InvalidArgument(name + ": the TorchScript module has no forward method");
  const std::shared_ptr<torch::jit::Graph> graph = InlinedForward(module);
  if (const auto baked = BakedTrainingFlag(*graph->block())) {
    return Status::InvalidArgument(name + ": a traced module (torch.jit.trace): its " + *baked +
                                   " has the training flag baked in, so eval() would not switch it; "
                                   "use torch.jit.script(model) instead");
  }
  return module;
}

Status RecalibrateScriptBatchNorm(torch::jit::Module& module, std::span<const std::size_t> piece_sizes,
                                  const std::function<void(std::size_t)>& forward_piece) {
  std::vector<ScriptBatchNorm> norms;
  for (const torch::jit::NameModule& item : module.named_modules()) {
    const torch::jit::Module& m = item.value;
    const auto mean = TensorAttribute(m, "running_mean"), var = TensorAttribute(m, "running_var");
    if (!mean || !var) continue;
    ScriptBatchNorm norm;
    norm.module = m;
    norm.mean = *mean;
    norm.var = *var;
    norm.tracked = TensorAttribute(m, "num_batches_tracked").value_or(torch::Tensor());
    c10::IValue momentum;  // a constant of nn.BatchNorm's script class, or an attribute
    if (m.hasattr("momentum")) {
      momentum = m.attr("momentum");
    } else if (m.type()->hasConstant("momentum")) {
      momentum = m.type()->getConstant("momentum");
    }
    if (momentum.isDouble()) {
      norm.factor = momentum.toDouble();  // None: a cumulative average, 1 after one batch
    }
    if (!(norm.factor > 0.0)) {
      return Status::InvalidArgument("batch norm '" + item.name +
                                     "' has momentum 0: its statistics never change, so they cannot be recomputed "
                                     "(use --eval-batch-norm running)");
    }
    norms.push_back(std::move(norm));
  }
  if (norms.empty()) return Status::OK();
  std::size_t total = 0;
  for (std::size_t n : piece_sizes) total += n;
  torch::NoGradGuard no_grad;
  for (ScriptBatchNorm& n : norms) {
    n.sum_mean = torch::zeros_like(n.mean, torch::kFloat64);
    n.sum_var = torch::zeros_like(n.var, torch::kFloat64);
    if (n.tracked.defined()) n.tracked_before = n.tracked.clone();
  }
  // Batch norms measure; dropout stays off, so that no random number is drawn.
  module.train(false);
  for (ScriptBatchNorm& n : norms) n.module.train(true);
  for (std::size_t k = 0; k < piece_sizes.size(); ++k) {
    // From zero, one training step leaves factor × the piece's statistics.
    for (ScriptBatchNorm& n : norms) {
      n.mean.zero_();
      n.var.zero_();
      if (n.tracked.defined()) n.tracked.zero_();
    }
    forward_piece(k);
    const double weight = static_cast<double>(piece_sizes[k]) / static_cast<double>(total);
    for (ScriptBatchNorm& n : norms) {
      n.sum_mean.add_(n.mean.to(torch::kFloat64), weight / n.factor);
      n.sum_var.add_(n.var.to(torch::kFloat64), weight / n.factor);
    }
  }
  for (ScriptBatchNorm& n : norms) {
    n.mean.copy_(n.sum_mean);
    n.var.copy_(n.sum_var);
    if (n.tracked.defined()) n.tracked.copy_(n.tracked_before);  // it counts training batches
  }
  return Status::OK();
}

}  // namespace crpsgd::internal
