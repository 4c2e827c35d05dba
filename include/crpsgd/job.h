// A job: what `crpsgd train` and `crpsgd sweep` do, as one library call.
//
// A JobSpec names the problem, its data, the runs (algorithm options and how
// each step is chosen), the seeds and the outputs. Launch loads the data once
// per process and runs the job on every worker, in-process (threads) or under
// mpirun; RunJob is one worker's part for one seed. Between them they do
// everything the tool does for a run: shard, build the objective, estimate L̂
// and L̄, choose the step (--lr auto, auto*K) and --rho auto's first batch,
// compute f* once, train with checkpoints and resume, evaluate, and write the
// run's files (metrics.jsonl, summary.json, config.toml, the model). The CLI
// only parses flags into a JobSpec, launches and prints the table.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "crpsgd/algorithm.h"
#include "crpsgd/communicator.h"
#include "crpsgd/data_loader.h"
#include "crpsgd/dataset.h"
#include "crpsgd/fault_injection.h"
#include "crpsgd/metrics.h"
#include "crpsgd/mpi.h"
#include "crpsgd/objective_registry.h"
#include "crpsgd/round_plan.h"
#include "crpsgd/step_search.h"
#include "crpsgd/train.h"

namespace crpsgd {

// One run to execute: the options plus how its step is chosen.
// --budget auto: at most this many passes over the data (T = E·n/N), and
// on a convex problem with f* the run stops once f − f* has closed to
// kConvergedGap of its start. Chosen on the tuning sets (heart_scale,
// scikit-learn's breast cancer; docs/experiments.md, "nothing to choose").
inline constexpr double kAutoBudgetEpochs = 20.0;
inline constexpr double kConvergedGap = 1e-3;

struct RunRequest {
  AlgorithmOptions options;           // lr filled in later when lr_multiple or safe_step is set
  std::optional<double> lr_multiple;  // γ = lr_multiple / L̂ (--lr auto*K, sweeps)
  bool safe_step = false;             // --lr auto: γ = SafeStep(L̂, L̄, batch)
  // Output subfolder in a sweep ("" for train); kRunParameters in it becomes
  // the parameters as --rounds fitted them ("psgd_{parameters}_lr2overL").
  std::string name;
  int group = 0;       // sweep: index of the --run this request came from
  std::string source;  // where it was asked for, leading its errors ("--run 'psgd:batch=4'"); "" for train
  // The budget in passes over the training data (--epochs E, --budget auto):
  // options.budget = ⌈E·n/N⌉ once the data are loaded (ResolveBudget).
  std::optional<double> epochs;
  bool stop_when_converged = false;  // --budget auto: the stop rule above (needs f*)
  // auto without --rounds: R from the measured costs of a round and a sample
  // (round_plan.h), communication within comm_share of the wall time.
  bool plan_rounds = false;
  double comm_share = kDefaultCommShare;
};

// The request with its budget in samples: ⌈epochs·n/N⌉ for `total_samples`
// n over `workers` N, at least one; unchanged without epochs.
RunRequest ResolveBudget(RunRequest request, std::size_t total_samples, int workers);

// In RunRequest::name: the run's parameters, as fitted ("B=300").
inline constexpr const char* kRunParameters = "{parameters}";

// The request's options on N workers (catalyst's split depends on N), as the
// job checks them; a step still to come from L̂ and a budget still to come
// from the data are not checked. For a tool that reports every bad setting at
// once; a job checks each of its requests itself, once.
Status ValidateRequest(const RunRequest& request, int workers = 1);
// A run's description made into a folder name: "psgd B=1" -> "psgd_B-1".
std::string RunFolderName(std::string description);

// --standardize's statistics of a network's run, beside its model.pt: predict applies them.
inline constexpr const char* kFeatureScalingFile = "feature_scaling.json";
// Reads kFeatureScalingFile ({"mean": [...], "scale": [...]}).
Result<FeatureScaling> ReadFeatureScaling(const std::filesystem::path& file);

struct JobSpec {
  // The problem and its data.
  const ObjectiveFactory* objective = nullptr;  // BuiltInObjectives() or your registry's
  DataOptions data;
  ObjectiveSettings objective_settings;  // its bias: set from the loaded data (AdoptLoadedData)
  std::filesystem::path init_model;      // a LIBLINEAR model: the starting point of a linear model
  std::uint64_t data_seed = 1;           // generates synthetic data (--seed)

  // The runs, each repeated with every seed (shards and sampling derive from it).
  std::vector<RunRequest> requests;
  std::vector<std::uint64_t> seeds = {1};
  bool sweep = false;  // runs in subfolders of `out`; a diverged run does not end the job

  // Evaluation and the cost model.
  std::uint64_t eval_every = 0;       // rounds; with eval_every_sfo also 0: the algorithm's log scale
  std::uint64_t eval_every_sfo = 0;   // samples per worker
  std::uint64_t eval_samples = 0;     // evaluate on this many samples (0: all)
  bool recompute_batch_norm = false;  // networks: batch-norm statistics recomputed before evaluating
  bool compute_f_star = true;         // convex problems: the optimum, for f − f*
  std::optional<NetworkModel> net_model;
  bool barrier_before_rounds = false;  // comm_s without the wait for the slowest worker
  // --round-timeout: how long a round waits for a silent worker (the mpi
  // backend's ordered all-reduce). Default: auto, 10× the median round, at least 60 s.
  RoundTimeout round_timeout{.fixed = {}, .automatic = true};
  RunTargets targets;  // each run stops at the first evaluated round that reaches one

  // Outputs, written by rank 0 (none when `out` is empty).
  std::filesystem::path out;
  std::uint64_t checkpoint_every = 0;  // a checkpoint every K rounds in out/checkpoint (0: none)
  bool resume = false;                 // continue from out/checkpoint
  bool overwrite = false;              // an earlier run's files in `out` go, once the inputs are checked
  bool save_model = false;             // model.liblinear or model.pt beside summary.json
  std::string config_toml;             // written to out/config.toml before training (empty: none)

  // Progress and notes on rank 0's stderr, each line "crpsgd: ...".
  bool quiet = false;
  bool verbose = false;  // a line per evaluated round

  // Tests (--inject-fault): every run's workers train through a
  // FaultInjectingCommunicator with this fault.
  std::optional<Fault> fault;

  // Filled by AdoptLoadedData from the loaded data.
  bool standardized = false;      // --standardize, auto resolved
  std::vector<double> initial_x;  // init_model's weights; empty: zeros

  bool network() const { return objective != nullptr && objective->network(); }
  // A request samples with --sampling global: every worker needs the whole training set.
  bool samples_globally() const {
    return std::any_of(requests.begin(), requests.end(),
                       [](const RunRequest& r) { return r.options.sampling == Sampling::kGlobal; });
  }
};

// The settings of `spec` that no data is needed to check, each at once:
// what needs `out`, eval schedules that exclude each other, batch-norm
// recomputation for networks only, --resume without a checkpoint.
Status ValidateJob(const JobSpec& spec);

// The starting point `init_model` names, checked against the problem, the
// data's features and bias; empty without init_model.
Result<std::vector<double>> LoadInitialPoint(const JobSpec& spec, const LoadedData& data);

// What LoadData decided for bias and standardize (auto), into the spec, and
// init_model's starting point for that data.
Status AdoptLoadedData(JobSpec& spec, const LoadedData& data);

// A resumed train run that finished (its summary.json is written): a line
// saying so, for the caller to print before exiting 0; nullopt otherwise.
std::optional<std::string> FinishedRun(const JobSpec& spec);

struct RunOutcome {
  RunRequest request;  // its options as --rounds set them (FitToRounds), its folder name made
  std::uint64_t seed = 0;
  Status status;       // OK or Diverged (a sweep keeps going past a diverged step)
  RunSummary summary;  // valid when status is OK

  // The algorithm's parameters as tables and legends show them ("B1=1 rho=1.1"):
  // those that ran (the step rule's first batch included), or those asked for.
  std::string Parameters() const { return status.ok() ? summary.algorithm.Describe() : request.options.Describe(); }
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
  std::vector<std::uint64_t> planned_rounds;  // by request: RunRequest::plan_rounds's R (0: none)
  // By request: a network's --lr auto, from the range test (step_search.h), and its samples per worker.
  std::vector<std::optional<StepSearchResult>> searched_steps;
};

// Collective: every worker calls it, for one seed (shards and sampling derive
// from it), with the data AdoptLoadedData saw. Rank 0 fills *report (others
// may pass nullptr) and, when `out` is set, writes each run's files. With
// release_data (a process of one worker, at its last seed), `data` is emptied
// once the worker has its shard, so that each keeps only its own samples.
Status RunJob(Communicator& comm, const JobSpec& spec, LoadedData& data, std::uint64_t seed, SeedIndependent& cache,
              JobReport* report, bool release_data = false);

// The N the job's runs plan for: `workers`, or the plan's N of the checkpoint
// a --resume goes on from (which may have been another number). Launch hosts
// a plan of more workers than there are on those there are (hosted.h).
int JobPlanWorkers(const JobSpec& spec, int workers);

enum class Backend {
  kInProcess,  // the workers are threads of this process
  kMpi,        // one worker per MPI rank (under mpirun); needs a live MpiSession
};

// The rank and the number of ranks mpirun gave this process, read from the
// environment before MPI starts (0 and 1 without mpirun): which rank prints.
int MpirunRank();
int MpirunWorldSize();
// kMpi under mpirun in a build with MPI, else kInProcess.
Backend DefaultBackend();
// --backend: auto (DefaultBackend), inproc or mpi; --mpi-reduction: ordered or native.
Result<Backend> ParseBackend(std::string_view name);
Result<MpiReduction> ParseMpiReduction(std::string_view name);

struct LaunchOptions {
  Backend backend = Backend::kInProcess;
  int workers = 1;  // kInProcess: the threads; kMpi: 0 or the ranks mpirun started
  MpiReduction mpi_reduction = MpiReduction::kOrdered;
  std::chrono::seconds mpi_timeout = kDefaultMpiTimeout;
};

struct LaunchResult {
  Status status;
  JobReport report;    // rank 0's, every seed's runs in order; empty on the other ranks
  bool leader = true;  // this process holds rank 0
  // Whether this process should print `status`: one message per job, from
  // rank 0 for what every rank saw (bad input, a divergence), else from the
  // rank that saw it.
  bool print_error = true;
  // kMpi: a failure this rank may have seen alone; the caller must end every
  // rank (MpiSession::AbortJob) rather than let the others wait.
  bool abort_job = false;
};

// Loads the data (once per process; under MPI each rank its own byte-range
// part), adopts it into `spec`, and runs RunJob for every seed on every
// worker. `finish`, when given, runs on rank 0 after the last seed (the
// caller's table and files); its error is the job's.
LaunchResult Launch(JobSpec spec, const LaunchOptions& options,
                    const std::function<Status(const JobReport&)>& finish = nullptr);

}  // namespace crpsgd
