#include "flags.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <sstream>
#include <stdexcept>

#include "arguments.h"
#include "crpsgd/objectives.h"

namespace crpsgd::cli {
namespace {

// CLI11 would read "-1" into an unsigned flag as a huge number; refuse it.
// A whole number written in scientific notation (--budget 1e5) is rewritten
// as digits, which CLI11 reads; a fraction (1.5, 1e-3) stays and is refused.
const CLI::Validator kCount(
    [](std::string& value) {
      if (!value.empty() && value.front() == '-') return "must be a non-negative integer, got '" + value + "'";
      if (value.find_first_of("eE") != std::string::npos) {
        double number = 0;
        const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), number);
        if (ec == std::errc() && end == value.data() + value.size() && number >= 0 && number < 1.8e19 &&
            number == std::floor(number)) {
          value = std::to_string(static_cast<std::uint64_t>(number));
        } else {
          return "must be a non-negative integer, got '" + value + "'";
        }
      }
      return std::string();
    },
    "", "count");

void AddOwnNetworkFlags(CLI::App& app, DataFlags& f) {
  app.add_option("--model", f.model,
                 "Train your own network: a TorchScript module file (torch.jit.script(net).save(FILE)) whose forward "
                 "maps a float32 batch in the data's shape to [batch, classes] (or [batch, 1] for --loss mse); "
                 "implies --problem torchscript");
  app.add_option("--loss", f.loss,
                 "--model's loss: cross-entropy (logits against class numbers), mse (squared error against real "
                 "targets) or model (the module's exported loss(output, target) method, the mean over the batch)")
      ->capture_default_str();
}

// --rho: a number or auto, checked while parsing, so that a config file's line is named.
CLI::Validator RhoValidator() {
  return CLI::Validator(
      [](std::string& value) {
        double number = 0;
        const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), number);
        const bool is_number = ec == std::errc() && end == value.data() + value.size();
        return value == "auto" || is_number ? std::string() : "must be a number > 1 or auto, got '" + value + "'";
      },
      "", "rho");
}

}  // namespace

void AddDataFlags(CLI::App& app, DataFlags& f, bool own_network_flags) {
  app.add_option("--problem", f.problem,
                 "Objective: logreg (l2-regularised logistic regression; multinomial when the labels have more "
                 "than two values), leastsq "
                 "(ridge least squares), ncvx-logreg (logistic + non-convex regulariser); "
                 "networks (LibTorch, multi-class cross-entropy): softmax, mlp, resnet20; torchscript: your own "
                 "network (--model)")
      ->capture_default_str();
  if (own_network_flags) AddOwnNetworkFlags(app, f);
  app.add_option("--data", f.data,
                 "Training data file (LIBSVM or CSV text, plain or gzip; NumPy .npy or .npz; IDX images, CIFAR-10 "
                 "or tensors)");
  app.add_option("--labels", f.labels, "IDX labels file (default: derived from --data's name)");
  app.add_option(
         "--format", f.format,
         "Data format: auto (IDX if the name contains 'idx' or by its bytes, tensors if it ends in .pt or "
         ".pth, CIFAR-10 if it ends in .bin or is a folder, npy by NumPy's bytes, npz by a zip's; text, plain or "
         "gzip, is csv when its first line has commas (or tabs and no colons), else libsvm), libsvm, csv, "
         "npy, npz (arrays x and y: np.savez(FILE, x=X, y=Y)), idx, "
         "cifar10 (a .bin file, or a folder with data_batch_1..5.bin), tensors (torch.save({'x': X, 'y': "
         "y}, FILE)), synthetic")
      ->capture_default_str();
  app.add_option("--label-column", f.label_column,
                 "CSV and .npy: the label's column, a 0-based index (-1: the last) or a header's name; the other "
                 "columns are the features")
      ->capture_default_str();
  app.add_option("--test-data", f.test_data, "Test data file, same format as --data (reports test loss/accuracy)");
  app.add_option("--test-labels", f.test_labels, "IDX labels file of --test-data (default: derived from its name)");
  app.add_option("--positive-class", f.positive_class,
                 "IDX binary task: this class is +1 (-1 keeps raw class numbers, for leastsq)")
      ->capture_default_str();
  app.add_option("--negative-class", f.negative_class,
                 "IDX binary task: this class is -1 and other classes are dropped; -1 = all other classes")
      ->capture_default_str();
  app.add_option("--bias", f.bias,
                 "Append a constant feature of this value (an intercept); 0 = none. auto: 1 for least squares on a "
                 "data file (targets are rarely centred) and wherever --standardize auto standardizes, else none "
                 "(LIBLINEAR's default, so LIBSVM classification runs match liblinear-train)")
      ->capture_default_str();
  app.add_option("--synthetic-samples", f.synthetic_samples, "Synthetic data: samples")
      ->transform(kCount)
      ->capture_default_str();
  app.add_option("--synthetic-features", f.synthetic_features, "Synthetic data: features")
      ->transform(kCount)
      ->capture_default_str();
  app.add_option("--synthetic-noise", f.synthetic_noise, "Synthetic data: label noise std. dev.")
      ->capture_default_str();
  app.add_option("--synthetic-condition", f.synthetic_condition,
                 "Synthetic data: kappa >= 1, feature variances from 1 down to 1/kappa (least squares: the "
                 "condition number of its Hessian, close to kappa; 1 = isotropic)")
      ->capture_default_str();
  app.add_option("--lambda", f.lambda, "Regularisation strength λ (>= 0; linear models)")->capture_default_str();
  app.add_flag("--normalize", f.normalize,
               "Images: shift and scale each channel to mean 0, std 1 "
               "(statistics of the training data, applied to the test data too)");
  app.add_flag("--standardize{yes}", f.standardize,
               "Tables (LIBSVM, CSV, .npy): scale each feature to std 1, and centre it to mean 0 when the data are "
               "dense and the model has an intercept (--bias) or is a network (statistics of the training data, "
               "applied to the test data; a saved linear model is of the raw features). Default auto: on for a "
               "linear model's dense table with a feature outside [-1, 1] (not scaled, as svm-scale writes) or "
               "least-squares targets, where one step 1/L would crawl along the small features; --standardize=no "
               "turns it off")
      ->default_str("auto");
  app.add_flag("--augment", f.augment, "Images, networks: 4-pixel padded random crop and horizontal flip");
  app.add_option("--hidden", f.hidden, "Hidden units of --problem mlp")->transform(kCount)->capture_default_str();
  app.add_option("--precision", f.precision,
                 "Linear models: float64, or float32 (features rounded to float once: "
                 "half the memory and memory traffic of the gradients; sums and the "
                 "model stay float64)")
      ->capture_default_str();
  app.add_option("--sharding", f.sharding,
                 "How workers get their samples: random (every worker reads the whole "
                 "file and keeps a seeded random 1/N of it), byte-range (LIBSVM: worker "
                 "k of N reads only the lines that start in bytes [k·S/N, (k+1)·S/N) of "
                 "the S-byte file, and of --test-data: 1/N of the memory; the file "
                 "should be in random order)")
      ->capture_default_str();
}

void AddRunFlags(CLI::App& app, RunFlags& f) {
  app.add_option("--workers", f.workers,
                 "Workers N >= 1 (inproc: threads; mpi: must equal the number of ranks). "
                 "Default: 1 for inproc, the number of ranks under mpirun")
      ->check(CLI::Validator(
          [](std::string& value) {
            int n = 0;
            const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
            const bool whole = ec == std::errc() && end == value.data() + value.size();
            return whole && n < 1 ? "must be >= 1, got '" + value + "'" : std::string();
          },
          "", "workers"));
  app.add_option("--backend", f.backend, "auto (mpi under mpirun, else inproc), inproc, mpi")->capture_default_str();
  app.add_option("--mpi-reduction", f.mpi_reduction,
                 "ordered (rank-order sums, bit-identical to inproc) or native (MPI_Allreduce)")
      ->capture_default_str();
  app.add_option("--mpi-timeout", f.mpi_timeout_s,
                 "mpi backend: seconds a collective may wait for the other ranks before the job ends (a rank died "
                 "or stopped answering); 0 = forever")
      ->capture_default_str();
  app.add_option("--seed", f.seed, "Seed of every random choice (shards, sampling, synthetic data)")
      ->transform(kCount)
      ->capture_default_str();
  app.add_option("--out", f.out,
                 "Output folder for metrics.jsonl and summary.json (created if missing; a folder "
                 "holding another run's files is refused unless --overwrite)");
  app.add_flag("--overwrite", f.overwrite,
               "Replace the files of an earlier run in --out (its summary, metrics, "
               "models, predictions and checkpoint are removed before this run writes)");
  app.add_option("--eval-every", f.eval_every,
                 "Evaluate the full loss (and test accuracy) every K rounds; 0 = the first "
                 "20 rounds, then log-spaced (networks: about 10 times per run); the "
                 "last round always")
      ->transform(kCount)
      ->capture_default_str();
  app.add_option("--eval-every-sfo", f.eval_every_sfo,
                 "Instead of --eval-every: evaluate at the first round at or past every multiple of S samples "
                 "per worker (evenly spaced in SFO, to compare methods with different batches); 0 = off")
      ->transform(kCount)
      ->capture_default_str();
  app.add_option("--eval-samples", f.eval_samples,
                 "Evaluate loss and accuracies on this many samples in all "
                 "(a fixed subset, spread over the workers' shards); 0 = all. "
                 "f - f* is reported only with all")
      ->transform(kCount)
      ->capture_default_str();
  app.add_option("--eval-batch-norm", f.eval_batch_norm,
                 "Networks: the batch-norm statistics evaluations use: running (the running averages of training, "
                 "PyTorch's eval()) or recomputed (those of the evaluated model on the evaluation samples: "
                 "\"precise BN\"; training is unchanged)")
      ->capture_default_str();
  app.add_flag("--no-f-star", f.no_f_star, "Skip computing f* (no f - f* in the outputs)");
  app.add_option("--net-model", f.net_model,
                 "alpha=SECONDS,bandwidth=BYTES_PER_S: also report each run's rounds "
                 "costed as ring all-reduces on such a network (net_model_s), beside "
                 "the measured times");
  app.add_option("--target-loss", f.target_loss,
                 "Stop each run at the first evaluated round where f(x) <= this; summary.json records "
                 "rounds_to_target, sfo_to_target, bytes_to_target and wall_s_to_target (--eval-every 1 checks "
                 "every round)");
  app.add_option("--target-gap", f.target_gap, "As --target-loss, for f(x) - f* <= this (convex problems)");
  app.add_option("--target-accuracy", f.target_accuracy,
                 "As --target-loss, for an accuracy >= this fraction (0.9 = 90%): on --test-data when given, "
                 "else on the training data");
  app.add_flag("--barrier-before-rounds", f.barrier_before_rounds,
               "Measuring: a barrier (not counted) before every round's all-reduce, so that comm_s is the "
               "transfer alone, without the wait for the slowest worker it otherwise includes");
  // -q and -v together are refused after parsing (CLI11's excludes() would
  // print "Excludes: ..." into the help line).
  app.add_flag("-q,--quiet", f.quiet, "Print only errors and the result table (not with -v)");
  app.add_flag("-v,--verbose", f.verbose, "Log every evaluated round (round, batch, SFO, loss, time) to stderr");
  app.add_option("--threads", f.threads,
                 "Threads per worker. Networks: LibTorch threads per process (0 = LibTorch's default). Linear models: "
                 "threads that split each batch of 2048 or more (0 or 1 = one); results are bit-identical for a "
                 "given count, not across counts")
      ->capture_default_str();
  app.add_flag("--save-model", f.save_model,
               "Write the model next to summary.json: networks model.pt (parameters "
               "and batch-norm statistics, for torch.load), linear models "
               "model.liblinear (LIBLINEAR's format, for liblinear-predict)");
  app.add_option("--init-model", f.init_model,
                 "Linear models: start from this LIBLINEAR model file (written by "
                 "liblinear-train or by --save-model) instead of x = 0");
}

void AddAlgoFlags(CLI::App& app, AlgoFlags& f, bool algorithm_flags) {
  if (algorithm_flags) {
    app.add_option("--algo", f.algo,
                   "psgd (fixed batch), cr-psgd (Algorithm 1, growing batch), "
                   "local-sgd (periodic model averaging), cr-psgd-catalyst (Algorithm 2: "
                   "cr-psgd on proximal problems, for non-convex f), auto (each round's samples split into "
                   "local steps and batch by the measured gradient noise; give --rounds)")
        ->capture_default_str();
  }
  app.add_option("--budget", f.budget, "T: SFO budget per worker (stochastic gradients each worker may compute)")
      ->transform(kCount)
      ->required();
  app.add_option("--rounds", f.rounds,
                 "R: spend the budget in at most R rounds; sets psgd's B, local-sgd's I, cr-psgd's rho and "
                 "auto's plan (exactly R); 0: the parameters as given")
      ->transform(kCount)
      ->capture_default_str();
  if (algorithm_flags) {
    app.add_option("--batch", f.batch, "B for psgd, b (per local step) for local-sgd")
        ->transform(kCount)
        ->capture_default_str();
    app.add_option("--b1", f.b1, "B1: first batch of cr-psgd (and of each inner cr-psgd of the catalyst)")
        ->transform(kCount)
        ->capture_default_str();
    app.add_option("--rho", f.rho,
                   "rho > 1: batch growth factor of cr-psgd, B_{t+1} = floor(rho^t B1); or auto: "
                   "the batch grows when the workers' gradients say so (the norm test: B at most "
                   "doubles per round; the budget is spent to the last sample)")
        ->check(RhoValidator())
        ->capture_default_str();
    app.add_option("--sync-period", f.sync_period, "I: local steps between averagings (local-sgd)")
        ->transform(kCount)
        ->capture_default_str();
    app.add_option("--round-growth", f.round_growth,
                   "auto with --rounds: the last round's samples over the first's (1: every round alike)")
        ->capture_default_str();
    app.add_option("--round-split", f.round_split,
                   "auto: how a round's samples are spent: local-steps (steps of --batch: local SGD whose period "
                   "follows the round), noise (local steps of the batch the measured noise asks for) or one-step "
                   "(one step of all: a cr-psgd round)")
        ->capture_default_str();
    app.add_option("--outer-lr", f.outer_lr,
                   "local-sgd, auto: outer step alpha on the round's pseudo-gradient x_r - mean(x_i) (1 with "
                   "--outer-momentum 0: plain averaging)")
        ->capture_default_str();
    app.add_option("--outer-momentum", f.outer_momentum,
                   "local-sgd, auto: Nesterov momentum mu in [0, 1) on the round's pseudo-gradient (DiLoCo); auto "
                   "scales it each round by the share of the pseudo-gradient that is signal")
        ->capture_default_str();
    app.add_option("--theta", f.theta,
                   "theta > 0: proximal weight of cr-psgd-catalyst, "
                   "h(x) = f(x) + theta/2 |x - y|^2 (theory: theta > L)")
        ->capture_default_str();
    app.add_option("--outer-iters", f.outer_iters, "K: outer iterations of cr-psgd-catalyst; 0 = floor(sqrt(N T))")
        ->transform(kCount)
        ->capture_default_str();
    app.add_option("--inner-budget", f.inner_budget,
                   "Per-worker budget of each inner cr-psgd of the catalyst; "
                   "0 = floor(sqrt(T / N))")
        ->transform(kCount)
        ->capture_default_str();
    app.add_option("--lr", f.lr,
                   "Step size gamma; 'auto': 1/(L + Lbar/b), a stable step for the batch, with L "
                   "estimated from the data, Lbar the mean per-sample smoothness and b the samples "
                   "averaged per step (1/L for networks); 'auto*K': K/L")
        ->capture_default_str();
  }
  app.add_option("--norm-test-theta2", f.norm_test_theta2,
                 "--rho auto: theta^2 > 0 of the norm test; the batch grows until N*B reaches "
                 "tr(Sigma)/(theta^2 |grad f|^2) (1: the critical batch; smaller grows faster)")
      ->capture_default_str();
  app.add_option("--momentum", f.momentum,
                 "Heavy-ball momentum in [0, 1), for networks (the paper's theory and "
                 "its guarantees are for plain SGD, momentum 0)")
      ->capture_default_str();
  app.add_option("--weight-decay", f.weight_decay,
                 "Adds weight-decay * x to every gradient (the theory assumes 0; "
                 "use --lambda for a regulariser that is part of f)")
      ->capture_default_str();
  app.add_option("--lr-schedule", f.lr_schedule,
                 "constant, cosine (gamma (1 + cos(pi p))/2) or step (gamma/10 "
                 "from p = 1/2, gamma/100 from p = 3/4), p = share of the SFO "
                 "budget spent; auto: cosine for --algo auto, constant for the others")
      ->capture_default_str();
  app.add_option("--lr-batch-scaling", f.lr_batch_scaling,
                 "Growing batches: step gamma (B_t/B1)^p with p = 0 (none: the paper's constant step), 1/2 (sqrt) "
                 "or 1 (linear)")
      ->capture_default_str();
  app.add_option("--lr-max", f.lr_max, "Cap on the step that --lr-batch-scaling gives larger batches; 0 = none")
      ->capture_default_str();
  app.add_option("--sampling", f.sampling,
                 "with-replacement (i.i.d.) or reshuffle (passes over the shard, "
                 "without replacement)")
      ->capture_default_str();
  app.add_option("--max-micro-batch", f.max_micro_batch,
                 "Larger batches are computed as accumulated micro-batches of this size (still one round)")
      ->transform(kCount)
      ->capture_default_str();
}

void AddSweepFlags(CLI::App& app, SweepFlags& f) {
  app.add_option("--run", f.runs,
                 "A run: ALGO[:key=value,...], keys batch, b1, rho, norm-test-theta2, "
                 "sync-period, rounds, round-growth, round-split, outer-lr, outer-momentum, theta, outer-iters, "
                 "inner-budget, momentum, weight-decay, "
                 "lr-schedule, lr-batch-scaling, lr-max, lr (the flags of the same names; '_' may "
                 "stand for '-'; a run with lr keeps that step, auto or auto*K or a number, instead of --lr-grid). "
                 "Repeat for several, e.g. --run psgd:batch=1 --run cr-psgd:b1=1,rho=1.1")
      ->required();
  app.add_option("--lr-grid", f.lr_grid,
                 "Step sizes to try, as multiples of 1/L (comma separated); "
                 "each run keeps its best")
      ->capture_default_str();
  app.add_option("--seeds", f.seeds,
                 "Repeat every run with each of these seeds (comma separated) and choose "
                 "steps by the mean final loss; default: --seed only");
}

namespace {

Result<double> ParseNumber(const std::string& text, const std::string& what) {
  double value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size() || !std::isfinite(value)) {
    return Status::InvalidArgument(what + " must be a number, got '" + text + "'");
  }
  return value;
}

Result<std::uint64_t> ParseCount(const std::string& text, const std::string& what) {
  std::uint64_t value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size()) {
    return Status::InvalidArgument(what + " must be a non-negative integer, got '" + text + "'");
  }
  return value;
}

// --rho: a number, or "auto" for the norm test.
Status SetRho(const std::string& text, const std::string& what, AlgorithmOptions& o) {
  o.adaptive_batch = text == "auto";
  if (o.adaptive_batch) return Status::OK();
  auto rho = ParseNumber(text, what);
  if (!rho.ok()) return Status::InvalidArgument(what + " must be a number > 1 or auto, got '" + text + "'");
  o.growth = *rho;
  return Status::OK();
}

Status FillShared(const AlgoFlags& f, AlgorithmOptions& o) {
  o.budget = f.budget;
  o.batch = f.batch;
  o.first_batch = f.b1;
  CRPSGD_RETURN_IF_ERROR(SetRho(f.rho, "--rho", o));
  o.norm_test_theta2 = f.norm_test_theta2;
  o.sync_period = f.sync_period;
  o.rounds = f.rounds;
  o.round_growth = f.round_growth;
  CRPSGD_ASSIGN_OR_RETURN(o.round_split, ParseRoundSplit(f.round_split));
  o.outer_lr = f.outer_lr;
  o.outer_momentum = f.outer_momentum;
  o.theta = f.theta;
  o.outer_iterations = f.outer_iters;
  o.inner_budget = f.inner_budget;
  o.max_micro_batch = f.max_micro_batch;
  o.momentum = f.momentum;
  o.weight_decay = f.weight_decay;
  if (f.lr_schedule != "auto") {
    CRPSGD_ASSIGN_OR_RETURN(o.lr_schedule, ParseLrSchedule(f.lr_schedule));
  }
  CRPSGD_ASSIGN_OR_RETURN(o.lr_batch_scaling, ParseLrBatchScaling(f.lr_batch_scaling));
  o.lr_max = f.lr_max;
  CRPSGD_ASSIGN_OR_RETURN(o.sampling, ParseSampling(f.sampling));
  return Status::OK();
}

template <std::uint64_t AlgoFlags::*kField>
Status SetCount(AlgoFlags& f, const std::string& text, const std::string& what) {
  CRPSGD_ASSIGN_OR_RETURN(f.*kField, ParseCount(text, what));
  return Status::OK();
}
template <double AlgoFlags::*kField>
Status SetNumber(AlgoFlags& f, const std::string& text, const std::string& what) {
  CRPSGD_ASSIGN_OR_RETURN(f.*kField, ParseNumber(text, what));
  return Status::OK();
}
template <std::string AlgoFlags::*kField>
Status SetText(AlgoFlags& f, const std::string& text, const std::string&) {
  f.*kField = text;
  return Status::OK();
}

constexpr RunKey kRunKeys[] = {
    {"batch", true, true, SetCount<&AlgoFlags::batch>},
    {"b1", true, true, SetCount<&AlgoFlags::b1>},
    {"rho", false, true, SetText<&AlgoFlags::rho>},
    {"norm_test_theta2", true, true, SetNumber<&AlgoFlags::norm_test_theta2>},
    {"sync_period", true, true, SetCount<&AlgoFlags::sync_period>},
    {"rounds", true, true, SetCount<&AlgoFlags::rounds>},
    {"round_growth", true, true, SetNumber<&AlgoFlags::round_growth>},
    {"round_split", false, true, SetText<&AlgoFlags::round_split>},
    {"outer_lr", true, true, SetNumber<&AlgoFlags::outer_lr>},
    {"outer_momentum", true, true, SetNumber<&AlgoFlags::outer_momentum>},
    {"theta", true, true, SetNumber<&AlgoFlags::theta>},
    {"outer_iters", true, true, SetCount<&AlgoFlags::outer_iters>},
    {"inner_budget", true, true, SetCount<&AlgoFlags::inner_budget>},
    {"momentum", true, true, SetNumber<&AlgoFlags::momentum>},
    {"weight_decay", true, true, SetNumber<&AlgoFlags::weight_decay>},
    {"lr_schedule", false, true, SetText<&AlgoFlags::lr_schedule>},
    {"lr_batch_scaling", false, true, SetText<&AlgoFlags::lr_batch_scaling>},
    {"lr_max", true, true, SetNumber<&AlgoFlags::lr_max>},
    {"lr", false, true, SetText<&AlgoFlags::lr>},
};

}  // namespace

std::span<const RunKey> RunKeys() { return kRunKeys; }

const RunKey* FindRunKey(std::string key) {
  key = WithUnderscores(std::move(key));  // the table's spelling
  for (const RunKey& k : kRunKeys) {
    if (key == k.name) return &k;
  }
  return nullptr;
}

Status UnknownRunKey(const std::string& where, const std::string& key, bool sweep) {
  std::vector<std::string> names;
  std::string list;
  for (const RunKey& k : kRunKeys) {
    if (sweep && !k.in_sweep) continue;
    std::string name = sweep ? WithHyphens(k.name) : k.name;  // --run's own spelling, like the flags'
    list += (list.empty() ? "" : ", ") + name;
    names.push_back(std::move(name));
  }
  const std::string nearest = NearestName(key, names);
  return Status::InvalidArgument(where + ": unknown key '" + key + "'" +
                                 (nearest.empty() ? "" : " (did you mean " + nearest + "?)") + "; the keys are " +
                                 list);
}

Result<RunRequest> MakeTrainRequest(const AlgoFlags& f) {
  RunRequest request;
  CRPSGD_ASSIGN_OR_RETURN(request.options.kind, ParseAlgorithm(f.algo));
  CRPSGD_RETURN_IF_ERROR(FillShared(f, request.options));
  if (f.lr == "auto") {
    request.safe_step = true;
  } else if (f.lr.rfind("auto*", 0) == 0) {
    CRPSGD_ASSIGN_OR_RETURN(double k, ParseNumber(f.lr.substr(5), "--lr auto*K"));
    if (!(k > 0)) return Status::InvalidArgument("--lr auto*K needs K > 0, got '" + f.lr + "'");
    request.lr_multiple = k;
  } else {
    CRPSGD_ASSIGN_OR_RETURN(request.options.lr, ParseNumber(f.lr, "--lr"));
  }
  CRPSGD_RETURN_IF_ERROR(ValidateRequest(request));
  // The parameters --rounds sets, once: folder names, tables and the run all see them.
  CRPSGD_ASSIGN_OR_RETURN(request.options, FitToRounds(request.options));
  return request;
}

Result<std::vector<RunRequest>> MakeSweepRequests(const AlgoFlags& shared, const SweepFlags& sweep) {
  std::vector<double> grid;
  {
    std::stringstream ss(sweep.lr_grid);
    std::string item;
    while (std::getline(ss, item, ',')) {
      CRPSGD_ASSIGN_OR_RETURN(double k, ParseNumber(item, "--lr-grid entry"));
      if (!(k > 0)) return Status::InvalidArgument("--lr-grid entries must be > 0, got '" + item + "'");
      grid.push_back(k);
    }
    if (grid.empty()) return Status::InvalidArgument("--lr-grid is empty");
  }
  std::vector<RunRequest> requests;
  for (const std::string& spec : sweep.runs) {
    RunRequest base;
    base.group = static_cast<int>(&spec - sweep.runs.data());
    const auto colon = spec.find(':');
    auto kind = ParseAlgorithm(spec.substr(0, colon));
    if (!kind.ok()) return kind.status().WithContext("--run '" + spec + "'");
    base.options.kind = *kind;
    AlgoFlags run_flags = shared;  // the shared flags, then this run's keys
    bool own_step = false;         // lr=...: this run keeps its step instead of the grid's
    if (colon != std::string::npos) {
      std::stringstream ss(spec.substr(colon + 1));
      std::string pair;
      while (std::getline(ss, pair, ',')) {
        const auto eq = pair.find('=');
        const std::string key = pair.substr(0, eq);
        const std::string value = eq == std::string::npos ? "" : pair.substr(eq + 1);
        if (value.empty()) {
          return Status::InvalidArgument("--run '" + spec + "': " + key + " needs a value (key=value)");
        }
        const std::string what = "--run '" + spec + "': " + key;
        const RunKey* setting = FindRunKey(key);
        if (setting == nullptr || !setting->in_sweep) return UnknownRunKey("--run '" + spec + "'", key, true);
        CRPSGD_RETURN_IF_ERROR(setting->apply(run_flags, value, what));
        own_step = own_step || std::string_view(setting->name) == "lr";
      }
    }
    if (own_step) {  // one request, its step as train's --lr takes it
      run_flags.algo = AlgorithmName(*kind);
      Result<RunRequest> request = MakeTrainRequest(run_flags);
      if (!request.ok()) return request.status().WithContext("--run '" + spec + "'");
      request->group = base.group;
      request->name = RunFolderName(
          std::string(AlgorithmName(*kind)) + "_" + request->options.Describe() + "_lr" +
          (run_flags.lr.find('*') == std::string::npos ? run_flags.lr : "auto-x" + run_flags.lr.substr(5)));
      requests.push_back(std::move(*request));
      continue;
    }
    if (Status filled = FillShared(run_flags, base.options); !filled.ok()) {
      return filled.WithContext("--run '" + spec + "'");
    }
    for (double k : grid) {
      RunRequest request = base;
      request.lr_multiple = k;
      if (Status s = ValidateRequest(request); !s.ok()) return s.WithContext("--run '" + spec + "'");
      CRPSGD_ASSIGN_OR_RETURN(request.options, FitToRounds(request.options));  // as in MakeTrainRequest
      std::ostringstream name;
      name << AlgorithmName(request.options.kind) << "_" << request.options.Describe() << "_lr" << k << "overL";
      request.name = RunFolderName(name.str());
      requests.push_back(std::move(request));
    }
  }
  return requests;
}

Status ResolveModelFlags(DataFlags& d) {
  if (!d.model.empty()) {
    if (d.problem != "logreg" && d.problem != "torchscript") {
      return Status::InvalidArgument("--model " + d.model + " trains your TorchScript module and --problem " +
                                     d.problem + " a built-in one: give one of them");
    }
    d.problem = "torchscript";
  } else if (d.loss != "cross-entropy") {
    return Status::InvalidArgument(
        "--loss is for your own network (--model FILE.pt); the built-in problems have "
        "their own loss");
  }
  return Status::OK();
}

Result<std::optional<double>> ParseBias(const std::string& text) {
  if (text == "auto") return std::optional<double>();
  // A leading '+' (--bias +1) has always been taken here; from_chars does not take it.
  const Result<double> value = ParseNumber(text.starts_with('+') ? text.substr(1) : text, "--bias");
  if (!value.ok()) return Status::InvalidArgument("--bias must be auto or a finite number, got '" + text + "'");
  return std::optional<double>(*value);
}

Result<std::optional<bool>> ParseStandardize(const std::string& text) {
  if (text == "auto") return std::optional<bool>();
  if (text == "yes" || text == "true" || text == "on" || text == "1") return std::optional<bool>(true);
  if (text == "no" || text == "false" || text == "off" || text == "0") return std::optional<bool>(false);
  return Status::InvalidArgument("--standardize must be auto, yes or no, got '" + text + "'");
}

Result<DataOptions> MakeDataOptions(const DataFlags& f, LabelTask labels, bool multiclass) {
  DataOptions o;
  o.multiclass = multiclass;
  // Your own network trained on its own targets (mse, its loss): the labels as they are.
  o.labels_as_given = !f.model.empty() && f.loss != "cross-entropy";
  o.train = f.data;
  o.test = f.test_data;
  o.train_labels = f.labels;
  o.test_labels = f.test_labels;
  CRPSGD_ASSIGN_OR_RETURN(o.format, ParseDataFormat(f.format));
  CRPSGD_ASSIGN_OR_RETURN(o.sharding, ParseSharding(f.sharding));
  o.labels = labels;
  o.table.label_column = f.label_column;
  o.positive_class = f.positive_class;
  o.negative_class = f.negative_class;
  CRPSGD_ASSIGN_OR_RETURN(o.bias, ParseBias(f.bias));
  o.normalize = f.normalize;
  CRPSGD_ASSIGN_OR_RETURN(o.standardize, ParseStandardize(f.standardize));
  o.read_tensors = TensorFileReader();
  o.synthetic.samples = f.synthetic_samples;
  o.synthetic.features = f.synthetic_features;
  o.synthetic.noise = f.synthetic_noise;
  o.synthetic.condition_number = f.synthetic_condition;
  return o;
}

Result<ObjectiveSettings> MakeObjectiveSettings(const DataFlags& data, const RunFlags& run) {
  ObjectiveSettings s;
  s.lambda = data.lambda;
  CRPSGD_ASSIGN_OR_RETURN(s.precision, ParsePrecision(data.precision));
  // s.bias is the bias feature the data carry: set once they are loaded
  // (AdoptLoadedData), where --bias auto is decided.
  s.threads = run.threads;
  s.hidden = data.hidden;
  s.augment = data.augment;
  s.model_file = data.model;
  s.loss = data.loss;
  return s;
}

Status MakeJobSpec(Job& job) {
  JobSpec& spec = job.spec;
  const RunFlags& run = job.run;
  CRPSGD_RETURN_IF_ERROR(ResolveModelFlags(job.data));
  CRPSGD_ASSIGN_OR_RETURN(spec.objective, ObjectiveFor(job.data.problem));
  CRPSGD_ASSIGN_OR_RETURN(spec.data, MakeDataOptions(job.data, spec.objective->labels, spec.objective->multiclass));
  CRPSGD_ASSIGN_OR_RETURN(spec.objective_settings, MakeObjectiveSettings(job.data, run));
  CRPSGD_RETURN_IF_ERROR(CheckObjectiveSettings(*spec.objective, spec.objective_settings));
  spec.init_model = run.init_model;
  spec.data_seed = run.seed;
  spec.eval_every = run.eval_every;
  spec.eval_every_sfo = run.eval_every_sfo;
  spec.eval_samples = run.eval_samples;
  if (run.eval_batch_norm != "running" && run.eval_batch_norm != "recomputed") {
    return Status::InvalidArgument("--eval-batch-norm must be running or recomputed, got '" + run.eval_batch_norm +
                                   "'");
  }
  spec.recompute_batch_norm = run.eval_batch_norm == "recomputed";
  spec.compute_f_star = !run.no_f_star;
  if (!run.net_model.empty()) {
    CRPSGD_ASSIGN_OR_RETURN(spec.net_model, ParseNetworkModel(run.net_model));
  }
  spec.barrier_before_rounds = run.barrier_before_rounds;
  for (const auto& [text, flag, target] : {std::tuple{&run.target_loss, "--target-loss", &spec.targets.loss},
                                           {&run.target_gap, "--target-gap", &spec.targets.gap},
                                           {&run.target_accuracy, "--target-accuracy", &spec.targets.accuracy}}) {
    if (text->empty()) continue;
    CRPSGD_ASSIGN_OR_RETURN(*target, ParseNumber(*text, flag));
  }
  spec.out = run.out;
  spec.checkpoint_every = run.checkpoint_every;
  spec.resume = run.resume;
  spec.overwrite = run.overwrite;
  spec.save_model = run.save_model;
  spec.quiet = run.quiet;
  spec.verbose = run.verbose;
  CRPSGD_ASSIGN_OR_RETURN(spec.round_hook, FaultHook(run.inject_fault));
  return Status::OK();
}

Result<std::function<Status(int, const RoundRecord&)>> FaultHook(const std::string& text) {
  if (text.empty()) return std::function<Status(int, const RoundRecord&)>();
  enum class Kind { kKill, kStop, kThrow };
  const std::string kind = text.substr(0, text.find(':'));
  const Kind fault = kind == "stop" ? Kind::kStop : kind == "throw" ? Kind::kThrow : Kind::kKill;
  const std::string format = (kind == "stop" || kind == "throw" ? kind : std::string("kill")) + ":rank=%d,round=%llu%n";
  int rank = 0, consumed = 0;
  unsigned long long round = 0;
  if (std::sscanf(text.c_str(), format.c_str(), &rank, &round, &consumed) != 2 ||
      consumed != static_cast<int>(text.size()) || rank < 0 || round < 1) {
    return Status::InvalidArgument(
        "--inject-fault must be kill:rank=R,round=T, stop:rank=R,round=T or "
        "throw:rank=R,round=T (R >= 0, T >= 1), got '" +
        text + "'");
  }
  return std::function<Status(int, const RoundRecord&)>([=](int worker, const RoundRecord& record) {
    if (worker != rank || record.round != round) return Status::OK();
    if (fault == Kind::kThrow) {
      throw std::runtime_error("--inject-fault: an exception in worker " + std::to_string(worker) + " at round " +
                               std::to_string(round));
    }
    std::fprintf(stderr, "crpsgd: --inject-fault: %s worker %d at round %llu\n",
                 fault == Kind::kStop ? "stopping" : "killing", worker, round);
    std::fflush(stderr);
    std::raise(fault == Kind::kStop ? SIGSTOP : SIGKILL);
    return Status::OK();
  });
}

Result<std::vector<std::uint64_t>> ParseSeeds(const std::string& seeds, std::uint64_t seed) {
  if (seeds.empty()) return std::vector<std::uint64_t>{seed};
  std::vector<std::uint64_t> out;
  std::stringstream ss(seeds);
  std::string item;
  while (std::getline(ss, item, ',')) {
    CRPSGD_ASSIGN_OR_RETURN(std::uint64_t s, ParseCount(item, "--seeds entry"));
    if (std::find(out.begin(), out.end(), s) != out.end()) {
      return Status::InvalidArgument("--seeds lists " + item + " twice");
    }
    out.push_back(s);
  }
  if (out.empty()) return Status::InvalidArgument("--seeds is empty");
  return out;
}

}  // namespace crpsgd::cli
