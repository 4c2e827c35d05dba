// Neural networks from LibTorch's C++ API as crpsgd Objectives (target
// crpsgd_torch, built when LibTorch is found).
//
// A TorchObjective owns one model and this worker's shard as tensors. All
// parameters travel as one flat vector x (the order of model->parameters()),
// so a round is one all-reduce whatever the number of tensors. F(x; i) is the
// cross-entropy of sample i. Batch-norm running statistics live outside x, in
// its model_state(). Not thread safe: one object per worker.
#pragma once

#include <filesystem>
#include <memory>
#include <string_view>

#include "crpsgd/dataset.h"
#include "crpsgd/objective.h"
#include "crpsgd/objective_registry.h"

namespace crpsgd {

enum class TorchModel {
  kSoftmax,   // softmax (multinomial logistic) regression: one linear layer
  kMlp,       // one hidden ReLU layer of `hidden` units
  kResNet20,  // He et al. 2016, CIFAR variant: 3 stages x 3 basic blocks, 16/32/64 channels
};

const char* TorchModelName(TorchModel model);  // "softmax", "mlp", "resnet20"
Result<TorchModel> ParseTorchModel(std::string_view name);

// F(x; i), the loss of one sample (--loss).
enum class TorchLoss {
  kCrossEntropy,  // logits [batch, classes] against class numbers
  kMse,           // squared error of outputs [batch] or [batch, 1] against real targets
  kModel,         // the module's own exported loss(output, target): the mean over the batch
};
const char* TorchLossName(TorchLoss loss);  // "cross-entropy", "mse", "model"
Result<TorchLoss> ParseTorchLoss(std::string_view name);

struct TorchObjectiveOptions {
  TorchModel model = TorchModel::kSoftmax;
  std::size_t num_classes = 10;
  std::size_t hidden = 128;      // MLP hidden units. Default: 128.
  bool augment = false;          // 4-pixel padded random crop + horizontal flip (images). Default: off.
  bool float64 = false;          // compute in double (gradient checks); default float32
  std::size_t eval_chunk = 512;  // samples per forward pass when evaluating. Default: 512.
  std::uint64_t seed = 1;        // initialisation and augmentation
  int rank = 0;                  // augmentation stream of this worker
  // Your own network instead of `model`: a TorchScript module file
  // (torch.jit.script(net).save(FILE)) whose forward maps a float32 batch in
  // the data's shape to outputs [batch, classes] (or [batch] / [batch, 1] for
  // kMse). Its own initialisation is the starting point (not `seed`).
  std::filesystem::path script_module;
  TorchLoss loss = TorchLoss::kCrossEntropy;
};

class TorchObjective : public Objective {
 public:
  ~TorchObjective() override;
  std::size_t dim() const override;
  std::size_t num_samples() const override;
  double AccumulateGradient(std::span<const double> x, std::span<const std::size_t> samples,
                            std::span<double> grad_sum) const override;
  double Loss(std::span<const double> x, std::span<const std::size_t> samples) const override;
  std::optional<std::size_t> CountCorrect(std::span<const double> x,
                                          std::span<const std::size_t> samples) const override;
  // The seeded initialisation, whatever runs happened since.
  std::vector<double> InitialPoint() const override;
  // Batch-norm running statistics and the augmentation stream: averaged over
  // workers before every evaluation and whenever local SGD averages the
  // models; Recalibrate is precise batch norm (--eval-batch-norm recomputed).
  ModelState* model_state() const override;
  // float32, or float64 for a network built in float64.
  DataType wire_type() const override;
  std::vector<MatrixBlock> matrix_blocks() const override;
  // 2 samples when the network has batch norm (its first such layer named).
  BatchFloor MinimumBatch() const override;

  // Writes parameters x and buffers atomically: a built-in network as a
  // dictionary of named tensors that Python reads with torch.load(path)
  // (torch::pickle_save); a TorchScript module as TorchScript, in eval mode,
  // for torch.jit.load(path).
  Status Save(const std::filesystem::path& path, std::span<const double> x) const;
  // Reads a file that Save wrote for the same built-in network: returns the
  // parameters as x, and puts the buffers (batch-norm statistics) in the
  // model. A name or shape that does not fit this network is an error naming
  // both. (A TorchScript module's file is read by torch.jit.load instead.)
  Result<std::vector<double>> Load(const std::filesystem::path& path) const;
  // The class each sample is predicted to be (the largest logit), in eval mode.
  Result<std::vector<std::int64_t>> PredictClasses(std::span<const double> x,
                                                   std::span<const std::size_t> samples) const;
  // The one output of each sample (a regression network, --loss mse), in
  // eval mode; an error for a network of several outputs.
  Result<std::vector<double>> PredictValues(std::span<const double> x, std::span<const std::size_t> samples) const;
  std::size_t num_parameter_tensors() const;

  struct Impl;
  class State;

 private:
  template <class Take>
  Status EvalOutputs(std::span<const double> x, std::span<const std::size_t> samples, Take take) const;
  friend Result<std::unique_ptr<TorchObjective>> MakeTorchObjective(const Dataset&, const TorchObjectiveOptions&,
                                                                    const TorchObjective*);
  explicit TorchObjective(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  std::unique_ptr<State> state_;
};

// LibTorch's intra-op threads for this process (a process-wide setting).
void SetTorchThreads(int threads);

// A TorchObjective over `shard` (labels are class numbers 0..num_classes-1).
// `share_model_with`, when given, makes both objectives use one model, so that
// a test-set objective sees the training objective's batch-norm statistics.
// Errors (bad labels, a ResNet on data without an image shape, LibTorch
// exceptions) come back as a Status.
Result<std::unique_ptr<TorchObjective>> MakeTorchObjective(const Dataset& shard, const TorchObjectiveOptions& options,
                                                           const TorchObjective* share_model_with = nullptr);

// Adds softmax, mlp and resnet20 to `registry` (--problem NAME), and
// torchscript: the module of ObjectiveSettings::model_file (--model FILE.pt)
// with the loss ObjectiveSettings::loss names. Each worker's test objective
// shares its training objective's model, so it evaluates with the training
// batch-norm statistics; the saved model is model.pt (Save).
Status RegisterTorchObjectives(ObjectiveRegistry& registry);

// --format tensors: a torch.save file of {'x': X, 'y': y} (PyTorch 1.6's zip
// format or later), X float32 or uint8 of shape [n, features], [n, H, W] or
// [n, C, H, W], y [n] of int64 class numbers or float targets. Errors name the
// file and what it lacks. DataOptions::read_tensors takes this function.
Result<Dataset> ReadTensorFile(const std::filesystem::path& path);

}  // namespace crpsgd
