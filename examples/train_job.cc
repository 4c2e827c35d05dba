// `crpsgd train` as a library call: the same run, the same files, the same
// numbers. A JobSpec says what to train and where the outputs go; Launch runs
// it on in-process workers (or, given a live MpiSession, on the MPI ranks).
//
//   ./train_job DATA OUT [ALGO] [BUDGET] [WORKERS] [RHO]
//
// writes OUT/summary.json, metrics.jsonl and model.liblinear exactly as
//
//   crpsgd train --data DATA --out OUT --algo ALGO --budget BUDGET --workers WORKERS --rho RHO --save-model
//
// does (ALGO cr-psgd, BUDGET 2000, WORKERS 4 and RHO 1.1 by default; RHO may
// be auto). Exits 2 on bad arguments, 1 when the job fails.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "crpsgd/job.h"
#include "crpsgd/built_in_objectives.h"

int main(int argc, char** argv) {
  if (argc < 3 || argc > 7) {
    std::fprintf(stderr, "usage: %s DATA OUT [ALGO] [BUDGET] [WORKERS] [RHO]\n", argv[0]);
    return 2;
  }
  const std::string algo = argc > 3 ? argv[3] : "cr-psgd";
  const std::string rho = argc > 6 ? argv[6] : "1.1";

  crpsgd::JobSpec spec;
  // The problem: L2-regularised logistic regression, from every objective this build has.
  const auto objective = crpsgd::ObjectiveFor("logreg");
  const auto kind = crpsgd::ParseAlgorithm(algo);
  if (!objective.ok() || !kind.ok()) {
    std::fprintf(stderr, "error: %s\n", (objective.ok() ? kind.status() : objective.status()).message().c_str());
    return 2;
  }
  spec.objective = *objective;
  // The data as `crpsgd train` reads it: its labels as the objective wants
  // them, scaling and intercept decided on the data (--standardize auto, --bias auto).
  spec.data.train = argv[1];
  spec.data.labels = spec.objective->labels;
  spec.data.multiclass = spec.objective->multiclass;
  spec.data.standardize = std::nullopt;
  spec.data.bias = std::nullopt;

  // One run: the algorithm's defaults, the budget T, and the safe step
  // 1/(L̂ + L̄/b) from the estimated smoothness (--lr auto).
  crpsgd::RunRequest run;
  run.options.kind = *kind;
  run.options.budget = std::strtoull(argc > 4 ? argv[4] : "2000", nullptr, 10);
  run.safe_step = true;
  if (rho == "auto") {
    run.options.params.Set("rho", "auto");  // the norm test grows the batch
  } else {
    run.options.params.Set("rho", std::strtod(rho.c_str(), nullptr));
  }
  spec.requests = {run};  // the job checks it on the workers it has (once), before it writes anything
  spec.seeds = {1};

  spec.out = argv[2];
  spec.save_model = true;
  spec.quiet = true;

  crpsgd::LaunchOptions launch;
  launch.workers = std::atoi(argc > 5 ? argv[5] : "4");
  const crpsgd::LaunchResult result = crpsgd::Launch(spec, launch);
  if (!result.status.ok()) {
    std::fprintf(stderr, "error: %s\n", result.status.message().c_str());
    return result.status.code() == crpsgd::StatusCode::kInvalidArgument ? 2 : 1;
  }
  const crpsgd::RunSummary& summary = result.report.runs.front().summary;
  std::printf("%s: %llu rounds, %llu SFO per worker, loss %.8f\n", algo.c_str(),
              static_cast<unsigned long long>(summary.rounds), static_cast<unsigned long long>(summary.sfo_per_worker),
              summary.final_loss);
  return 0;
}
