#include "crpsgd/predict.h"

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "crpsgd/config.h"
#include "crpsgd/files.h"
#include "crpsgd/job.h"
#include "crpsgd/liblinear_model.h"
#include "crpsgd/built_in_objectives.h"
#if CRPSGD_WITH_TORCH
#include "crpsgd/torch.h"
#endif

namespace crpsgd {
namespace {

std::string Printf(const char* format, double value) {
  char text[64];
  std::snprintf(text, sizeof text, format, value);
  return text;
}

// A network's model.pt (--save-model): the network --problem names, built for
// the data's classes, with the file's parameters and batch-norm statistics; or
// with --problem torchscript, the TorchScript module a --model run saved.
Result<std::string> PredictWithNetwork(const PredictOptions& options) {
#if CRPSGD_WITH_TORCH
  const ObjectiveFactory* objective = BuiltInObjectives().Find(options.problem);
  if (objective == nullptr || !objective->network()) {
    return Status::InvalidArgument("--model " + options.model.string() +
                                   " is a network's model.pt: give the --problem it was "
                                   "trained as (softmax, mlp or resnet20, and --hidden for mlp; torchscript for the "
                                   "model.pt of a --model run)");
  }
  CRPSGD_ASSIGN_OR_RETURN(const TorchLoss loss, ParseTorchLoss(options.loss));
  if (loss == TorchLoss::kModel) {
    return Status::InvalidArgument("--loss model: predict scores classifiers (cross-entropy) and regressions (mse)");
  }
  DataOptions data_options = options.data;
  data_options.labels = LabelTask::kClasses;
  data_options.standardize = false;                        // the statistics of training, if any, are applied below
  data_options.labels_as_given = loss == TorchLoss::kMse;  // real targets, as training read them
  CRPSGD_ASSIGN_OR_RETURN(LoadedData loaded, LoadData(data_options, /*seed=*/1));
  // A run with --standardize left its training statistics beside the model: the scored file gets them too.
  const std::filesystem::path scaling_file = options.model.parent_path() / kFeatureScalingFile;
  if (std::filesystem::exists(scaling_file)) {
    CRPSGD_ASSIGN_OR_RETURN(const FeatureScaling scaling, ReadFeatureScaling(scaling_file));
    if (scaling.scale.size() != loaded.train.num_features() || scaling.mean.size() != scaling.scale.size()) {
      return Status::InvalidArgument(scaling_file.string() + ": statistics of " + std::to_string(scaling.scale.size()) +
                                     " features, " + options.data.train.string() + " has " +
                                     std::to_string(loaded.train.num_features()));
    }
    if (std::any_of(scaling.mean.begin(), scaling.mean.end(), [](double m) { return m != 0.0; })) {
      MakeDense(loaded.train);  // centred in training, so stored dense there too
    }
    ApplyScaling(loaded.train, scaling);
  }
  TorchObjectiveOptions network_options;
  network_options.loss = loss;
  const bool script = options.problem == "torchscript";
  if (script) {
    network_options.script_module = options.model;  // its parameters and buffers are the trained ones
  } else {
    CRPSGD_ASSIGN_OR_RETURN(network_options.model, ParseTorchModel(options.problem));
  }
  network_options.num_classes = loaded.num_classes;
  network_options.hidden = options.hidden;
  CRPSGD_ASSIGN_OR_RETURN(std::unique_ptr<TorchObjective> network, MakeTorchObjective(loaded.train, network_options));
  std::vector<double> x = network->InitialPoint();
  if (!script) {
    CRPSGD_ASSIGN_OR_RETURN(x, network->Load(options.model));
  }
  std::vector<std::size_t> all(loaded.train.num_samples());
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
  if (loss == TorchLoss::kMse) {
    CRPSGD_ASSIGN_OR_RETURN(const std::vector<double> values, network->PredictValues(x, all));
    std::ostringstream predictions;
    for (double v : values) predictions << Printf("%.17g", v) << "\n";
    if (!options.out.empty()) CRPSGD_RETURN_IF_ERROR(WriteFileAtomic(options.out, predictions.str()));
    return RegressionLines(values, loaded.train.labels, /*with_r2=*/true);
  }
  CRPSGD_ASSIGN_OR_RETURN(const std::vector<std::int64_t> classes, network->PredictClasses(x, all));
  std::ostringstream predictions;
  std::size_t correct = 0;
  for (std::size_t i = 0; i < classes.size(); ++i) {
    predictions << classes[i] << "\n";
    correct += static_cast<double>(classes[i]) == loaded.train.labels[i] ? 1 : 0;
  }
  if (!options.out.empty()) CRPSGD_RETURN_IF_ERROR(WriteFileAtomic(options.out, predictions.str()));
  return AccuracyLine(correct, classes.size());
#else
  return Status::InvalidArgument("--model " + options.model.string() +
                                 ": a network's model; this build has no LibTorch");
#endif
}

}  // namespace

Result<std::string> Predict(const PredictOptions& options) {
  const std::string model_file = options.model.string();
  if (model_file.ends_with(".pt")) return PredictWithNetwork(options);
  if (const ObjectiveFactory* objective = BuiltInObjectives().Find(options.problem);
      objective && objective->network()) {
    return Status::InvalidArgument("--problem " + options.problem + ": " + model_file +
                                   " is a LIBLINEAR model (a network's model is a .pt file)");
  }
  CRPSGD_ASSIGN_OR_RETURN(const LiblinearModel model, ReadLiblinearModel(model_file));
  const std::optional<double> bias = options.data.bias;
  if (bias.value_or(0.0) != 0.0 && *bias != model.bias) {
    return Status::InvalidArgument(
        "--bias " + Printf("%g", *bias) + ": " + model_file +
        (model.bias >= 0 ? " was trained with a bias feature of " + Printf("%g", model.bias) : " has no bias feature") +
        " (predict takes it from the model: drop --bias)");
  }
  // The file's labels as they are, compared with the model's own labels as LIBLINEAR does.
  DataOptions data_options = options.data;
  data_options.labels = LabelTask::kRegression;
  data_options.bias = 0.0;           // added from the model's own value in Margins
  data_options.standardize = false;  // the model is of the raw features (train folded any scaling into it)
  CRPSGD_ASSIGN_OR_RETURN(LoadedData loaded, LoadData(data_options, /*seed=*/1));
  const LiblinearPredictions predicted = PredictLiblinear(model, loaded.train);
  if (!options.out.empty()) CRPSGD_RETURN_IF_ERROR(WriteFileAtomic(options.out, predicted.predictions));
  return predicted.lines;
}

}  // namespace crpsgd
