#include "crpsgd/objective_registry.h"

#include <cmath>

#include "crpsgd/liblinear_model.h"

namespace crpsgd {
namespace {

Status CheckLinearModel(const ObjectiveSettings& s) {
  if (s.augment) {
    return Status::InvalidArgument("--augment needs a network (--problem softmax, mlp, resnet20) and image data");
  }
  return Status::OK();
}

ObjectiveFactory LinearModel(Problem problem, std::string description) {
  ObjectiveFactory factory;
  factory.name = ProblemName(problem);
  factory.description = std::move(description);
  factory.labels = problem == Problem::kLeastSquares ? LabelTask::kRegression : LabelTask::kBinary;
  factory.check = CheckLinearModel;
  factory.make = [problem](const ObjectiveSettings& s, const ObjectiveInputs& in) -> Result<WorkerObjectives> {
    const auto linear = [&](std::shared_ptr<const Dataset> samples) {
      auto f = std::make_unique<LinearModelObjective>(problem, std::move(samples), s.lambda, s.precision);
      f->set_threads(s.threads);
      return f;
    };
    WorkerObjectives out;
    out.train = linear(in.train);
    if (in.test) out.test = linear(in.test);
    const double bias = s.bias;
    out.save_model = [problem, bias](const std::filesystem::path& folder,
                                     std::span<const double> x) -> Result<std::filesystem::path> {
      const std::filesystem::path file = folder / "model.liblinear";
      CRPSGD_RETURN_IF_ERROR(WriteLiblinearModel(file, problem, x, bias));
      return file;
    };
    return out;
  };
  return factory;
}

}  // namespace

Status CheckObjectiveSettings(const ObjectiveFactory& factory, const ObjectiveSettings& settings) {
  if (!(settings.lambda >= 0.0) || !std::isfinite(settings.lambda)) {
    return Status::InvalidArgument("--lambda must be >= 0 (got " + std::to_string(settings.lambda) + ")");
  }
  return factory.check ? factory.check(settings) : Status::OK();
}

ObjectiveRegistry ObjectiveRegistry::WithLinearModels() {
  ObjectiveRegistry registry;
  registry.factories_ = {
      LinearModel(Problem::kLogistic, "logistic regression, L2-regularised (convex)"),
      LinearModel(Problem::kLeastSquares, "least squares, L2-regularised (convex)"),
      LinearModel(Problem::kNonconvexLogistic, "logistic regression with a non-convex regulariser"),
  };
  return registry;
}

Status ObjectiveRegistry::Add(ObjectiveFactory factory) {
  if (factory.name.empty() || !factory.make) {
    return Status::InvalidArgument("an objective needs a name and a make function");
  }
  if (Find(factory.name) != nullptr) {
    return Status::InvalidArgument("objective '" + factory.name + "' is registered already");
  }
  factories_.push_back(std::move(factory));
  return Status::OK();
}

const ObjectiveFactory* ObjectiveRegistry::Find(std::string_view name) const {
  for (const ObjectiveFactory& factory : factories_) {
    if (factory.name == name) return &factory;
  }
  return nullptr;
}

Result<const ObjectiveFactory*> ObjectiveRegistry::Get(std::string_view name) const {
  if (const ObjectiveFactory* factory = Find(name)) return factory;
  std::string choices;
  for (std::size_t i = 0; i < factories_.size(); ++i) {
    if (i > 0) choices += i + 1 == factories_.size() ? " or " : ", ";
    choices += factories_[i].name;
  }
  return Status::InvalidArgument("--problem must be " + choices + ", got '" + std::string(name) + "'");
}

std::vector<std::string> ObjectiveRegistry::Names() const {
  std::vector<std::string> names;
  for (const ObjectiveFactory& factory : factories_) names.push_back(factory.name);
  return names;
}

Result<WorkerObjectives> ObjectiveRegistry::Make(std::string_view name, const ObjectiveSettings& settings,
                                                 const ObjectiveInputs& inputs) const {
  CRPSGD_ASSIGN_OR_RETURN(const ObjectiveFactory* factory, Get(name));
  CRPSGD_RETURN_IF_ERROR(CheckObjectiveSettings(*factory, settings));
  if (inputs.train == nullptr) return Status::InvalidArgument("objective '" + factory->name + "': no training shard");
  return factory->make(settings, inputs);
}

}  // namespace crpsgd
