#include "crpsgd/objective_registry.h"

#include <cmath>

#include "crpsgd/liblinear_model.h"
#include "crpsgd/linear_models.h"

namespace crpsgd {
namespace {

Status CheckLinearModel(const ObjectiveSettings& s) {
  if (s.augment) {
    return Status::InvalidArgument("--augment needs a network (--problem softmax, mlp, resnet20) and image data");
  }
  return Status::OK();
}

// model.liblinear in the run's folder: the data's own labels, and weights of
// the raw features (--standardize's scaling undone).
std::function<Result<std::filesystem::path>(const std::filesystem::path&, std::span<const double>)> LiblinearSaver(
    Problem problem, double bias, std::vector<double> labels, std::shared_ptr<const FeatureScaling> scaling) {
  return [=](const std::filesystem::path& folder, std::span<const double> x) -> Result<std::filesystem::path> {
    const std::filesystem::path file = folder / "model.liblinear";
    std::vector<double> raw(x.begin(), x.end());
    if (scaling) raw = UnscaleWeights(x, *scaling, labels.size() > 2 ? labels.size() : 1, bias);
    CRPSGD_RETURN_IF_ERROR(WriteLiblinearModel(file, problem, raw, bias, labels));
    return file;
  };
}

// logreg on K > 2 classes: the multinomial model, saved with K weight columns.
Result<WorkerObjectives> MakeMultinomial(const ObjectiveSettings& s, const ObjectiveInputs& in) {
  if (s.precision != Precision::kFloat64) {
    return Status::InvalidArgument("--precision float32: logreg on " + std::to_string(in.num_classes) +
                                   " classes (multinomial) stores float64 features only");
  }
  for (const Dataset* d : {in.train.get(), in.test.get()}) {
    if (d == nullptr) continue;
    for (double y : d->labels) {
      if (!(y >= 0 && y < static_cast<double>(in.num_classes)) || y != std::floor(y)) {
        return Status::InvalidArgument(d->source + ": label " + std::to_string(y) + " is not a class in 0.." +
                                       std::to_string(in.num_classes - 1));
      }
    }
  }
  WorkerObjectives out;
  out.train = std::make_unique<MultinomialLogisticObjective>(in.train, in.num_classes, s.lambda);
  if (in.test) out.test = std::make_unique<MultinomialLogisticObjective>(in.test, in.num_classes, s.lambda);
  std::vector<double> labels = in.class_labels;
  if (labels.size() != in.num_classes) {  // class numbers as given: they are the labels
    labels.clear();
    for (std::size_t k = 0; k < in.num_classes; ++k) labels.push_back(static_cast<double>(k));
  }
  out.save_model = LiblinearSaver(Problem::kLogistic, s.bias, labels, in.scaling);
  return out;
}

ObjectiveFactory LinearModel(Problem problem, std::string description) {
  ObjectiveFactory factory;
  factory.name = ProblemName(problem);
  factory.description = std::move(description);
  factory.labels = problem == Problem::kLeastSquares ? LabelTask::kRegression : LabelTask::kBinary;
  factory.multiclass = problem == Problem::kLogistic;
  factory.check = CheckLinearModel;
  factory.make = [problem](const ObjectiveSettings& s, const ObjectiveInputs& in) -> Result<WorkerObjectives> {
    if (problem == Problem::kLogistic && in.num_classes > 2) return MakeMultinomial(s, in);
    const auto linear = [&](std::shared_ptr<const Dataset> samples) {
      auto f = std::make_unique<LinearModelObjective>(problem, std::move(samples), s.lambda, s.precision);
      f->set_threads(s.threads);
      return f;
    };
    WorkerObjectives out;
    out.train = linear(in.train);
    if (in.test) out.test = linear(in.test);
    // Binary: the data's own two labels (1/0 stays 1/0); none for regression.
    const std::vector<double> labels = problem == Problem::kLeastSquares ? std::vector<double>{} : in.class_labels;
    out.save_model = LiblinearSaver(problem, s.bias, labels, in.scaling);
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
      LinearModel(Problem::kLogistic,
                  "logistic regression, L2-regularised (convex); multinomial when the labels have more than two "
                  "values"),
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
