// The networks as objectives of the registry: softmax, mlp, resnet20, and
// your own TorchScript module (--model).
#include "crpsgd/objective_registry.h"
#include "crpsgd/torch.h"

namespace crpsgd {
namespace {

Status CheckNetwork(const ObjectiveSettings& s) {
  if (s.precision != Precision::kFloat64) {
    return Status::InvalidArgument("--precision is for linear models; networks train in LibTorch's float32");
  }
  return Status::OK();
}

Status CheckScript(const ObjectiveSettings& s) {
  CRPSGD_RETURN_IF_ERROR(CheckNetwork(s));
  if (s.model_file.empty()) return Status::InvalidArgument("--problem torchscript needs --model FILE.pt");
  return ParseTorchLoss(s.loss).status();
}

// A built-in network (`model`), or with `script` the module of --model.
ObjectiveFactory Network(TorchModel model, std::string description, bool script = false) {
  ObjectiveFactory factory;
  factory.name = script ? "torchscript" : TorchModelName(model);
  factory.description = std::move(description);
  factory.labels = LabelTask::kClasses;
  factory.check = script ? CheckScript : CheckNetwork;
  factory.make = [model, script](const ObjectiveSettings& s, const ObjectiveInputs& in) -> Result<WorkerObjectives> {
    if (s.augment && in.train->image_shape.empty()) {
      return Status::InvalidArgument("--augment needs a network (--problem softmax, mlp, resnet20) and image data");
    }
    TorchObjectiveOptions options;
    options.model = model;
    if (script) {
      options.script_module = s.model_file;
      CRPSGD_ASSIGN_OR_RETURN(options.loss, ParseTorchLoss(s.loss));
    }
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
  CRPSGD_RETURN_IF_ERROR(
      registry.Add(Network(TorchModel::kResNet20, "ResNet-20 (He et al. 2016), for 32x32 or 28x28 images")));
  return registry.Add(Network(TorchModel::kSoftmax, "your own network: the TorchScript module of --model", true));
}

}  // namespace crpsgd
