// Objectives by name: what `--problem NAME` builds on each worker's shard.
//
// The core registers the linear models (logreg, leastsq, ncvx-logreg); the
// torch target adds its networks (RegisterTorchObjectives in crpsgd/torch.h);
// a user adds their own the same way:
//
//   crpsgd::ObjectiveRegistry registry = crpsgd::ObjectiveRegistry::WithLinearModels();
//   registry.Add({"my-model", "my objective", crpsgd::LabelTask::kBinary,
//                 [](const crpsgd::ObjectiveSettings& s, const crpsgd::ObjectiveInputs& in)
//                     -> crpsgd::Result<crpsgd::WorkerObjectives> { ... }});
//   auto objectives = registry.Make("my-model", settings, inputs);
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "crpsgd/data_loader.h"
#include "crpsgd/dataset.h"
#include "crpsgd/linear_models.h"
#include "crpsgd/objective.h"
#include "crpsgd/status.h"

namespace crpsgd {

// The model settings every objective is built from (each takes what it uses).
struct ObjectiveSettings {
  double lambda = 1e-4;                       // linear models: regularisation λ
  Precision precision = Precision::kFloat64;  // linear models: how features are stored
  double bias = 0.0;                          // linear models: the bias feature the data carries
  int threads = 0;                            // threads per process (0: the objective's default)
  std::size_t hidden = 128;                   // MLP hidden units
  bool augment = false;                       // networks on images: random crop + flip
  std::filesystem::path model_file;           // torchscript: the module to train (--model)
  std::string loss = "cross-entropy";         // torchscript: cross-entropy, mse or model (--loss)
};

// One worker's inputs: its shards and what is known of the whole data.
struct ObjectiveInputs {
  std::shared_ptr<const Dataset> train;  // this worker's shard
  std::shared_ptr<const Dataset> test;   // its test shard; null = none
  std::size_t num_classes = 2;           // over all workers' data (LabelTask::kClasses)
  std::uint64_t seed = 1;                // initialisation and augmentation streams
  int rank = 0;
  // The data's own label of each class (LoadedData::class_labels), for the
  // saved model; empty: +1/−1 or class numbers.
  std::vector<double> class_labels = {};
  // --standardize's statistics (LoadedData::scaling): a saved linear model is
  // turned back into one of the raw features. Null: none.
  std::shared_ptr<const FeatureScaling> scaling = nullptr;
};

// What a factory gives one worker.
struct WorkerObjectives {
  std::unique_ptr<Objective> train;
  std::unique_ptr<Objective> test;  // null without a test shard
  // Writes the model at x into `folder` in the objective's own format
  // (model.liblinear, model.pt) and returns the file; null: cannot be saved.
  std::function<Result<std::filesystem::path>(const std::filesystem::path& folder, std::span<const double> x)>
      save_model;
};

struct ObjectiveFactory {
  std::string name;                       // --problem NAME
  std::string description;                // one line for --help
  LabelTask labels = LabelTask::kBinary;  // how the data loader reads labels for it
  // kBinary: a file of K > 2 labels is K classes (num_classes in the inputs),
  // not an error (DataOptions::multiclass): logreg goes multinomial.
  bool multiclass = false;
  // Builds one worker's objectives. Errors name the setting at fault.
  std::function<Result<WorkerObjectives>(const ObjectiveSettings&, const ObjectiveInputs&)> make;
  // Checks the settings before any data is read; null: none to check.
  std::function<Status(const ObjectiveSettings&)> check;

  bool network() const { return labels == LabelTask::kClasses; }
};

// The settings every objective shares (λ ≥ 0, finite), then the factory's own check.
Status CheckObjectiveSettings(const ObjectiveFactory& factory, const ObjectiveSettings& settings);

class ObjectiveRegistry {
 public:
  // logreg, leastsq and ncvx-logreg (crpsgd/linear_models.h).
  static ObjectiveRegistry WithLinearModels();

  // A name already registered is an error.
  Status Add(ObjectiveFactory factory);
  // Null when no objective has this name.
  const ObjectiveFactory* Find(std::string_view name) const;
  // The factory called `name`, or InvalidArgument listing every name.
  Result<const ObjectiveFactory*> Get(std::string_view name) const;
  std::vector<std::string> Names() const;

  // CheckObjectiveSettings, then the factory's make.
  Result<WorkerObjectives> Make(std::string_view name, const ObjectiveSettings& settings,
                                const ObjectiveInputs& inputs) const;

 private:
  std::vector<ObjectiveFactory> factories_;
};

}  // namespace crpsgd
