// TorchObjective's state outside x: batch-norm statistics averaged over
// workers or recomputed (precise batch norm), and saved into checkpoints with
// the augmentation and dropout streams.
#include <sstream>
#include <string_view>

#include "torch/script_module.h"
#include "torch/torch_objective_impl.h"
#include "util/byte_record.h"

namespace crpsgd {

void TorchObjective::State::RestoreInitial() {
  torch::NoGradGuard no_grad;
  auto& model = *impl_->model;
  for (std::size_t k = 0; k < model.state.size(); ++k) model.state[k].second.copy_(model.initial_state[k]);
}

std::vector<double> TorchObjective::State::AveragedValues() const {
  std::vector<double> flat;
  for (const auto& [name, t] : impl_->model->state) {
    const torch::Tensor d = t.detach().to(torch::kFloat64).contiguous().flatten();
    flat.insert(flat.end(), d.data_ptr<double>(), d.data_ptr<double>() + d.numel());
  }
  return flat;
}

void TorchObjective::State::SetAveragedValues(std::span<const double> values) {
  torch::NoGradGuard no_grad;
  std::size_t offset = 0;
  for (auto& [name, t] : impl_->model->state) {
    t.copy_(torch::from_blob(const_cast<double*>(values.data()) + offset, t.sizes(), torch::kFloat64));
    offset += static_cast<std::size_t>(t.numel());
  }
}

Status TorchObjective::State::Synchronize(Communicator& comm) {
  if (impl_->model->state.empty()) return Status::OK();
  std::vector<double> flat = AveragedValues();
  CRPSGD_RETURN_IF_ERROR(comm.AllreduceMean(flat, Traffic::kEvaluation));
  SetAveragedValues(flat);
  return Status::OK();
}

Status TorchObjective::State::Recalibrate(std::span<const double> x, std::span<const std::size_t> samples,
                                          Communicator& comm) {
  Impl& m = *impl_;
  if (!samples.empty() && m.model->script) {
    m.LoadParameters(x);
    std::vector<std::size_t> sizes;
    for (std::size_t begin = 0; begin < samples.size(); begin += m.options.eval_chunk) {
      sizes.push_back(std::min(samples.size(), begin + m.options.eval_chunk) - begin);
    }
    torch::NoGradGuard no_grad;
    CRPSGD_RETURN_IF_ERROR(internal::RecalibrateScriptBatchNorm(*m.model->script, sizes, [&](std::size_t piece) {
      const std::size_t begin = piece * m.options.eval_chunk;
      m.Forward(m.inputs.index_select(0, m.Indices(samples, begin, begin + sizes[piece])));
    }));
  } else if (!samples.empty()) {
    m.LoadParameters(x);
    std::vector<torch::nn::BatchNorm2dImpl*> norms;
    for (const auto& module : m.model->module.ptr()->modules(/*include_self=*/false)) {
      if (auto* norm = module->as<torch::nn::BatchNorm2d>()) norms.push_back(norm);
    }
    std::vector<c10::optional<double>> momenta;
    std::vector<torch::Tensor> tracked;
    for (auto* norm : norms) {
      momenta.push_back(norm->options.momentum());
      tracked.push_back(norm->num_batches_tracked.clone());
    }
    torch::NoGradGuard no_grad;
    m.model->SetTraining(true);
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

std::string_view Bytes(const torch::Tensor& contiguous) {
  return {static_cast<const char*>(contiguous.data_ptr()),
          static_cast<std::size_t>(contiguous.numel() * contiguous.element_size())};
}

}  // namespace

std::string TorchObjective::State::SaveState() const {
  ByteWriter out;
  out.bytes() += kStateHeader;
  std::ostringstream engine;
  engine << impl_->augment_rng.engine();
  out.Str(engine.str());
  for (const auto& [name, buffer] : impl_->model->buffers) {
    out.Str(name);
    out.Str(Bytes(buffer.detach().contiguous()));
  }
  if (impl_->generator) {  // last, so that the state of a network without one reads as before
    out.Str(Bytes(impl_->generator->get_state().contiguous()));
  }
  return std::move(out.bytes());
}

Status TorchObjective::State::LoadState(std::string_view saved) {
  // Parsed and checked aside; the network changes only once all of it fits.
  if (!saved.starts_with(kStateHeader)) return Status::Corruption("not the state of a LibTorch network");
  ByteReader in(saved.substr(kStateHeader.size()));
  std::mt19937_64 engine;
  std::istringstream engine_text(in.Str());
  engine_text >> engine;
  if (in.ok() && !engine_text) return Status::Corruption("the network's augmentation stream does not parse");
  std::vector<std::pair<torch::Tensor, std::string>> copies;
  for (const auto& [key, t] : impl_->model->buffers) {
    const std::string name = in.Str();
    std::string bytes = in.Str();
    if (!in.ok() || name != key || bytes.size() != static_cast<std::size_t>(t.numel() * t.element_size())) {
      return Status::Corruption("the saved network state does not fit this network (buffer '" + key + "')");
    }
    copies.emplace_back(t, std::move(bytes));
  }
  std::string generator_state;
  if (impl_->generator) {
    generator_state = in.Str();
    if (!in.ok() || generator_state.size() != static_cast<std::size_t>(impl_->generator->get_state().numel())) {
      return Status::Corruption("the saved network state has no random stream for this network's dropout");
    }
  }
  if (!in.ok() || !in.AtEnd()) return Status::Corruption("the saved network state does not fit this network");
  torch::NoGradGuard no_grad;
  for (auto& [t, bytes] : copies) {
    torch::Tensor target = t;
    target.copy_(torch::from_blob(bytes.data(), t.sizes(), t.options()));
  }
  impl_->augment_rng.engine() = engine;
  if (impl_->generator) {
    const torch::Tensor now = impl_->generator->get_state();
    impl_->generator->set_state(torch::from_blob(generator_state.data(), now.sizes(), now.options()).clone());
  }
  return Status::OK();
}

}  // namespace crpsgd
