// A job of the crpsgd tool: the flags as library options, and how to execute one or more runs
// on every worker; rank 0 writes the outputs and reports.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "crpsgd/communicator.h"
#include "crpsgd/data_loader.h"
#include "crpsgd/dataset.h"
#include "crpsgd/objective_registry.h"
#include "crpsgd/train.h"
#include "flags.h"

namespace crpsgd::cli {

struct Job;

// --standardize's statistics of a network's run, beside its model.pt: predict applies them.
inline constexpr const char* kFeatureScalingFile = "feature_scaling.json";

// The starting point --init-model names, checked against the problem, the
// data's features and --bias; empty without --init-model.
Result<std::vector<double>> LoadInitialPoint(const Job& job, const LoadedData& data);

// What LoadData decided for --bias auto and --standardize auto, into the job,
// and --init-model's starting point for that data.
Status AdoptLoadedData(Job& job, const LoadedData& data);

struct Job {
  DataFlags data;
  RunFlags run;
  const ObjectiveFactory* objective = nullptr;  // --problem's
  DataOptions data_options;                     // `data` as the library's options
  ObjectiveSettings objective_settings;         // likewise; its bias as loaded (AdoptLoadedData)
  bool standardized = false;                    // --standardize, auto resolved on the data
  std::vector<RunRequest> requests;
  bool sweep = false;
  bool compare = false;  // `crpsgd compare`: also draws figures
  // The seeds to repeat every run with (a sweep's --seeds); one seed = --seed.
  std::vector<std::uint64_t> seeds;
  std::optional<NetworkModel> net_model;  // --net-model
  // train and sweep: the effective configuration, written to --out as config.toml.
  std::string effective_config;
  std::vector<double> initial_x;  // --init-model; empty = zeros
  struct Fault {
    enum class Kind { kKill, kStop, kThrow };
    // kill -9 (a dead worker), SIGSTOP (a hung one) or a C++ exception (a
    // library error inside a worker, e.g. LibTorch's)
    Kind kind = Kind::kKill;
    int rank = 0;
    std::uint64_t round = 0;
  };
  std::optional<Fault> fault;  // --inject-fault

  bool network() const { return objective != nullptr && objective->network(); }
};

// Parses --inject-fault "kill|stop:rank=R,round=T" and checks the checkpoint flags
// (train only, need --out). Before any output exists.
Status ValidateReliabilityFlags(Job& job);

// --resume of a train run that finished (its summary.json is written): a
// line saying so, for the caller to print before exiting 0; nullopt otherwise.
std::optional<std::string> FinishedRun(const RunFlags& run);

struct RunOutcome {
  RunRequest request;
  std::uint64_t seed = 0;
  Status status;       // OK or Diverged (a sweep keeps going past a diverged step)
  RunSummary summary;  // valid when status is OK
};

struct JobReport {
  std::optional<double> f_star;
  std::string f_star_method;
  std::optional<SmoothnessEstimate> lipschitz;
  std::vector<RunOutcome> runs;
};

// What does not depend on the seed (f and the data are the same; only shards
// and sampling change): computed with the first seed, reused by the others.
// Each worker keeps its own copy, so that threads never share one.
struct SeedIndependent {
  std::optional<double> f_star;
  std::string f_star_method;
  std::optional<SmoothnessEstimate> lipschitz;
  bool computed = false;
};

// Collective: every worker calls it, for one seed (shards and sampling
// derive from it). Rank 0 fills *report (others may pass nullptr) and, when
// --out is set, writes each run's metrics.jsonl and summary.json. Progress
// goes to stderr on rank 0 unless --quiet. With release_data (a process of
// one worker, at its last seed), `data` is emptied once the worker has its
// shard, so that each worker keeps only its own samples while it trains.
Status RunJob(Communicator& comm, const Job& job, LoadedData& data, std::uint64_t seed, SeedIndependent& cache,
              JobReport* report, bool release_data = false);

}  // namespace crpsgd::cli
