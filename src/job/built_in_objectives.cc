#include "crpsgd/built_in_objectives.h"

#include <cstdio>
#include <cstdlib>

#include "crpsgd/config.h"
#if CRPSGD_WITH_TORCH
#include "crpsgd/torch.h"
#endif

namespace crpsgd {

const ObjectiveRegistry& BuiltInObjectives() {
  static const ObjectiveRegistry registry = [] {
    ObjectiveRegistry r = ObjectiveRegistry::WithLinearModels();
#if CRPSGD_WITH_TORCH
    if (const Status added = RegisterTorchObjectives(r); !added.ok()) {
      std::fprintf(stderr, "crpsgd: internal error: %s\n", added.message().c_str());
      std::abort();
    }
#endif
    return r;
  }();
  return registry;
}

Result<const ObjectiveFactory*> ObjectiveFor(const std::string& problem) {
  if (BuiltInObjectives().Find(problem) == nullptr &&
      (problem == "softmax" || problem == "mlp" || problem == "resnet20" || problem == "torchscript")) {
    return Status::InvalidArgument("--problem " + problem +
                                   ": this build has no LibTorch (install libtorch-dev and "
                                   "rebuild)");
  }
  return BuiltInObjectives().Get(problem);
}

std::function<Result<Dataset>(const std::filesystem::path&)> TensorFileReader() {
#if CRPSGD_WITH_TORCH
  return ReadTensorFile;
#else
  return nullptr;
#endif
}

void ConfigureProcess(const ObjectiveFactory& objective, int threads) {
#if CRPSGD_WITH_TORCH
  if (objective.network() && threads > 0) SetTorchThreads(threads);
#else
  (void)objective;
  (void)threads;
#endif
}

}  // namespace crpsgd
