#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <mutex>
#include <optional>
#include <sstream>
#include <string_view>

#include <torch/torch.h>

#include "crpsgd/metrics.h"
#include "crpsgd/torch.h"
#include "torch/models.h"
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

void SetTorchThreads(int threads) { torch::set_num_threads(threads); }

namespace {

// One model, possibly shared by a training and a test objective.
struct SharedModel {
  torch::nn::AnyModule module;
  std::vector<torch::Tensor> parameters;                     // in the order of x
  std::vector<std::pair<std::string, torch::Tensor>> state;  // floating-point buffers (batch-norm statistics)
  std::vector<double> initial_x;                             // the seeded initialisation
  std::vector<torch::Tensor> initial_state;                  // copies of `state` as initialised
  std::size_t dim = 0;
};

}  // namespace

struct TorchObjective::Impl {
  TorchObjectiveOptions options;
  std::shared_ptr<SharedModel> model;
  torch::Tensor inputs;  // [n, C, H, W] or [n, features]
  torch::Tensor labels;  // [n], int64
  mutable Rng augment_rng{0};

  torch::nn::Module& net() const { return *model->module.ptr(); }

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

  torch::Tensor Forward(const torch::Tensor& batch) const { return model->module.forward(batch); }
};

// The network's batch-norm statistics (and augmentation stream): the state
// outside x that Train and local SGD keep in step across workers.
class TorchObjective::State final : public ModelState {
 public:
  explicit State(Impl* impl) : impl_(impl) {}
  void RestoreInitial() override;
  Status Synchronize(Communicator& comm) override;
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

TorchObjective::TorchObjective(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)), state_(std::make_unique<State>(impl_.get())) {}

ModelState* TorchObjective::model_state() const { return state_.get(); }
TorchObjective::~TorchObjective() = default;

std::size_t TorchObjective::dim() const { return impl_->model->dim; }
std::size_t TorchObjective::num_samples() const { return static_cast<std::size_t>(impl_->labels.size(0)); }
std::size_t TorchObjective::num_parameter_tensors() const { return impl_->model->parameters.size(); }

double TorchObjective::AccumulateGradient(std::span<const double> x, std::span<const std::size_t> samples,
                                          std::span<double> grad_sum) const {
  Impl& m = *impl_;
  m.LoadParameters(x);
  m.net().train();
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
    const torch::Tensor sum =
        torch::nn::functional::cross_entropy(m.Forward(batch), m.labels.index_select(0, idx),
                                             torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum));
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
  m.net().eval();
  torch::NoGradGuard no_grad;
  double loss = 0.0;
  for (std::size_t begin = 0; begin < samples.size(); begin += m.options.eval_chunk) {
    const std::size_t end = std::min(samples.size(), begin + m.options.eval_chunk);
    const torch::Tensor idx = m.Indices(samples, begin, end);
    loss +=
        torch::nn::functional::cross_entropy(m.Forward(m.inputs.index_select(0, idx)), m.labels.index_select(0, idx),
                                             torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
            .item<double>();
  }
  return loss;
}

std::optional<std::size_t> TorchObjective::CountCorrect(std::span<const double> x,
                                                        std::span<const std::size_t> samples) const {
  Impl& m = *impl_;
  m.LoadParameters(x);
  m.net().eval();
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

void TorchObjective::State::RestoreInitial() {
  torch::NoGradGuard no_grad;
  auto& model = *impl_->model;
  for (std::size_t k = 0; k < model.state.size(); ++k) model.state[k].second.copy_(model.initial_state[k]);
}

Status TorchObjective::State::Synchronize(Communicator& comm) {
  auto& state = impl_->model->state;
  if (state.empty()) return Status::OK();
  std::vector<double> flat;
  for (const auto& [name, t] : state) {
    const torch::Tensor d = t.detach().to(torch::kFloat64).contiguous().flatten();
    flat.insert(flat.end(), d.data_ptr<double>(), d.data_ptr<double>() + d.numel());
  }
  CRPSGD_RETURN_IF_ERROR(comm.AllreduceMean(flat, Traffic::kEvaluation));
  torch::NoGradGuard no_grad;
  std::size_t offset = 0;
  for (auto& [name, t] : state) {
    t.copy_(torch::from_blob(flat.data() + offset, t.sizes(), torch::kFloat64));
    offset += static_cast<std::size_t>(t.numel());
  }
  return Status::OK();
}

Status TorchObjective::State::Recalibrate(std::span<const double> x, std::span<const std::size_t> samples,
                                          Communicator& comm) {
  Impl& m = *impl_;
  if (!samples.empty()) {
    m.LoadParameters(x);
    std::vector<torch::nn::BatchNorm2dImpl*> norms;
    for (const auto& module : m.net().modules(/*include_self=*/false)) {
      if (auto* norm = module->as<torch::nn::BatchNorm2d>()) norms.push_back(norm);
    }
    std::vector<c10::optional<double>> momenta;
    std::vector<torch::Tensor> tracked;
    for (auto* norm : norms) {
      momenta.push_back(norm->options.momentum());
      tracked.push_back(norm->num_batches_tracked.clone());
    }
    torch::NoGradGuard no_grad;
    m.net().train();
    // Piece k of n_k samples, after s samples, enters with weight n_k / (s + n_k):
    // the running mean becomes the mean over all samples (the variance, the
    // size-weighted mean of the pieces' variances). The first piece replaces
    // whatever training left.
    std::size_t seen = 0;
    for (std::size_t begin = 0; begin < samples.size(); begin += m.options.eval_chunk) {
      const std::size_t end = std::min(samples.size(), begin + m.options.eval_chunk);
      seen += end - begin;
      const double weight = static_cast<double>(end - begin) / static_cast<double>(seen);
      for (auto* norm : norms) norm->options.momentum(weight);
      m.Forward(m.inputs.index_select(0, m.Indices(samples, begin, end)));
    }
    for (std::size_t k = 0; k < norms.size(); ++k) {
      norms[k]->options.momentum(momenta[k]);
      norms[k]->num_batches_tracked.copy_(tracked[k]);  // it counts training batches
    }
  }
  return Synchronize(comm);
}

namespace {

constexpr std::string_view kStateHeader = "crpsgd-torch-state-1\n";

void AppendBytes(std::string& out, std::string_view bytes) {
  const std::uint64_t n = bytes.size();
  out.append(reinterpret_cast<const char*>(&n), sizeof n);
  out.append(bytes);
}

// The next length-prefixed piece of `in` at `at`, or nullopt past its end.
std::optional<std::string_view> TakeBytes(std::string_view in, std::size_t& at) {
  std::uint64_t n = 0;
  if (in.size() - at < sizeof n) return std::nullopt;
  std::memcpy(&n, in.data() + at, sizeof n);
  at += sizeof n;
  if (n > in.size() - at) return std::nullopt;
  const std::string_view piece = in.substr(at, n);
  at += n;
  return piece;
}

}  // namespace

std::string TorchObjective::State::SaveState() const {
  std::string out(kStateHeader);
  std::ostringstream engine;
  engine << impl_->augment_rng.engine();
  AppendBytes(out, engine.str());
  for (const auto& item : impl_->net().named_buffers()) {
    const torch::Tensor t = item.value().detach().contiguous();
    AppendBytes(out, item.key());
    AppendBytes(out, std::string_view(static_cast<const char*>(t.data_ptr()), t.numel() * t.element_size()));
  }
  return out;
}

Status TorchObjective::State::LoadState(std::string_view saved) {
  // Parsed and checked aside; the network changes only once all of it fits.
  if (!saved.starts_with(kStateHeader)) return Status::Corruption("not the state of a LibTorch network");
  std::size_t at = kStateHeader.size();
  const auto engine_text = TakeBytes(saved, at);
  std::mt19937_64 engine;
  if (engine_text) {
    std::istringstream is{std::string(*engine_text)};
    is >> engine;
    if (!is) return Status::Corruption("the network's augmentation stream does not parse");
  }
  std::vector<std::pair<torch::Tensor, std::string_view>> copies;
  for (const auto& item : impl_->net().named_buffers()) {
    const auto name = TakeBytes(saved, at);
    const auto bytes = name ? TakeBytes(saved, at) : std::nullopt;
    const torch::Tensor& t = item.value();
    if (!bytes || *name != item.key() || bytes->size() != static_cast<std::size_t>(t.numel() * t.element_size())) {
      return Status::Corruption("the saved network state does not fit this network (buffer '" + item.key() + "')");
    }
    copies.emplace_back(t, *bytes);
  }
  if (!engine_text || at != saved.size()) {
    return Status::Corruption("the saved network state does not fit this network");
  }
  torch::NoGradGuard no_grad;
  for (auto& [t, bytes] : copies) {
    torch::Tensor target = t;
    target.copy_(torch::from_blob(const_cast<char*>(bytes.data()), t.sizes(), t.options()));
  }
  impl_->augment_rng.engine() = engine;
  return Status::OK();
}

Status TorchObjective::Save(const std::filesystem::path& path, std::span<const double> x) const {
  try {
    impl_->LoadParameters(x);
    c10::Dict<std::string, torch::Tensor> dict;
    for (const auto& item : impl_->net().named_parameters()) dict.insert(item.key(), item.value().detach().clone());
    for (const auto& item : impl_->net().named_buffers()) dict.insert(item.key(), item.value().detach().clone());
    const std::vector<char> bytes = torch::pickle_save(dict);
    return WriteFileAtomic(path, std::string(bytes.begin(), bytes.end()));
  } catch (const c10::Error& e) {
    return Status::Internal(path.string() + ": LibTorch could not serialise the model: " + e.what_without_backtrace());
  }
}

Result<std::vector<double>> TorchObjective::Load(const std::filesystem::path& path) const {
  const std::string name = path.string();
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound(name + ": no such file");
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto shape = [](const torch::Tensor& t) {
    std::string text = "[";
    for (std::int64_t i = 0; i < t.dim(); ++i) text += (i ? ", " : "") + std::to_string(t.size(i));
    return text + "]";
  };
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
    for (const auto& item : impl_->net().named_parameters()) {
      CRPSGD_RETURN_IF_ERROR(take(item.key(), item.value()));
      const torch::Tensor flat = item.value().detach().to(torch::kFloat64).contiguous().view(-1);
      x.insert(x.end(), flat.data_ptr<double>(), flat.data_ptr<double>() + flat.numel());
    }
    for (const auto& item : impl_->net().named_buffers()) CRPSGD_RETURN_IF_ERROR(take(item.key(), item.value()));
    if (used != dict.size()) {
      return Status::InvalidArgument(name + ": holds " + std::to_string(dict.size()) + " tensors, this network " +
                                     std::to_string(used) + " (another --problem?)");
    }
    return x;
  } catch (const c10::Error& e) {
    return Status::Corruption(name + ": LibTorch cannot read it as a model file: " + e.what_without_backtrace());
  }
}

Result<std::vector<std::int64_t>> TorchObjective::PredictClasses(std::span<const double> x,
                                                                 std::span<const std::size_t> samples) const {
  Impl& m = *impl_;
  try {
    m.LoadParameters(x);
    m.net().eval();
    torch::NoGradGuard no_grad;
    std::vector<std::int64_t> classes;
    classes.reserve(samples.size());
    for (std::size_t begin = 0; begin < samples.size(); begin += m.options.eval_chunk) {
      const std::size_t end = std::min(samples.size(), begin + m.options.eval_chunk);
      const torch::Tensor predicted =
          m.Forward(m.inputs.index_select(0, m.Indices(samples, begin, end))).argmax(1).contiguous();
      classes.insert(classes.end(), predicted.data_ptr<std::int64_t>(),
                     predicted.data_ptr<std::int64_t>() + predicted.numel());
    }
    return classes;
  } catch (const c10::Error& e) {
    return Status::Internal(std::string("LibTorch failed while predicting: ") + e.what_without_backtrace());
  }
}

Result<std::unique_ptr<TorchObjective>> MakeTorchObjective(const Dataset& shard, const TorchObjectiveOptions& options,
                                                           const TorchObjective* share_model_with) {
  if (shard.is_sparse) return Status::InvalidArgument(shard.source + ": networks need dense data (IDX or CIFAR-10)");
  if (options.num_classes < 2) return Status::InvalidArgument("a classifier needs at least 2 classes");
  if (options.eval_chunk < 1) return Status::InvalidArgument("eval_chunk must be >= 1");
  if (options.model == TorchModel::kResNet20 && shard.image_shape.size() != 3) {
    return Status::InvalidArgument(shard.source + ": resnet20 needs images (IDX or CIFAR-10), not flat features");
  }
  std::vector<std::int64_t> labels(shard.labels.size());
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const double y = shard.labels[i];
    if (!(y >= 0 && y < static_cast<double>(options.num_classes)) || y != std::floor(y)) {
      return Status::InvalidArgument(shard.source + ": label " + std::to_string(y) + " is not a class in 0.." +
                                     std::to_string(options.num_classes - 1) +
                                     " (networks need class numbers: pass --positive-class -1 for IDX)");
    }
    labels[i] = static_cast<std::int64_t>(y);
  }
  std::vector<std::int64_t> sample_shape;
  if (shard.image_shape.size() == 3) {
    for (std::size_t d : shard.image_shape) sample_shape.push_back(static_cast<std::int64_t>(d));
  } else {
    sample_shape = {static_cast<std::int64_t>(shard.num_features())};
  }
  try {
    auto impl = std::make_unique<TorchObjective::Impl>();
    impl->options = options;
    impl->augment_rng = Rng(DeriveSeed(options.seed, RngStream::kAugment, static_cast<std::uint64_t>(options.rank)));
    const auto dtype = options.float64 ? torch::kFloat64 : torch::kFloat32;
    std::vector<std::int64_t> data_shape = {static_cast<std::int64_t>(shard.num_samples())};
    data_shape.insert(data_shape.end(), sample_shape.begin(), sample_shape.end());
    // Eigen's row-major matrix is [n, features] with features channel-major: the NCHW layout.
    impl->inputs =
        torch::from_blob(const_cast<double*>(shard.dense.data()), data_shape, torch::kFloat64).to(dtype).clone();
    impl->labels = torch::tensor(labels, torch::kInt64);
    if (share_model_with != nullptr) {
      impl->model = share_model_with->impl_->model;
    } else {
      auto model = std::make_shared<SharedModel>();
      {
        // LibTorch's generator is global: construct under a lock with the run's
        // seed, so that the initialisation depends on the seed only.
        static std::mutex init_mutex;
        std::lock_guard lock(init_mutex);
        torch::manual_seed(options.seed);
        model->module = internal::MakeModel(options, sample_shape);
      }
      model->module.ptr()->to(dtype);
      for (const torch::Tensor& p : model->module.ptr()->parameters()) {
        model->parameters.push_back(p);
        model->dim += static_cast<std::size_t>(p.numel());
      }
      for (const auto& item : model->module.ptr()->named_buffers()) {
        if (item.value().is_floating_point()) {
          model->state.emplace_back(item.key(), item.value());
          model->initial_state.push_back(item.value().detach().clone());
        }
      }
      for (const torch::Tensor& p : model->parameters) {
        const torch::Tensor flat = p.detach().to(torch::kFloat64).contiguous().flatten();
        model->initial_x.insert(model->initial_x.end(), flat.data_ptr<double>(),
                                flat.data_ptr<double>() + flat.numel());
      }
      impl->model = std::move(model);
    }
    std::unique_ptr<TorchObjective> objective(new TorchObjective(std::move(impl)));
    // One forward pass on a sample: a shape mismatch shows up here, as a Status.
    if (objective->num_samples() > 0) {
      torch::NoGradGuard no_grad;
      objective->impl_->net().eval();
      objective->impl_->Forward(objective->impl_->inputs.narrow(0, 0, 1));
    }
    return objective;
  } catch (const c10::Error& e) {
    return Status::InvalidArgument(shard.source + ": LibTorch refused the model: " + e.what_without_backtrace());
  }
}

}  // namespace crpsgd

namespace crpsgd {
namespace {

Status CheckNetwork(const ObjectiveSettings& s) {
  if (s.precision != Precision::kFloat64) {
    return Status::InvalidArgument("--precision is for linear models; networks train in LibTorch's float32");
  }
  return Status::OK();
}

ObjectiveFactory Network(TorchModel model, std::string description) {
  ObjectiveFactory factory;
  factory.name = TorchModelName(model);
  factory.description = std::move(description);
  factory.labels = LabelTask::kClasses;
  factory.check = CheckNetwork;
  factory.make = [model](const ObjectiveSettings& s, const ObjectiveInputs& in) -> Result<WorkerObjectives> {
    if (s.augment && in.train->image_shape.empty()) {
      return Status::InvalidArgument("--augment needs a network (--problem softmax, mlp, resnet20) and image data");
    }
    TorchObjectiveOptions options;
    options.model = model;
    options.num_classes = in.num_classes;
    options.hidden = s.hidden;
    options.augment = s.augment;
    options.seed = in.seed;
    options.rank = in.rank;
    CRPSGD_ASSIGN_OR_RETURN(std::unique_ptr<TorchObjective> network, MakeTorchObjective(*in.train, options));
    WorkerObjectives out;
    if (in.test) {
      options.augment = false;
      CRPSGD_ASSIGN_OR_RETURN(out.test, MakeTorchObjective(*in.test, options, network.get()));
    }
    const TorchObjective* saver = network.get();  // owned by out.train, which outlives save_model's calls
    out.save_model = [saver](const std::filesystem::path& folder,
                             std::span<const double> x) -> Result<std::filesystem::path> {
      const std::filesystem::path file = folder / "model.pt";
      CRPSGD_RETURN_IF_ERROR(saver->Save(file, x));
      return file;
    };
    out.train = std::move(network);
    return out;
  };
  return factory;
}

}  // namespace

Status RegisterTorchObjectives(ObjectiveRegistry& registry) {
  CRPSGD_RETURN_IF_ERROR(registry.Add(Network(TorchModel::kSoftmax, "softmax regression (one linear layer)")));
  CRPSGD_RETURN_IF_ERROR(registry.Add(Network(TorchModel::kMlp, "one hidden ReLU layer of --hidden units")));
  return registry.Add(Network(TorchModel::kResNet20, "ResNet-20 (He et al. 2016), for 32x32 or 28x28 images"));
}

}  // namespace crpsgd
