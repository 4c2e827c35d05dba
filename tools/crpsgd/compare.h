// `crpsgd compare --config FILE`: several runs of one problem at one budget,
// described in a JSON file, then figures and a table.
//
//   {
//     "problem": "logreg", "data": "/usr/share/.../train-images-idx3-ubyte.gz",
//     "positive_class": 0, "lambda": 1e-4,
//     "workers": 10, "budget": 6000, "seeds": [1, 2, 3],
//     "runs": [ {"algo": "psgd", "batch": 1, "lr": "auto*1"},
//               {"algo": "cr-psgd", "b1": 4, "rho": 1.04, "lr": "auto*8"} ]
//   }
//
// Keys are the flags' names with '_' for '-' (or '-' itself): at the top,
// the settings every run shares (settings.h's rows in scope kCompare: the
// data, workers, seed, evaluation, targets, budget, ...) and "seeds"; in each
// run, "algo" and the run keys (kRunKey: batch, b1, rho, lr, ...), the keys
// of sweep's --run. An unknown key is an error that names it.
#pragma once

#include <filesystem>
#include <vector>

#include <nlohmann/json.hpp>

#include "flags.h"

namespace crpsgd::cli {

// The config's settings, typed and checked by settings.h's table: the shared
// ones into `job` (data, run flags, seeds), each run's into its AlgoFlags
// (the shared algorithm settings, then "algo" and its run keys). Errors name
// `file` and the run.
Result<std::vector<AlgoFlags>> ReadCompareConfig(const nlohmann::json& config, const std::string& file, Job& job);

// Reads the config into a job (flags on the command line that are not in
// the file keep their values).
Status LoadCompareConfig(const std::filesystem::path& path, Job& job);

}  // namespace crpsgd::cli
