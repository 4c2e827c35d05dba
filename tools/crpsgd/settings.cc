#include "settings.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <sstream>
#include <type_traits>

#include "arguments.h"
#include "crpsgd/config.h"
#include "crpsgd/built_in_objectives.h"

namespace crpsgd::cli {
namespace {

// The field of member `kMember`, for a row: At<&AlgoFlags::batch>.
template <auto kMember>
struct MemberOf;
template <class C, class T, T C::*kMember>
struct MemberOf<kMember> {
  using Class = C;
};
template <auto kMember>
SettingField At(typename MemberOf<kMember>::Class& flags) {
  return &(flags.*kMember);
}

constexpr unsigned kTrainSweep = kTrain | kSweep;
constexpr unsigned kShared = kTrain | kSweep | kCompare;  // every run of a job alike
constexpr unsigned kOneRun = kTrain | kRunKey;            // train's, and each run's of a sweep or compare

// ---- the checks of text values, beyond their type ----

// A check by the function that translates the value later (its errors name the flag).
template <auto kParse>
Status Parses(const std::string&, const std::string& text) {
  return kParse(text).status();
}
Status IsProblem(const std::string&, const std::string& text) { return ObjectiveFor(text).status(); }

Result<double> Number(const std::string& text) {
  // CLI11's own conversion (strtold, then rounded to double), which the
  // flags have always used: the same text gives the same bits.
  char* end = nullptr;
  const long double value = text.empty() ? 0.0L : std::strtold(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || std::isspace(static_cast<unsigned char>(text[0])) ||
      !std::isfinite(static_cast<double>(value))) {
    return Status::InvalidArgument("not a number");
  }
  return static_cast<double>(value);
}
Status IsTarget(const std::string& flag, const std::string& text) { return ParseNumber(text, flag).status(); }

Status IsWorkers(const std::string& flag, const std::string& text) {
  int n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  return ec == std::errc() && end == text.data() + text.size() && n < 1
             ? Status::InvalidArgument(flag + " must be >= 1, got '" + text + "'")
             : Status::OK();
}
Status IsSchedule(const std::string&, const std::string& text) {
  return text == "auto" ? Status::OK() : ParseLrSchedule(text).status();
}

// ---- the tables ----

const Setting<DataFlags> kDataSettings[] = {
    {"problem", kShared | kPredict,
     "Objective: logreg (l2-regularised logistic regression; multinomial when the labels have more than two "
     "values), leastsq (ridge least squares), ncvx-logreg (logistic + non-convex regulariser); networks "
     "(LibTorch, multi-class cross-entropy): softmax, mlp, resnet20; torchscript: your own network (--model)",
     "leastsq", At<&DataFlags::problem>, IsProblem},
    {"model", kShared,
     "Train your own network: a TorchScript module file (torch.jit.script(net).save(FILE)) whose forward maps a "
     "float32 batch in the data's shape to [batch, classes] (or [batch, 1] for --loss mse); implies --problem "
     "torchscript",
     "net.pt", At<&DataFlags::model>},
    {"loss", kShared,
     "--model's loss: cross-entropy (logits against class numbers), mse (squared error against real targets) or "
     "model (the module's exported loss(output, target) method, the mean over the batch)",
     "mse", At<&DataFlags::loss>},
    {"data", kShared | kPredict,
     "Training data file (LIBSVM or CSV text, plain or gzip; NumPy .npy or .npz; IDX images, CIFAR-10 or tensors)",
     "train.libsvm", At<&DataFlags::data>},
    {"labels", kShared | kPredict, "IDX labels file (default: derived from --data's name)", "train-labels.idx",
     At<&DataFlags::labels>},
    {"format", kShared | kPredict,
     "Data format: auto (IDX if the name contains 'idx' or by its bytes, tensors if it ends in .pt or .pth, "
     "CIFAR-10 if it ends in .bin or is a folder, npy by NumPy's bytes, npz by a zip's; text, plain or gzip, is "
     "csv when its first line has commas (or tabs and no colons), else libsvm), libsvm, csv, npy, npz (arrays x "
     "and y: np.savez(FILE, x=X, y=Y)), idx, cifar10 (a .bin file, or a folder with data_batch_1..5.bin), tensors "
     "(torch.save({'x': X, 'y': y}, FILE)), synthetic",
     "csv", At<&DataFlags::format>, Parses<ParseDataFormat>},
    {"label-column", kShared | kPredict,
     "CSV and .npy: the label's column, a 0-based index (-1: the last) or a header's name; the other columns are "
     "the features",
     "-1", At<&DataFlags::label_column>},
    {"test-data", kShared, "Test data file, same format as --data (reports test loss/accuracy)", "test.libsvm",
     At<&DataFlags::test_data>},
    {"test-labels", kShared, "IDX labels file of --test-data (default: derived from its name)", "test-labels.idx",
     At<&DataFlags::test_labels>},
    {"positive-class", kShared | kPredict,
     "IDX and CIFAR-10: this class is +1 against the others; -1: every class (multinomial logreg; class numbers as "
     "targets for leastsq)",
     "3", At<&DataFlags::positive_class>},
    {"negative-class", kShared | kPredict,
     "IDX binary task: this class is -1 and other classes are dropped; -1 = all other classes", "5",
     At<&DataFlags::negative_class>},
    {"bias", kShared | kPredict,
     "Append a constant feature of this value (an intercept); 0 = none. auto: 1 for least squares on a data file "
     "(targets are rarely centred), for a CSV or NumPy table (as scikit-learn's fit_intercept) and wherever "
     "--standardize auto standardizes, else none (a scaled LIBSVM file: LIBLINEAR's default, so LIBSVM "
     "classification runs match liblinear-train)",
     "2", At<&DataFlags::bias>, Parses<ParseBias>},
    {"synthetic-samples", kShared, "Synthetic data: samples", "300", At<&DataFlags::synthetic_samples>},
    {"synthetic-features", kShared, "Synthetic data: features", "7", At<&DataFlags::synthetic_features>},
    {"synthetic-noise", kShared, "Synthetic data: label noise std. dev.", "0.25", At<&DataFlags::synthetic_noise>},
    {"synthetic-condition", kShared,
     "Synthetic data: kappa >= 1, feature variances from 1 down to 1/kappa (least squares: the condition number of "
     "its Hessian, close to kappa; 1 = isotropic)",
     "50", At<&DataFlags::synthetic_condition>},
    {"lambda", kShared, "Regularisation strength λ (>= 0; linear models)", "0.001", At<&DataFlags::lambda>},
    {"normalize", kShared | kPredict,
     "Images: shift and scale each channel to mean 0, std 1 (statistics of the training data, applied to the test "
     "data too)",
     "", At<&DataFlags::normalize>},
    {"standardize", kShared | kOptionalWord,
     "Tables (LIBSVM, CSV, .npy): scale each feature to std 1, and centre it to mean 0 when the data are dense and "
     "the model has an intercept (--bias) or is a network (statistics of the training data, applied to the test "
     "data; a saved linear model is of the raw features, a network's model.pt has feature_scaling.json beside it, "
     "which predict applies). Default auto: on for a dense table with a feature outside [-1, 1] (not scaled, as "
     "svm-scale writes), for linear models and networks alike, and for a linear model's least-squares targets, "
     "where one step would crawl along the small features; --standardize=no turns it off",
     "no", At<&DataFlags::standardize>, Parses<ParseStandardize>},
    {"augment", kShared, "Images, networks: 4-pixel padded random crop and horizontal flip", "",
     At<&DataFlags::augment>},
    {"hidden", kShared | kPredict, "Hidden units of --problem mlp", "32", At<&DataFlags::hidden>},
    {"precision", kShared,
     "Linear models: float64, or float32 (features rounded to float once: half the memory and memory traffic of "
     "the gradients; sums and the model stay float64)",
     "float32", At<&DataFlags::precision>, Parses<ParsePrecision>},
    {"sharding", kShared,
     "How workers get their samples: random (every worker reads the whole file and keeps a seeded random 1/N of "
     "it), byte-range (LIBSVM: worker k of N reads only the lines that start in bytes [k·S/N, (k+1)·S/N) of the "
     "S-byte file, and of --test-data: 1/N of the memory; the file should be in random order)",
     "byte-range", At<&DataFlags::sharding>, Parses<ParseSharding>},
};

const Setting<RunFlags> kRunSettings[] = {
    {"workers", kShared,
     "Workers N >= 1 (inproc: threads; mpi: must equal the number of ranks). Default: 1 for inproc, the number of "
     "ranks under mpirun",
     "3", At<&RunFlags::workers>, IsWorkers},
    {"backend", kShared, "auto (mpi under mpirun, else inproc), inproc, mpi", "inproc", At<&RunFlags::backend>,
     Parses<ParseBackend>},
    {"mpi-reduction", kShared, "ordered (rank-order sums, bit-identical to inproc) or native (MPI_Allreduce)", "native",
     At<&RunFlags::mpi_reduction>, Parses<ParseMpiReduction>},
    {"mpi-timeout", kShared,
     "mpi backend: seconds a collective may wait for the other ranks before the job ends (a rank died or stopped "
     "answering); 0 = forever",
     "30", At<&RunFlags::mpi_timeout_s>},
    {"round-timeout", kShared,
     "mpi backend: how long a round may wait for a silent rank before every rank ends with exit code 5, naming it "
     "and the last round all ranks completed; auto: 10x the median round so far (from the 6th), at least 60 s; "
     "seconds; 0 = --mpi-timeout alone",
     "20", At<&RunFlags::round_timeout>, Parses<ParseRoundTimeout>},
    {"seed", kShared, "Seed of every random choice (shards, sampling, synthetic data)", "7", At<&RunFlags::seed>},
    {"out", kTrainSweep | kCompareFlag,
     "Output folder (created if missing; a folder holding another run's files is refused unless --overwrite): "
     "train: metrics.jsonl, summary.json and config.toml; sweep and compare: a folder per run, table.md and "
     "results.csv (compare: figures/ too)",
     "out/x", At<&RunFlags::out>},
    {"overwrite", kTrainSweep | kCompareFlag | kNotReplayed,
     "Replace the files of an earlier run in --out (its summary, metrics, models, predictions and checkpoint; a "
     "sweep's or compare's runs, figures and tables) before this run writes",
     "", At<&RunFlags::overwrite>},
    {"eval-every", kShared,
     "Evaluate the full loss (and test accuracy) every K rounds; 0 = the first 20 rounds, then log-spaced "
     "(networks: about 10 times per run); the last round always",
     "5", At<&RunFlags::eval_every>},
    {"eval-every-sfo", kShared,
     "Instead of --eval-every: evaluate at the first round at or past every multiple of S samples per worker "
     "(evenly spaced in SFO, to compare methods with different batches); 0 = off",
     "100", At<&RunFlags::eval_every_sfo>},
    {"eval-samples", kShared,
     "Evaluate loss and accuracies on this many samples in all (a fixed subset, spread over the workers' shards); "
     "0 = all. f - f* is reported only with all",
     "50", At<&RunFlags::eval_samples>},
    {"eval-batch-norm", kShared,
     "Networks: the batch-norm statistics evaluations use: running (the running averages of training, PyTorch's "
     "eval()) or recomputed (those of the evaluated model on the evaluation samples: \"precise BN\"; training is "
     "unchanged)",
     "recomputed", At<&RunFlags::eval_batch_norm>, Parses<ParseRecomputeBatchNorm>},
    {"no-f-star", kShared, "Skip computing f* (no f - f* in the outputs)", "", At<&RunFlags::no_f_star>},
    {"net-model", kShared,
     "alpha=SECONDS,bandwidth=BYTES_PER_S: also report each run's rounds costed as ring all-reduces on such a "
     "network (net_model_s), beside the measured times",
     "alpha=1e-5,bandwidth=1e9", At<&RunFlags::net_model>, Parses<ParseNetworkModel>},
    {"target-loss", kShared,
     "Stop each run at the first evaluated round where f(x) <= this; summary.json records rounds_to_target, "
     "sfo_to_target, bytes_to_target and wall_s_to_target (--eval-every 1 checks every round)",
     "0.5", At<&RunFlags::target_loss>, IsTarget},
    {"target-gap", kShared, "As --target-loss, for f(x) - f* <= this (convex problems)", "0.001",
     At<&RunFlags::target_gap>, IsTarget},
    {"target-accuracy", kShared,
     "As --target-loss, for an accuracy >= this fraction (0.9 = 90%): on --test-data when given, else on the "
     "training data",
     "0.9", At<&RunFlags::target_accuracy>, IsTarget},
    {"barrier-before-rounds", kShared,
     "Measuring: a barrier (not counted) before every round's all-reduce, so that comm_s is the transfer alone, "
     "without the wait for the slowest worker it otherwise includes",
     "", At<&RunFlags::barrier_before_rounds>},
    // -q and -v together are refused after parsing (CLI11's excludes() would
    // print "Excludes: ..." into the help line).
    {"quiet", kTrainSweep | kCompareFlag | kNotReplayed, "Print only errors and the result table (not with -v)", "",
     At<&RunFlags::quiet>, nullptr, "q"},
    {"verbose", kTrainSweep | kCompareFlag | kNotReplayed,
     "Log every evaluated round (round, batch, SFO, loss, time) to stderr", "", At<&RunFlags::verbose>, nullptr, "v"},
    {"threads", kShared,
     "Threads per worker. Networks: LibTorch threads per process (0 = LibTorch's default). Linear models: threads "
     "that split each batch of 2048 or more (0 or 1 = one); results are bit-identical for a given count, not "
     "across counts",
     "2", At<&RunFlags::threads>},
    {"save-model", kShared,
     "Write the model next to summary.json: networks model.pt (parameters and batch-norm statistics, for "
     "torch.load), linear models model.liblinear (LIBLINEAR's format, for liblinear-predict)",
     "", At<&RunFlags::save_model>},
    {"init-model", kShared,
     "Linear models: start from this LIBLINEAR model file (written by liblinear-train or by --save-model) instead "
     "of x = 0",
     "start.model", At<&RunFlags::init_model>},
    {"checkpoint-every", kTrain, "Write a checkpoint to --out/checkpoint every K rounds (0 = none); see --resume", "10",
     At<&RunFlags::checkpoint_every>},
    {"resume", kTrain | kNotReplayed,
     "Continue the run in --out from its last checkpoint (give the same flags as the first time); the result is "
     "bit-identical to an uninterrupted run",
     "", At<&RunFlags::resume>},
    {"inject-fault", kTrain | kNotReplayed,
     "For tests: kill:rank=R,round=T kills worker R (under mpirun, its process; in-process, the whole process) "
     "after round T, as it starts the next round's all-reduce; stop:rank=R,round=T stops it (a hung worker); "
     "throw:rank=R,round=T throws a C++ exception in it (a library error); fail:rank=R,round=T fails its "
     "all-reduce (a lost peer)",
     "throw:rank=0,round=2", At<&RunFlags::inject_fault>, Parses<ParseFault>},
};

const Setting<AlgoFlags> kAlgoSettings[] = {
    {"algo", kTrain, AlgorithmChoices(), "local-sgd", At<&AlgoFlags::algo>, Parses<ParseAlgorithm>},
    {"budget", kShared,
     "T: SFO budget per worker (stochastic gradients each worker may compute); auto (train's default): at most 20 "
     "passes over the data, and on a convex problem the run stops once f - f* has closed to 1e-3 of its start "
     "(summary.json's stopped_by says which); sweep and compare need a number",
     "500", At<&AlgoFlags::budget>, Parses<ParseBudget>},
    {"epochs", kTrain,
     "The budget in passes over the training data, T = ceil(E n / N) for n samples on N workers (instead of "
     "--budget; no stop rule); 0 = none",
     "5", At<&AlgoFlags::epochs>},
    {"rounds", kTrainSweep | kRunKey,
     "R: spend the budget in at most R rounds; sets psgd's B, local-sgd's I, cr-psgd's rho and auto's plan "
     "(exactly R); 0: the parameters as given; auto (the default): train's auto measures a round's and a sample's "
     "cost at the start and takes the most rounds that keep communication within --comm-share of the wall time "
     "(the plan is logged and written to config.toml), every other method and sweep's auto as given",
     "20", At<&AlgoFlags::rounds>, Parses<ParseRounds>},
    {"comm-share", kTrain,
     "auto with --rounds auto: the share of the wall time communication may take, in (0, 1); fewer rounds on a "
     "slower link (--net-model adds its cost to the measured one)",
     "0.25", At<&AlgoFlags::comm_share>},
    {"batch", kOneRun,
     "B for psgd, b (per local step) for local-sgd, b_min for auto; auto: 1, and auto's b_min is 1 under --lr "
     "auto where each step is the safe step for its batch (L and Lbar known), 4 with any other step (a number, "
     "auto*K, a network's 1/L); a step tuned at a local batch B wants --batch B",
     "4", At<&AlgoFlags::batch>, Parses<ParseBatch>},
    {"b1", kOneRun, "B1: first batch of cr-psgd (and of each inner cr-psgd of the catalyst)", "2", At<&AlgoFlags::b1>},
    {"rho", kOneRun,
     "rho > 1: batch growth factor of cr-psgd, B_{t+1} = floor(rho^t B1); or auto: the batch grows when the "
     "workers' gradients say so (the norm test: B at most doubles per round; the budget is spent to the last "
     "sample)",
     "1.25", At<&AlgoFlags::rho>, Parses<ParseRho>},
    {"sync-period", kOneRun, "I: local steps between averagings (local-sgd)", "5", At<&AlgoFlags::sync_period>},
    {"round-growth", kOneRun, "auto with --rounds: the last round's samples over the first's (1: every round alike)",
     "2", At<&AlgoFlags::round_growth>},
    {"round-split", kOneRun,
     "auto: how a round's samples are spent: local-steps (steps of --batch: local SGD whose period follows the "
     "round), noise (local steps of the batch the measured noise asks for) or one-step (one step of all: a cr-psgd "
     "round)",
     "noise", At<&AlgoFlags::round_split>, Parses<ParseRoundSplit>},
    {"outer-lr", kOneRun,
     "local-sgd, auto: outer step alpha on the round's pseudo-gradient x_r - mean(x_i) (1 with --outer-momentum 0: "
     "plain averaging)",
     "0.7", At<&AlgoFlags::outer_lr>},
    {"outer-momentum", kOneRun,
     "local-sgd, auto: Nesterov momentum mu in [0, 1) on the round's pseudo-gradient (DiLoCo); auto scales it each "
     "round by the share of the pseudo-gradient that is signal",
     "0.5", At<&AlgoFlags::outer_momentum>},
    {"tail-average", kOneRun,
     "auto: the final model is the workers' mean iterate over the last share of the budget (tail averaging); "
     "auto: the share (7/8, 3/4, 1/2, 1/4 or none) whose rounds' moves of the averaged model are anticorrelated "
     "(the iterate has stopped drifting); 0: the last iterate",
     "0.5", At<&AlgoFlags::tail_average>, Parses<ParseTailAverage>},
    {"theta", kOneRun,
     "theta > 0: proximal weight of cr-psgd-catalyst, h(x) = f(x) + theta/2 |x - y|^2 (theory: theta > L)", "2",
     At<&AlgoFlags::theta>},
    {"outer-iters", kOneRun, "K: outer iterations of cr-psgd-catalyst; 0 = floor(sqrt(N T))", "3",
     At<&AlgoFlags::outer_iters>},
    {"inner-budget", kOneRun, "Per-worker budget of each inner cr-psgd of the catalyst; 0 = floor(sqrt(T / N))", "40",
     At<&AlgoFlags::inner_budget>},
    {"lr", kOneRun,
     "Step size gamma; 'auto': 1/(L + Lbar/b), a stable step for the batch, with L estimated from the data, Lbar "
     "the mean per-sample smoothness and b the samples averaged per step; for a network (no L) a learning-rate "
     "range test (the lowest-loss step / 10, its samples outside the budget); 'auto*K': K/L (a network: K x the "
     "range test's lowest-loss step)",
     "auto*2", At<&AlgoFlags::lr>, Parses<ParseStep>},
    {"norm-test-theta2", kTrainSweep | kRunKey,
     "--rho auto: theta^2 > 0 of the norm test; the batch grows until N*B reaches tr(Sigma)/(theta^2 |grad f|^2) "
     "(1: the critical batch; smaller grows faster)",
     "0.5", At<&AlgoFlags::norm_test_theta2>},
    {"momentum", kTrainSweep | kRunKey,
     "Heavy-ball momentum in [0, 1), for networks (the paper's theory and its guarantees are for plain SGD, "
     "momentum 0)",
     "0.9", At<&AlgoFlags::momentum>},
    {"weight-decay", kTrainSweep | kRunKey,
     "Adds weight-decay * x to every gradient (the theory assumes 0; use --lambda for a regulariser that is part "
     "of f)",
     "0.0005", At<&AlgoFlags::weight_decay>},
    {"lr-schedule", kTrainSweep | kRunKey,
     "constant, cosine (gamma (1 + cos(pi p))/2) or step (gamma/10 from p = 1/2, gamma/100 from p = 3/4), p = "
     "share of the SFO budget spent; auto: constant (every method's own)",
     "step", At<&AlgoFlags::lr_schedule>, IsSchedule},
    {"lr-batch-scaling", kTrainSweep | kRunKey,
     "Growing batches: step gamma (B_t/B1)^p with p = 0 (none: the paper's constant step), 1/2 (sqrt) or 1 "
     "(linear)",
     "sqrt", At<&AlgoFlags::lr_batch_scaling>, Parses<ParseLrBatchScaling>},
    {"lr-max", kTrainSweep | kRunKey,
     "Cap on the step that --lr-batch-scaling gives larger batches, and on --lr auto's step; 0 = none", "8",
     At<&AlgoFlags::lr_max>},
    {"sampling", kShared,
     "with-replacement (i.i.d.), reshuffle (passes over the shard, without replacement) or global (passes over the "
     "whole set, shared by the workers: a run resumes on any number of workers, no sample lost or read twice)",
     "reshuffle", At<&AlgoFlags::sampling>, Parses<ParseSampling>},
    {"compress", kShared,
     "The round's message on the wire: none, bf16 (2 bytes a value), int8 (blocks of 256 with a scale: 1.016 "
     "bytes a value), powersgd:R (a network's matrices as rank-R factors, two all-reduces a round) or "
     "powersgd:R:bf16 (the factors as bf16), with error feedback; psgd, cr-psgd, acc-cr-psgd, cr-psgd-catalyst, "
     "local-sgd, auto (its default split, no outer momentum)",
     "powersgd:2", At<&AlgoFlags::compress>, Parses<ParseCompressionChoice>},
    {"overlap", kShared,
     "local-sgd and auto: each round's exchange runs while the next round's local steps compute, and its mean is "
     "applied one round late (exposed_comm_s: what the steps did not hide); auto measures no noise then",
     "", At<&AlgoFlags::overlap>},
    {"max-micro-batch", kShared,
     "Larger batches are computed as accumulated micro-batches of this size (still one round)", "64",
     At<&AlgoFlags::max_micro_batch>},
};

const Setting<SweepFlags> kSweepSettings[] = {
    {"run", kSweep | kRequired,
     "A run: ALGO[:key=value,...], keys batch, b1, rho, norm-test-theta2, sync-period, rounds, round-growth, "
     "round-split, outer-lr, outer-momentum, tail-average, theta, outer-iters, inner-budget, momentum, weight-decay, "
     "lr-schedule, "
     "lr-batch-scaling, lr-max, lr (the flags of the same names; '_' may stand for '-'; a run with lr keeps that "
     "step, auto or auto*K or a number, instead of --lr-grid). Repeat for several, e.g. --run psgd:batch=1 --run "
     "cr-psgd:b1=1,rho=1.1",
     "psgd:batch=2", At<&SweepFlags::runs>},
    {"lr-grid", kSweep, "Step sizes to try, as multiples of 1/L (comma separated); each run keeps its best", "1,2",
     At<&SweepFlags::lr_grid>},
    {"seeds", kSweep,
     "Repeat every run with each of these seeds (comma separated) and choose steps by the mean final loss; default: "
     "--seed only",
     "1,2", At<&SweepFlags::seeds>},
};

// ---- typing ----

Result<std::uint64_t> Count(std::string text) {
  // A whole number in scientific notation (--budget 1e5) is taken; a fraction is not.
  if (text.find_first_of("eE") != std::string::npos && text.front() != '-') {
    const Result<double> number = Number(text);
    if (number.ok() && *number >= 0 && *number < 1.8e19 && *number == std::floor(*number)) {
      return static_cast<std::uint64_t>(*number);
    }
  }
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return Status::InvalidArgument("not a count");
  return value;
}

std::string FlagName(const BoundSetting& s) { return std::string("--") + s.name; }

bool IsSwitch(const BoundSetting& s) { return std::holds_alternative<bool*>(s.field); }
bool IsList(const BoundSetting& s) { return std::holds_alternative<std::vector<std::string>*>(s.field); }

// A TOML value: a number as it is, anything else a quoted string.
std::string TomlValue(const BoundSetting& s, const std::string& text) {
  if (std::holds_alternative<std::uint64_t*>(s.field) || std::holds_alternative<int*>(s.field) ||
      std::holds_alternative<double*>(s.field)) {
    return text;
  }
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') quoted += '\\';
    quoted += c;
  }
  return quoted + "\"";
}

}  // namespace

std::span<const Setting<DataFlags>> DataSettings() { return kDataSettings; }
std::span<const Setting<RunFlags>> RunSettings() { return kRunSettings; }
std::span<const Setting<AlgoFlags>> AlgoSettings() { return kAlgoSettings; }
std::span<const Setting<SweepFlags>> SweepSettings() { return kSweepSettings; }

std::string SettingText(const BoundSetting& setting) {
  struct Text {
    std::string operator()(const std::string* v) const { return *v; }
    std::string operator()(const std::uint64_t* v) const { return std::to_string(*v); }
    std::string operator()(const int* v) const { return std::to_string(*v); }
    std::string operator()(const double* v) const {
      char text[32];
      // The shortest text that reads back exactly; fixed notation from 1e-4 up (0.0005, not 5e-04).
      const auto end = std::to_chars(text, text + sizeof text, *v, std::chars_format::general).ptr;
      return std::string(text, end);
    }
    std::string operator()(const bool* v) const { return *v ? "true" : "false"; }
    std::string operator()(const std::vector<std::string>* v) const {
      std::string joined;
      for (const std::string& item : *v) joined += (joined.empty() ? "" : " ") + item;
      return joined;
    }
  };
  return std::visit(Text{}, setting.field);
}

Status SetSetting(const BoundSetting& setting, const std::string& text) {
  const std::string flag = FlagName(setting);
  if (setting.check != nullptr) CRPSGD_RETURN_IF_ERROR(setting.check(flag, text));
  const auto bad = [&](const char* what) {
    return Status::InvalidArgument(flag + " must be " + what + ", got '" + text + "'");
  };
  return std::visit(
      [&](auto* field) -> Status {
        using T = std::remove_pointer_t<decltype(field)>;
        if constexpr (std::is_same_v<T, std::string>) {
          *field = text;
        } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
          field->push_back(text);
        } else if constexpr (std::is_same_v<T, bool>) {
          if (text != "true" && text != "false") return bad("true or false");
          *field = text == "true";
        } else if constexpr (std::is_same_v<T, double>) {
          const Result<double> value = Number(text);
          if (!value.ok()) return bad("a number");
          *field = *value;
        } else if constexpr (std::is_same_v<T, std::uint64_t>) {
          const Result<std::uint64_t> value = Count(text);
          if (!value.ok()) return bad("a non-negative integer");
          *field = *value;
        } else {
          const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *field);
          if (ec != std::errc() || end != text.data() + text.size()) return bad("an integer");
        }
        return Status::OK();
      },
      setting.field);
}

void CommandSettings::Bind(CLI::App& app, BoundSetting setting, unsigned door) {
  Entry& entry = entries_.emplace_back();
  entry.setting = setting;
  std::string names = FlagName(setting);
  if (setting.short_name != nullptr) names = std::string("-") + setting.short_name + "," + names;
  if (auto* on = std::get_if<bool*>(&setting.field)) {
    entry.option = app.add_flag(names, **on, setting.help);
  } else if (auto* list = std::get_if<std::vector<std::string>*>(&setting.field)) {
    entry.option = app.add_option(names, **list, setting.help);
  } else if (setting.scope & kOptionalWord) {
    entry.text = SettingText(setting);
    entry.option = app.add_flag(names + "{yes}", entry.text, setting.help)->default_str(entry.text);
  } else {
    entry.text = SettingText(setting);
    entry.option = app.add_option(names, entry.text, setting.help);
    if (!entry.text.empty()) entry.option->default_str(entry.text);
    const bool whole = std::holds_alternative<std::uint64_t*>(setting.field);
    entry.option->type_name(whole                                            ? "UINT"
                            : std::holds_alternative<int*>(setting.field)    ? "INT"
                            : std::holds_alternative<double*>(setting.field) ? "FLOAT"
                                                                             : "TEXT");
  }
  if ((setting.scope & kRequired) && (door & (kTrain | kSweep))) entry.option->required();
}

Status CommandSettings::Apply(const std::map<std::string, std::string>& origins) const {
  StatusList errors;
  for (const Entry& entry : entries_) {
    if (entry.option->count() == 0 || IsSwitch(entry.setting) || IsList(entry.setting)) continue;
    const auto origin = origins.find(FlagName(entry.setting));
    errors.Add(SetSetting(entry.setting, entry.text), origin == origins.end() ? "" : origin->second);
  }
  return errors.ToStatus();
}

std::string CommandSettings::EffectiveConfig(const std::string& command) const {
  std::ostringstream toml;
  toml << "# crpsgd " << CRPSGD_VERSION << " " << command
       << ": the effective configuration of this run (config file, flags and defaults).\n"
       << "# Repeat it with: crpsgd " << command << " --config config.toml\n";
  for (const Entry& entry : entries_) {
    const BoundSetting& s = entry.setting;
    // What to do with --out's earlier files, a test's injected fault and how
    // much to print are not settings of the run (kNotReplayed): a config.toml
    // replayed into a new folder must neither resume nor overwrite.
    if (s.scope & kNotReplayed) continue;
    if (const auto* list = std::get_if<std::vector<std::string>*>(&s.field)) {
      toml << s.name << " = [";
      for (std::size_t i = 0; i < (*list)->size(); ++i) toml << (i ? ", " : "") << TomlValue(s, (**list)[i]);
      toml << "]\n";
      continue;
    }
    const std::string text = SettingText(s);
    // Unset: empty, or a default no one may write (--workers 0: one worker, or one per MPI rank).
    if ((!IsSwitch(s) && text.empty()) || (s.check != nullptr && !s.check(FlagName(s), text).ok())) {
      toml << "# " << s.name << " is not set\n";
    } else {
      toml << s.name << " = " << (IsSwitch(s) ? text : TomlValue(s, text)) << "\n";
    }
  }
  return toml.str();
}

std::vector<std::string> RunKeyNames(bool sweep) {
  std::vector<std::string> names;
  for (const Setting<AlgoFlags>& s : kAlgoSettings) {
    if (s.scope & kRunKey) names.push_back(sweep ? s.name : WithUnderscores(s.name));
  }
  return names;
}

Status SetRunKey(AlgoFlags& flags, const std::string& key, const std::string& text, const std::string& what,
                 bool sweep) {
  const std::string name = WithHyphens(key);
  for (const BoundSetting& s : BindSettings<AlgoFlags>(kAlgoSettings, flags, kRunKey)) {
    if (name == s.name) return SetSetting(s, text).WithContext(what);
  }
  const std::vector<std::string> names = RunKeyNames(sweep);
  std::string list;
  for (const std::string& n : names) list += (list.empty() ? "" : ", ") + n;
  const std::string nearest = NearestName(key, names);
  return Status::InvalidArgument(what + ": unknown key '" + key + "'" +
                                 (nearest.empty() ? "" : " (did you mean " + nearest + "?)") + "; the keys are " +
                                 list);
}

}  // namespace crpsgd::cli
