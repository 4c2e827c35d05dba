// A job of the crpsgd tool: load data, shard it, and execute one or more runs
// on every worker; rank 0 writes the outputs and reports.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "crpsgd/communicator.h"
#include "crpsgd/dataset.h"
#include "crpsgd/train.h"
#include "flags.h"

namespace crpsgd::cli {

struct Job;

struct LoadedData {
  // --sharding random: the whole training (and test) set, which every worker
  // shards by seed. --sharding byte-range: empty; `parts` has the data instead.
  Dataset train;
  std::optional<Dataset> test;
  // --sharding byte-range: worker r's own part of the training file (and of
  // the test file), by r, for the workers of this process: every worker
  // in-process, this rank's alone under mpirun. Shared with the objectives,
  // never copied.
  struct Part {
    std::shared_ptr<Dataset> train, test;  // test: null without --test-data
  };
  std::map<int, Part> parts;
  std::size_t num_features = 0;       // of the model: every worker's data has this width
  std::size_t num_train_samples = 0;  // all workers' together
  std::size_t num_classes = 2;        // networks: the largest training label + 1

  bool byte_range() const { return !parts.empty(); }
};

// Which byte-range parts a process reads: those of `ranks`, out of `workers`.
struct PartsToRead {
  std::vector<int> ranks;
  int workers = 1;
};

// True for --problem softmax, mlp and resnet20 (LibTorch networks).
bool IsNetwork(const std::string& problem);

// Reads (or generates) the training and test data the flags name. Every MPI
// rank calls it and gets the same result, so all fail together on bad input.
// With --sharding byte-range only the parts in `parts` are read; when they
// are not all the workers' (under mpirun), AgreeOnParts must follow.
Result<LoadedData> LoadData(const DataFlags& flags, std::uint64_t seed, const PartsToRead& parts = {});

// --sharding byte-range under mpirun, after LoadData read this rank's part:
// the ranks agree on the model's width (the largest feature index of any
// part) and check every part (collective; also when this rank's read failed).
// A part that failed ends every rank with the error of the lowest such rank;
// *print_here is true on that rank alone, so the message appears once.
Status AgreeOnParts(Communicator& comm, const DataFlags& flags, Result<LoadedData>& data, bool* print_here);

// The starting point --init-model names, checked against the problem, the
// data's features and --bias; empty without --init-model.
Result<std::vector<double>> LoadInitialPoint(const Job& job, const LoadedData& data);

struct Job {
  DataFlags data;
  RunFlags run;
  Problem problem = Problem::kLogistic;  // linear models
  std::string network;                   // "softmax", "mlp" or "resnet20"; empty for linear models
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
// goes to stderr on rank 0 unless --quiet.
Status RunJob(Communicator& comm, const Job& job, const LoadedData& data, std::uint64_t seed,
              SeedIndependent& cache, JobReport* report);

}  // namespace crpsgd::cli
