#include <cmath>
#include <fstream>
#include <iterator>
#include <mutex>
#include <optional>
#include <sstream>
#include <string_view>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "crpsgd/enum_table.h"
#include "crpsgd/files.h"
#include "crpsgd/torch.h"
#include "torch/models.h"
#include "torch/script_module.h"
#include "torch/torch_objective_impl.h"
#include "util/byte_record.h"
#include "util/rng.h"

namespace crpsgd {

const char* TorchModelName(TorchModel model) {
  switch (model) {
    case TorchModel::kSoftmax: return "softmax";
    case TorchModel::kMlp: return "mlp";
    case TorchModel::kResNet20: return "resnet20";
  }
  return "?";
}

Result<TorchModel> ParseTorchModel(std::string_view name) {
  if (name == "softmax") return TorchModel::kSoftmax;
  if (name == "mlp") return TorchModel::kMlp;
  if (name == "resnet20") return TorchModel::kResNet20;
  return Status::InvalidArgument("unknown network '" + std::string(name) + "' (expected softmax, mlp or resnet20)");
}

namespace {
constexpr EnumTable<TorchLoss, 3> kTorchLosses{
    {{{TorchLoss::kCrossEntropy, "cross-entropy"}, {TorchLoss::kMse, "mse"}, {TorchLoss::kModel, "model"}}}};
}  // namespace

const char* TorchLossName(TorchLoss loss) { return kTorchLosses.Name(loss); }
Result<TorchLoss> ParseTorchLoss(std::string_view name) { return kTorchLosses.Parse(name, "--loss"); }

void SetTorchThreads(int threads) { torch::set_num_threads(threads); }

TorchObjective::TorchObjective(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)), state_(std::make_unique<State>(impl_.get())) {}

ModelState* TorchObjective::model_state() const { return state_.get(); }
DataType TorchObjective::wire_type() const { return impl_->options.float64 ? DataType::kFloat64 : DataType::kFloat32; }
TorchObjective::~TorchObjective() = default;

std::vector<Objective::MatrixBlock> TorchObjective::matrix_blocks() const {
  std::vector<MatrixBlock> blocks;
  std::size_t offset = 0;
  for (const torch::Tensor& p : impl_->model->parameters) {
    const auto n = static_cast<std::size_t>(p.numel());
    if (p.dim() >= 2 && n > 0) blocks.push_back({offset, static_cast<std::size_t>(p.size(0)), n / p.size(0)});
    offset += n;
  }
  return blocks;
}

std::size_t TorchObjective::dim() const { return impl_->model->dim; }
std::size_t TorchObjective::num_samples() const { return static_cast<std::size_t>(impl_->labels.size(0)); }

BatchFloor TorchObjective::MinimumBatch() const {
  // BatchNorm1d normalises each feature over the batch alone: one sample has
  // nothing to normalise (BatchNorm2d has the pixels of its channel too).
  const SharedModel& model = *impl_->model;
  std::string layer;
  if (model.script) {
    for (const torch::jit::NameModule& item : model.script->named_modules()) {
      if (item.value.type()->name() && item.value.type()->name()->name() == "BatchNorm1d") {
        layer = item.name.empty() ? "the module" : item.name;
        break;
      }
    }
  } else {
    for (const auto& item : model.module.ptr()->named_modules("", /*include_self=*/false)) {
      if (item.value()->as<torch::nn::BatchNorm1d>()) {
        layer = item.key();
        break;
      }
    }
  }
  if (layer.empty()) return {};
  return {2, "layer '" + layer + "' is BatchNorm1d, which needs at least 2 samples per batch in training"};
}
std::size_t TorchObjective::num_parameter_tensors() const { return impl_->model->parameters.size(); }

double TorchObjective::AccumulateGradient(std::span<const double> x, std::span<const std::size_t> samples,
                                          std::span<double> grad_sum) const {
  Impl& m = *impl_;
  m.LoadParameters(x);
  m.model->SetTraining(true);
  for (torch::Tensor& p : m.model->parameters) {
    if (p.grad().defined()) p.mutable_grad().zero_();
  }
  double loss = 0.0;
  // Pieces of at most `eval_chunk` samples bound the activation memory; their
  // gradients add up in p.grad().
  for (std::size_t begin = 0; begin < samples.size(); begin += m.options.eval_chunk) {
    const std::size_t end = std::min(samples.size(), begin + m.options.eval_chunk);
    const torch::Tensor idx = m.Indices(samples, begin, end);
    torch::Tensor batch = m.inputs.index_select(0, idx);
    if (m.options.augment && batch.dim() == 4) batch = m.Augment(batch);
    const torch::Tensor sum = m.LossSum(m.TrainingForward(batch), m.labels.index_select(0, idx));
    sum.backward();
    loss += sum.item<double>();
  }
  std::size_t offset = 0;
  for (const torch::Tensor& p : m.model->parameters) {
    const torch::Tensor g =
        p.grad().defined() ? p.grad().to(torch::kFloat64).contiguous() : torch::zeros(p.sizes(), torch::kFloat64);
    const double* data = g.data_ptr<double>();
    for (std::int64_t k = 0; k < g.numel(); ++k) grad_sum[offset + static_cast<std::size_t>(k)] += data[k];
    offset += static_cast<std::size_t>(p.numel());
  }
  return loss;
}

double TorchObjective::Loss(std::span<const double> x, std::span<const std::size_t> samples) const {
  Impl& m = *impl_;
  m.LoadParameters(x);
  m.model->SetTraining(false);
  torch::NoGradGuard no_grad;
  double loss = 0.0;
  for (std::size_t begin = 0; begin < samples.size(); begin += m.options.eval_chunk) {
    const std::size_t end = std::min(samples.size(), begin + m.options.eval_chunk);
    const torch::Tensor idx = m.Indices(samples, begin, end);
    loss += m.LossSum(m.Forward(m.inputs.index_select(0, idx)), m.labels.index_select(0, idx)).item<double>();
  }
  return loss;
}

std::optional<std::size_t> TorchObjective::CountCorrect(std::span<const double> x,
                                                        std::span<const std::size_t> samples) const {
  Impl& m = *impl_;
  if (!m.Classifies()) return std::nullopt;
  m.LoadParameters(x);
  m.model->SetTraining(false);
  torch::NoGradGuard no_grad;
  std::int64_t correct = 0;
  for (std::size_t begin = 0; begin < samples.size(); begin += m.options.eval_chunk) {
    const std::size_t end = std::min(samples.size(), begin + m.options.eval_chunk);
    const torch::Tensor idx = m.Indices(samples, begin, end);
    const torch::Tensor predicted = m.Forward(m.inputs.index_select(0, idx)).argmax(1);
    correct += predicted.eq(m.labels.index_select(0, idx)).sum().item<std::int64_t>();
  }
  return static_cast<std::size_t>(correct);
}

std::vector<double> TorchObjective::InitialPoint() const { return impl_->model->initial_x; }

Status TorchObjective::Save(const std::filesystem::path& path, std::span<const double> x) const {
  try {
    impl_->LoadParameters(x);
    if (impl_->model->script) {
      // TorchScript for torch.jit.load, in eval mode (inference) with the current batch-norm statistics.
      impl_->model->SetTraining(false);
      std::ostringstream out;
      impl_->model->script->save(out);
      return WriteFileAtomic(path, out.str());
    }
    torch::nn::Module& net = *impl_->model->module.ptr();
    c10::Dict<std::string, torch::Tensor> dict;
    for (const auto& item : net.named_parameters()) dict.insert(item.key(), item.value().detach().clone());
    for (const auto& item : net.named_buffers()) dict.insert(item.key(), item.value().detach().clone());
    const std::vector<char> bytes = torch::pickle_save(dict);
    return WriteFileAtomic(path, std::string(bytes.begin(), bytes.end()));
  } catch (const c10::Error& e) {
    return Status::Internal(path.string() + ": LibTorch could not serialise the model: " + e.what_without_backtrace());
  }
}

Result<std::vector<double>> TorchObjective::Load(const std::filesystem::path& path) const {
  const std::string name = path.string();
  if (impl_->model->script) {
    return Status::InvalidArgument(name + ": a TorchScript module's saved model is read by torch.jit.load in PyTorch");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound(name + ": no such file");
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto shape = internal::ShapeText;
  torch::nn::Module& net = *impl_->model->module.ptr();
  try {
    const c10::IValue value = torch::pickle_load(bytes);
    if (!value.isGenericDict())
      return Status::Corruption(name + ": not a dictionary of named tensors (--save-model's model.pt)");
    const c10::impl::GenericDict dict = value.toGenericDict();
    torch::NoGradGuard no_grad;
    std::vector<double> x;
    x.reserve(dim());
    std::size_t used = 0;
    auto take = [&](const std::string& key, const torch::Tensor& into) -> Status {
      const auto found = dict.find(key);
      if (found == dict.end())
        return Status::Corruption(name + ": has no tensor '" + key + "': it was not saved from this network");
      const torch::Tensor saved = found->value().toTensor();
      if (!saved.sizes().equals(into.sizes())) {
        return Status::InvalidArgument(name + ": '" + key + "' has shape " + shape(saved) + ", this network's " +
                                       shape(into) + " (another --problem, --hidden or number of classes?)");
      }
      into.copy_(saved);
      ++used;
      return Status::OK();
    };
    for (const auto& item : net.named_parameters()) {
      CRPSGD_RETURN_IF_ERROR(take(item.key(), item.value()));
      const torch::Tensor flat = item.value().detach().to(torch::kFloat64).contiguous().view(-1);
      x.insert(x.end(), flat.data_ptr<double>(), flat.data_ptr<double>() + flat.numel());
    }
    for (const auto& item : net.named_buffers()) CRPSGD_RETURN_IF_ERROR(take(item.key(), item.value()));
    if (used != dict.size()) {
      return Status::InvalidArgument(name + ": holds " + std::to_string(dict.size()) + " tensors, this network " +
                                     std::to_string(used) + " (another --problem?)");
    }
    return x;
  } catch (const c10::Error& e) {
    return Status::Corruption(name + ": LibTorch cannot read it as a model file: " + e.what_without_backtrace());
  }
}

// The eval-mode outputs of `samples`, chunk by chunk: each chunk's output
// goes to take(output, chunk size), which may refuse it.
template <class Take>
Status TorchObjective::EvalOutputs(std::span<const double> x, std::span<const std::size_t> samples, Take take) const {
  Impl& m = *impl_;
  try {
    m.LoadParameters(x);
    m.model->SetTraining(false);
    torch::NoGradGuard no_grad;
    for (std::size_t begin = 0; begin < samples.size(); begin += m.options.eval_chunk) {
      const std::size_t end = std::min(samples.size(), begin + m.options.eval_chunk);
      CRPSGD_RETURN_IF_ERROR(take(m.Forward(m.inputs.index_select(0, m.Indices(samples, begin, end))), end - begin));
    }
    return Status::OK();
  } catch (const c10::Error& e) {
    return Status::Internal(std::string("LibTorch failed while predicting: ") + e.what_without_backtrace());
  }
}

Result<std::vector<std::int64_t>> TorchObjective::PredictClasses(std::span<const double> x,
                                                                 std::span<const std::size_t> samples) const {
  std::vector<std::int64_t> classes;
  classes.reserve(samples.size());
  CRPSGD_RETURN_IF_ERROR(EvalOutputs(x, samples, [&](const torch::Tensor& out, std::size_t) {
    const torch::Tensor predicted = out.argmax(1).contiguous();
    classes.insert(classes.end(), predicted.data_ptr<std::int64_t>(),
                   predicted.data_ptr<std::int64_t>() + predicted.numel());
    return Status::OK();
  }));
  return classes;
}

Result<std::vector<double>> TorchObjective::PredictValues(std::span<const double> x,
                                                          std::span<const std::size_t> samples) const {
  std::vector<double> values;
  values.reserve(samples.size());
  CRPSGD_RETURN_IF_ERROR(EvalOutputs(x, samples, [&](const torch::Tensor& out, std::size_t count) {
    if (out.numel() != static_cast<std::int64_t>(count)) {
      return Status::InvalidArgument("the network gives " +
                                     std::to_string(out.numel() / static_cast<std::int64_t>(count)) +
                                     " outputs per sample; a regression network (--loss mse) gives one");
    }
    const torch::Tensor flat = out.reshape({-1}).to(torch::kFloat64).contiguous();
    values.insert(values.end(), flat.data_ptr<double>(), flat.data_ptr<double>() + flat.numel());
    return Status::OK();
  }));
  return values;
}

namespace {

// The labels as the loss reads them: class numbers in 0..num_classes−1 for
// cross-entropy, real targets for mse, and for the module's own loss class
// numbers when every label is a whole number ≥ 0, else real targets.
Result<torch::Tensor> LabelTensor(const Dataset& shard, const TorchObjectiveOptions& options, torch::ScalarType real) {
  bool whole = true;
  for (double y : shard.labels) whole = whole && y >= 0 && y == std::floor(y);
  if (options.loss == TorchLoss::kMse || (options.loss == TorchLoss::kModel && !whole)) {
    return torch::tensor(shard.labels, torch::kFloat64).to(real);
  }
  std::vector<std::int64_t> labels(shard.labels.size());
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const double y = shard.labels[i];
    if (options.loss == TorchLoss::kCrossEntropy &&
        (!(y >= 0 && y < static_cast<double>(options.num_classes)) || y != std::floor(y))) {
      std::ostringstream label;
      label << y;
      return Status::InvalidArgument(shard.source + ": label " + label.str() + " is not a class in 0.." +
                                     std::to_string(options.num_classes - 1) +
                                     " (--loss cross-entropy reads class numbers 0..K-1: map the labels before "
                                     "saving, or train a regression with --loss mse)");
    }
    labels[i] = static_cast<std::int64_t>(y);
  }
  return torch::tensor(labels, torch::kInt64);
}

// A TorchScript module's contract, on one sample before any training: forward
// takes the data's shape and gives outputs the loss can read.
Status CheckScriptOutputs(TorchObjective::Impl& m, const std::string& source) {
  const std::string name = m.options.script_module.string();
  const torch::Tensor one = m.inputs.narrow(0, 0, 1);
  const std::string input = internal::ShapeText(one) + " " + std::string(c10::toString(one.scalar_type()));
  torch::NoGradGuard no_grad;
  m.model->SetTraining(false);
  c10::IValue value;
  try {
    value = m.model->script->forward({one});
  } catch (const std::exception& e) {
    return Status::InvalidArgument(name + ": forward fails on one sample of " + source + " (input " + input +
                                   "): " + internal::ErrorSummary(e));
  }
  if (!value.isTensor()) return Status::InvalidArgument(name + ": forward must return one Tensor");
  const torch::Tensor out = value.toTensor();
  const std::string got =
      name + ": forward gives " + internal::ShapeText(out) + " for one sample (input " + input + ")";
  switch (m.options.loss) {
    case TorchLoss::kCrossEntropy:
      if (out.dim() != 2 || out.size(0) != 1 || out.size(1) < static_cast<std::int64_t>(m.options.num_classes)) {
        return Status::InvalidArgument(
            got + "; the labels of " + source + " have " + std::to_string(m.options.num_classes) +
            " classes, so --loss cross-entropy needs [1, " + std::to_string(m.options.num_classes) + "]");
      }
      break;
    case TorchLoss::kMse:
      if (out.numel() != 1 || out.size(0) != 1) {
        return Status::InvalidArgument(got + "; --loss mse needs one output per sample: [1] or [1, 1]");
      }
      break;
    case TorchLoss::kModel: {
      try {
        const c10::IValue loss = m.model->script->get_method("loss")({out, m.labels.narrow(0, 0, 1)});
        if (!loss.isTensor() || loss.toTensor().numel() != 1) {
          return Status::InvalidArgument(name + ": loss(output, target) must return one number (a scalar tensor)");
        }
      } catch (const std::exception& e) {
        return Status::InvalidArgument(
            name + ": loss(output, target) fails on one sample (output " + internal::ShapeText(out) + ", target " +
            internal::ShapeText(m.labels.narrow(0, 0, 1)) + " " + std::string(c10::toString(m.labels.scalar_type())) +
            "): " + internal::ErrorSummary(e));
      }
      break;
    }
  }
  return Status::OK();
}

// The settings and data a network cannot train on, each with its reason.
Status CheckNetworkInputs(const Dataset& shard, const TorchObjectiveOptions& options) {
  const bool script = !options.script_module.empty();
  if (shard.is_sparse) return Status::InvalidArgument(shard.source + ": networks need dense data (IDX or CIFAR-10)");
  if (options.loss == TorchLoss::kCrossEntropy && options.num_classes < 2) {
    return Status::InvalidArgument("a classifier needs at least 2 classes");
  }
  if (!script && options.loss != TorchLoss::kCrossEntropy) {
    return Status::InvalidArgument(
        "--loss is for TorchScript modules (--model); the built-in networks use cross-entropy");
  }
  if (options.eval_chunk < 1) return Status::InvalidArgument("eval_chunk must be >= 1");
  if (!script && options.model == TorchModel::kResNet20 && shard.image_shape.size() != 3) {
    return Status::InvalidArgument(shard.source + ": resnet20 needs images (IDX or CIFAR-10), not flat features");
  }
  return Status::OK();
}

// One sample's shape: [C, H, W] for images, [features] for a table.
std::vector<std::int64_t> SampleShape(const Dataset& shard) {
  if (shard.image_shape.size() != 3) return {static_cast<std::int64_t>(shard.num_features())};
  std::vector<std::int64_t> shape;
  for (std::size_t d : shard.image_shape) shape.push_back(static_cast<std::int64_t>(d));
  return shape;
}

// A TorchScript module (--model), loaded once per worker (Module::clone gives
// parameters that are not leaves): its trainable parameters and buffers.
Status LoadScriptModel(const TorchObjectiveOptions& options, torch::Dtype dtype, SharedModel& model,
                       std::vector<torch::Tensor>& parameters,
                       std::vector<std::pair<std::string, torch::Tensor>>& buffers) {
  CRPSGD_ASSIGN_OR_RETURN(torch::jit::Module module, internal::LoadScriptModule(options.script_module));
  if (options.loss == TorchLoss::kModel && !module.find_method("loss")) {
    return Status::InvalidArgument(options.script_module.string() +
                                   ": --loss model needs a method loss(output, target) exported with "
                                   "@torch.jit.export; the module has none");
  }
  module.to(dtype);
  for (const torch::Tensor& p : module.parameters()) {
    if (p.requires_grad()) parameters.push_back(p);  // frozen ones stay as the file has them
  }
  for (const auto& item : module.named_buffers()) buffers.emplace_back(item.name, item.value);
  model.draws_random = internal::DrawsRandomNumbers(module);
  model.script = std::move(module);
  return Status::OK();
}

// A built-in network (--problem mlp, cnn, resnet20), initialised from the run's seed.
void BuildBuiltInModel(const TorchObjectiveOptions& options, const std::vector<std::int64_t>& sample_shape,
                       torch::Dtype dtype, SharedModel& model, std::vector<torch::Tensor>& parameters,
                       std::vector<std::pair<std::string, torch::Tensor>>& buffers) {
  {
    // LibTorch's generator is global: construct under a lock with the run's
    // seed, so that the initialisation depends on the seed only.
    static std::mutex init_mutex;
    std::lock_guard lock(init_mutex);
    torch::manual_seed(options.seed);
    model.module = internal::MakeModel(options, sample_shape);
  }
  model.module.ptr()->to(dtype);
  parameters = model.module.ptr()->parameters();
  for (const auto& item : model.module.ptr()->named_buffers()) buffers.emplace_back(item.key(), item.value());
}

// The worker's model: its parameters (x, flattened in order), its
// floating-point buffers (the averaged state, e.g. batch norm's) and x₀.
Result<std::shared_ptr<SharedModel>> BuildModel(const TorchObjectiveOptions& options,
                                                const std::vector<std::int64_t>& sample_shape, torch::Dtype dtype) {
  auto model = std::make_shared<SharedModel>();
  std::vector<torch::Tensor> parameters;
  std::vector<std::pair<std::string, torch::Tensor>> buffers;
  if (!options.script_module.empty()) {
    CRPSGD_RETURN_IF_ERROR(LoadScriptModel(options, dtype, *model, parameters, buffers));
  } else {
    BuildBuiltInModel(options, sample_shape, dtype, *model, parameters, buffers);
  }
  for (const torch::Tensor& p : parameters) {
    model->parameters.push_back(p);
    model->dim += static_cast<std::size_t>(p.numel());
  }
  for (const auto& [name, buffer] : buffers) {
    if (buffer.is_floating_point()) {
      model->state.emplace_back(name, buffer);
      model->initial_state.push_back(buffer.detach().clone());
    }
  }
  model->buffers = std::move(buffers);
  for (const torch::Tensor& p : model->parameters) {
    const torch::Tensor flat = p.detach().to(torch::kFloat64).contiguous().flatten();
    model->initial_x.insert(model->initial_x.end(), flat.data_ptr<double>(), flat.data_ptr<double>() + flat.numel());
  }
  return model;
}

}  // namespace

Result<std::unique_ptr<TorchObjective>> MakeTorchObjective(const Dataset& shard, const TorchObjectiveOptions& options,
                                                           const TorchObjective* share_model_with) {
  CRPSGD_RETURN_IF_ERROR(CheckNetworkInputs(shard, options));
  const std::vector<std::int64_t> sample_shape = SampleShape(shard);
  try {
    auto impl = std::make_unique<TorchObjective::Impl>();
    impl->options = options;
    impl->augment_rng = Rng(DeriveSeed(options.seed, RngStream::kAugment, static_cast<std::uint64_t>(options.rank)));
    const auto dtype = options.float64 ? torch::kFloat64 : torch::kFloat32;
    CRPSGD_ASSIGN_OR_RETURN(impl->labels, LabelTensor(shard, options, dtype));
    std::vector<std::int64_t> data_shape = {static_cast<std::int64_t>(shard.num_samples())};
    data_shape.insert(data_shape.end(), sample_shape.begin(), sample_shape.end());
    // Eigen's row-major matrix is [n, features] with features channel-major: the NCHW layout.
    impl->inputs =
        torch::from_blob(const_cast<double*>(shard.dense.data()), data_shape, torch::kFloat64).to(dtype).clone();
    if (share_model_with != nullptr) {
      impl->model = share_model_with->impl_->model;
    } else {
      CRPSGD_ASSIGN_OR_RETURN(impl->model, BuildModel(options, sample_shape, dtype));
    }
    if (impl->model->draws_random) {
      impl->generator = at::detail::createCPUGenerator(
          DeriveSeed(options.seed, RngStream::kDropout, static_cast<std::uint64_t>(options.rank)));
    }
    std::unique_ptr<TorchObjective> objective(new TorchObjective(std::move(impl)));
    // One forward pass on a sample: a shape mismatch shows up here, as a Status.
    if (objective->num_samples() > 0) {
      if (!options.script_module.empty()) {
        CRPSGD_RETURN_IF_ERROR(CheckScriptOutputs(*objective->impl_, shard.source));
      } else {
        torch::NoGradGuard no_grad;
        objective->impl_->model->SetTraining(false);
        objective->impl_->Forward(objective->impl_->inputs.narrow(0, 0, 1));
      }
    }
    return objective;
  } catch (const c10::Error& e) {
    return Status::InvalidArgument(shard.source + ": LibTorch refused the model: " + e.what_without_backtrace());
  }
}

}  // namespace crpsgd
