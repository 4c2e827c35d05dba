// The objectives this build has: the library's linear models, and its
// networks when it was built with LibTorch (what --problem can name).
#pragma once

#include <filesystem>
#include <functional>
#include <string>

#include "crpsgd/objective_registry.h"

namespace crpsgd {

const ObjectiveRegistry& BuiltInObjectives();

// The factory --problem names; a network in a build without LibTorch says so.
Result<const ObjectiveFactory*> ObjectiveFor(const std::string& problem);

// The reader of --format tensors files (crpsgd::ReadTensorFile), or null in a
// build without LibTorch (the loader then says so).
std::function<Result<Dataset>(const std::filesystem::path&)> TensorFileReader();

// Process-wide settings an objective needs before any worker starts
// (LibTorch's intra-op threads for --threads).
void ConfigureProcess(const ObjectiveFactory& objective, int threads);

}  // namespace crpsgd
