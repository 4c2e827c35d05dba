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
// Top-level keys: the data and run settings below, workers, backend,
// eval_every, eval_every_sfo, eval_samples, eval_batch_norm, threads, net_model, seeds.
// Data keys are the data flags' names with '_' for '-' (problem, data, format,
// test_data, positive_class, negative_class, lambda, normalize, augment,
// hidden, bias, synthetic_samples, synthetic_features, synthetic_noise, synthetic_condition); run
// keys are the algorithm flags' (algo, batch, b1, rho, sync_period, theta,
// outer_iters, inner_budget, lr, momentum, weight_decay, lr_schedule,
// lr_batch_scaling, lr_max). An
// unknown key is an error that names it.
#pragma once

#include <filesystem>

#include "flags.h"

namespace crpsgd::cli {

// Reads the config into a job (flags on the command line that are not in
// the file keep their values).
Status LoadCompareConfig(const std::filesystem::path& path, Job& job);

}  // namespace crpsgd::cli
