// The settings of `crpsgd train`, `sweep` and `compare` as flags structs, and
// their translation into the library's options. Each field is one row of
// settings.h's tables (name, help, check); its initial value is the default,
// most taken from the library's options.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "crpsgd/algorithm.h"
#include "crpsgd/data_loader.h"
#include "crpsgd/dataset.h"
#include "crpsgd/job.h"
#include "crpsgd/linear_models.h"
#include "crpsgd/mpi.h"
#include "crpsgd/objective_registry.h"
#include "crpsgd/predict.h"
#include "crpsgd/round_plan.h"

namespace crpsgd::cli {

struct DataFlags {
  std::string problem = "logreg";
  std::string data;
  std::string labels;
  std::string format = "auto";
  std::string label_column = TableOptions{}.label_column;  // CSV and .npy
  std::string test_data;
  std::string test_labels;
  int positive_class = 0;
  int negative_class = -1;
  std::string bias = "auto";  // auto or a number (DataOptions::bias)
  // The library's defaults (SyntheticOptions, ObjectiveSettings), written once there.
  std::uint64_t synthetic_samples = SyntheticOptions{}.samples;
  std::uint64_t synthetic_features = SyntheticOptions{}.features;
  double synthetic_noise = SyntheticOptions{}.noise;
  double synthetic_condition = SyntheticOptions{}.condition_number;
  double lambda = ObjectiveSettings{}.lambda;
  bool normalize = false;            // images: per-channel mean 0, std 1 (statistics of the training data)
  std::string standardize = "auto";  // tables: auto, yes or no (DataOptions::standardize)
  bool augment = false;              // images: padded random crop + flip (networks)
  std::uint64_t hidden = ObjectiveSettings{}.hidden;  // MLP hidden units
  std::string precision = "float64";                  // linear models: how the features are stored (float64 / float32)
  std::string sharding = "random";  // random (seeded partition of the whole file) / byte-range (LIBSVM)
  std::string model;                // a TorchScript module to train (--model; implies --problem torchscript)
  std::string loss = ObjectiveSettings{}.loss;  // --model: cross-entropy, mse or model (its exported loss method)
};

struct RunFlags {
  int workers = 0;  // 0: 1 for inproc, the world size under mpirun
  std::string backend = "auto";
  std::string mpi_reduction = "ordered";
  std::uint64_t mpi_timeout_s = kDefaultMpiTimeout.count();  // a collective waiting longer ends the job
  std::string round_timeout = "auto";  // a round waiting longer ends the job: auto, seconds, or 0 (ParseRoundTimeout)
  std::uint64_t seed = 1;
  std::string out;
  std::uint64_t eval_every = 0;
  std::uint64_t eval_every_sfo = 0;
  std::uint64_t eval_samples = 0;           // 0 = all
  std::string eval_batch_norm = "running";  // or "recomputed" (precise batch norm)
  bool no_f_star = false;
  std::string net_model;  // "alpha=S,bandwidth=B/s"; "" = none
  // Stop each run at the first evaluated round that reaches one; "" = none.
  std::string target_loss, target_gap, target_accuracy;
  int threads = 0;  // networks: LibTorch threads per process (0 = its default); linear models: batch threads
  bool save_model = false;
  std::string init_model;              // a LIBLINEAR model file: the starting point of linear models
  std::uint64_t checkpoint_every = 0;  // train: a checkpoint every K rounds in --out/checkpoint
  bool resume = false;                 // train: continue from --out/checkpoint
  bool overwrite = false;              // replace the files of an earlier run in --out
  std::string inject_fault;            // tests: kill:rank=R,round=T (also stop:, throw:, fail:); ParseFault
  bool barrier_before_rounds = false;  // comm_s without the wait for the slowest worker
  bool quiet = false;
  bool verbose = false;  // a log line per evaluated round
};

// Flags shared by every algorithm in a run.
struct AlgoFlags {
  // The library's defaults (AlgorithmOptions), as text where the flag takes more than a number.
  // But the method: the command line's is auto, the one the measurements pick
  // (docs/algorithms.md); a library caller names its algorithm.
  std::string algo = AlgorithmName(AlgorithmKind::kAuto);
  std::string budget = "auto";            // or a count >= 1 (ParseBudget); auto: kAutoBudgetEpochs and the stop rule
  double epochs = 0.0;                    // > 0: the budget in passes over the data
  double comm_share = kDefaultCommShare;  // auto's planned rounds: communication's share of the wall time
  std::string batch = "auto";             // or a count >= 1 (ParseBatch)
  std::uint64_t b1 = std::get<std::uint64_t>(ParamDefault("b1"));
  std::string rho = AlgorithmOptions{}.rho();  // a number > 1, or "auto" (the norm test)
  double norm_test_theta2 = std::get<double>(ParamDefault("norm_test_theta2"));
  std::uint64_t sync_period = std::get<std::uint64_t>(ParamDefault("sync_period"));
  std::string rounds = "auto";  // or a count (ParseRounds); auto: auto plans R from the link, the rest as given
  double round_growth = std::get<double>(ParamDefault("round_growth"));
  std::string round_split = std::get<std::string>(ParamDefault("round_split"));
  double outer_lr = std::get<double>(ParamDefault("outer_lr"));
  double outer_momentum = std::get<double>(ParamDefault("outer_momentum"));
  std::string tail_average = "auto";  // or a share of the budget in [0, 1]
  double theta = std::get<double>(ParamDefault("theta"));
  std::uint64_t outer_iters = std::get<std::uint64_t>(ParamDefault("outer_iterations"));
  std::uint64_t inner_budget = std::get<std::uint64_t>(ParamDefault("inner_budget"));
  std::string lr = "auto";
  std::string sampling = SamplingName(AlgorithmOptions{}.sampling);
  std::string compress = CompressionName(AlgorithmOptions{}.compression);
  bool overlap = AlgorithmOptions{}.overlap;
  std::uint64_t max_micro_batch = AlgorithmOptions{}.max_micro_batch;
  double momentum = AlgorithmOptions{}.momentum;
  double weight_decay = AlgorithmOptions{}.weight_decay;
  std::string lr_schedule = "auto";  // or a schedule's name; auto: the method's (AlgorithmOptions::Schedule)
  std::string lr_batch_scaling = LrBatchScalingName(AlgorithmOptions{}.lr_batch_scaling);
  double lr_max = AlgorithmOptions{}.lr_max;
};

struct SweepFlags {
  std::vector<std::string> runs;  // "cr-psgd:b1=1,rho=1.1"
  std::string lr_grid = "0.5,1,2,4,8";
  std::string seeds;  // "1,2,3": repeat every run with each seed; "" = --seed
};

// The flags as the library's options: the one translation train, sweep,
// compare and predict share. `labels`: how the objective reads labels.
// --model FILE makes --problem torchscript (another --problem with it is an
// error); --loss belongs to --model.
Status ResolveModelFlags(DataFlags& data);
// `multiclass`: the objective's (ObjectiveFactory::multiclass).
Result<DataOptions> MakeDataOptions(const DataFlags& flags, LabelTask labels, bool multiclass = false);
// --bias and --standardize: a value, or nullopt for auto.
Result<std::optional<double>> ParseBias(const std::string& text);
Result<std::optional<bool>> ParseStandardize(const std::string& text);
Result<ObjectiveSettings> MakeObjectiveSettings(const DataFlags& data, const RunFlags& run);

// A number as a text setting holds it (--lr, --rho, the targets); `what` names it in the error.
Result<double> ParseNumber(const std::string& text, const std::string& what);
// --round-timeout: auto (10x the median round, at least 60 s), seconds > 0, or 0 (none: --mpi-timeout alone).
Result<RoundTimeout> ParseRoundTimeout(const std::string& text);
// --eval-batch-norm: running (false) or recomputed (true).
Result<bool> ParseRecomputeBatchNorm(const std::string& text);
// --rho: a number, or nullopt for auto (the norm test).
Result<std::optional<double>> ParseRho(const std::string& text);
// --tail-average: "auto" (nullopt: the drift test chooses) or a share of the budget in [0, 1].
Result<std::optional<double>> ParseTailAverage(const std::string& text);
// --batch: a count >= 1, or kAutoBatch for auto (1 for the other methods, AlgorithmOptions' default).
Result<std::uint64_t> ParseBatch(const std::string& text);
// --budget: a count >= 1, or nullopt for auto.
Result<std::optional<std::uint64_t>> ParseBudget(const std::string& text);
// --rounds: a count (0: the parameters as given), or nullopt for auto.
Result<std::optional<std::uint64_t>> ParseRounds(const std::string& text);
// --lr: auto (the safe step for the batch), auto*K (K/L̂, K > 0) or a number.
struct StepRule {
  bool safe = false;
  std::optional<double> multiple;
  double lr = 0.0;
};
Result<StepRule> ParseStep(const std::string& text);

// A run from its flags. --budget auto and --epochs become RunRequest::epochs
// (and the stop rule); --rounds auto for auto plans R from the link.
Result<RunRequest> MakeTrainRequest(const AlgoFlags& flags);
// sweep and compare compare methods at one budget and one plan: --budget T,
// and auto's rounds as given (--rounds R, else its S1 and rho).
Result<RunRequest> MakeComparedRequest(const AlgoFlags& flags, const std::string& command);
Result<std::vector<RunRequest>> MakeSweepRequests(const AlgoFlags& shared, const SweepFlags& sweep);
// One train, sweep or compare: its flags, and the library's job they make.
struct Job {
  DataFlags data;
  RunFlags run;
  // The command fills requests, seeds, sweep and config_toml (train and sweep:
  // the effective configuration); MakeJobSpec the rest.
  JobSpec spec;
  bool compare = false;  // `crpsgd compare`: also draws figures

  bool network() const { return spec.network(); }
};

// The flags as the library's job: the problem, its data and settings,
// evaluation, outputs and --inject-fault. Checks every value it translates;
// ValidateJob checks how they combine. Before any data is read.
Status MakeJobSpec(Job& job);

// `crpsgd predict`: a saved model and the data file to score.
struct PredictFlags {
  std::string model;  // a LIBLINEAR model file (--save-model's, or liblinear-train's), or a network's model.pt
  std::string out;    // predictions, one per line; "" = none
  DataFlags data;
  std::string loss = "cross-entropy";  // a network's: mse scores a regression network
};
Result<PredictOptions> MakePredictOptions(const PredictFlags& flags);

// The seeds of a sweep: --seeds parsed, or {seed} when it is empty.
Result<std::vector<std::uint64_t>> ParseSeeds(const std::string& seeds, std::uint64_t seed);

}  // namespace crpsgd::cli
