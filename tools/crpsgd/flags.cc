#include "flags.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <sstream>

#include "arguments.h"
#include "crpsgd/enum_table.h"
#include "crpsgd/built_in_objectives.h"
#include "settings.h"

namespace crpsgd::cli {

Result<double> ParseNumber(const std::string& text, const std::string& what) {
  double value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size() || !std::isfinite(value)) {
    return Status::InvalidArgument(what + " must be a number, got '" + text + "'");
  }
  return value;
}

Result<RoundTimeout> ParseRoundTimeout(const std::string& text) {
  RoundTimeout timeout;
  if (text == "auto") {
    timeout.automatic = true;
    return timeout;
  }
  char* end = nullptr;
  const double seconds = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !(seconds >= 0.0) || !std::isfinite(seconds)) {
    return Status::InvalidArgument("--round-timeout must be auto, 0 (none) or seconds > 0, got '" + text + "'");
  }
  timeout.fixed = std::chrono::milliseconds(static_cast<std::int64_t>(std::ceil(seconds * 1e3)));
  return timeout;
}

Result<bool> ParseRecomputeBatchNorm(const std::string& text) {
  constexpr EnumTable<bool, 2> kEvalBatchNorms{{{{false, "running"}, {true, "recomputed"}}}};
  return kEvalBatchNorms.Parse(text, "--eval-batch-norm");
}

namespace {

Result<std::uint64_t> ParseCount(const std::string& text, const std::string& what) {
  std::uint64_t value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size()) {
    return Status::InvalidArgument(what + " must be a non-negative integer, got '" + text + "'");
  }
  return value;
}

}  // namespace

Result<std::optional<double>> ParseRho(const std::string& text) {
  if (text == "auto") return std::optional<double>();
  const Result<double> rho = ParseNumber(text, "--rho");
  if (!rho.ok()) return Status::InvalidArgument("--rho must be a number > 1 or auto, got '" + text + "'");
  return std::optional<double>(*rho);
}

Result<std::uint64_t> ParseBatch(const std::string& text) {
  if (text == "auto") return kAutoBatch;
  const Result<std::uint64_t> batch = ParseCount(text, "--batch");
  if (!batch.ok() || *batch < 1) {
    return Status::InvalidArgument("--batch must be an integer >= 1 or auto, got '" + text + "'");
  }
  return *batch;
}

Result<std::optional<std::uint64_t>> ParseBudget(const std::string& text) {
  if (text == "auto") return std::optional<std::uint64_t>();
  Result<std::uint64_t> budget = ParseCount(text, "--budget");
  if (const Result<double> number = ParseNumber(text, "--budget"); !budget.ok() && number.ok()) {
    // 1e6 is a whole number, as the integer flags have always read it.
    if (*number >= 1.0 && *number < 1.8e19 && *number == std::floor(*number)) {
      budget = static_cast<std::uint64_t>(*number);
    }
  }
  if (!budget.ok() || *budget < 1) {
    return Status::InvalidArgument("--budget must be an integer >= 1 (SFO calls per worker) or auto, got '" + text +
                                   "'");
  }
  return std::optional<std::uint64_t>(*budget);
}

Result<std::optional<std::uint64_t>> ParseRounds(const std::string& text) {
  if (text == "auto") return std::optional<std::uint64_t>();
  const Result<std::uint64_t> rounds = ParseCount(text, "--rounds");
  if (!rounds.ok()) return Status::InvalidArgument("--rounds must be an integer >= 0 or auto, got '" + text + "'");
  return std::optional<std::uint64_t>(*rounds);
}

Result<std::optional<double>> ParseTailAverage(const std::string& text) {
  if (text == "auto") return std::optional<double>();
  const Result<double> share = ParseNumber(text, "--tail-average");
  if (!share.ok() || !(*share >= 0.0 && *share <= 1.0)) {
    return Status::InvalidArgument("--tail-average must be auto or a share of the budget in [0, 1], got '" + text +
                                   "'");
  }
  return std::optional<double>(*share);
}

Result<StepRule> ParseStep(const std::string& text) {
  StepRule step;
  if (text == "auto") {
    step.safe = true;
  } else if (text.rfind("auto*", 0) == 0) {
    const Result<double> k = ParseNumber(text.substr(5), "--lr auto*K");
    if (!k.ok() || !(*k > 0)) {
      return Status::InvalidArgument("--lr auto*K needs a number K > 0, got '" + text + "'");
    }
    step.multiple = *k;
  } else {
    CRPSGD_ASSIGN_OR_RETURN(step.lr, ParseNumber(text, "--lr"));
  }
  return step;
}

namespace {

Status FillShared(const AlgoFlags& f, AlgorithmOptions& o) {
  CRPSGD_ASSIGN_OR_RETURN(const std::optional<std::uint64_t> budget, ParseBudget(f.budget));
  o.budget = budget.value_or(0);  // auto: from the data (RunRequest::epochs)
  CRPSGD_ASSIGN_OR_RETURN(o.batch, ParseBatch(f.batch));
  if (o.batch == kAutoBatch && !o.ChoosesOwnBatch()) o.batch = AlgorithmOptions{}.batch;
  // The algorithms' own parameters, every one: each algorithm reads those it takes.
  AlgorithmFields& p = o.params;
  p.Set("b1", f.b1);
  CRPSGD_ASSIGN_OR_RETURN(const std::optional<double> rho, ParseRho(f.rho));
  p.Set("rho", rho ? FieldValue(*rho) : FieldValue(std::string("auto")));  // auto: the norm test
  p.Set("norm_test_theta2", f.norm_test_theta2);
  p.Set("sync_period", f.sync_period);
  CRPSGD_ASSIGN_OR_RETURN(const std::optional<std::uint64_t> rounds, ParseRounds(f.rounds));
  o.rounds = rounds.value_or(0);
  p.Set("round_growth", f.round_growth);
  CRPSGD_RETURN_IF_ERROR(ParseRoundSplit(f.round_split).status());
  p.Set("round_split", f.round_split);
  p.Set("outer_lr", f.outer_lr);
  p.Set("outer_momentum", f.outer_momentum);
  CRPSGD_ASSIGN_OR_RETURN(const std::optional<double> tail_average, ParseTailAverage(f.tail_average));
  p.Set("tail_average", tail_average ? FieldValue(*tail_average) : FieldValue(std::string("auto")));
  p.Set("theta", f.theta);
  p.Set("outer_iterations", f.outer_iters);
  p.Set("inner_budget", f.inner_budget);
  o.max_micro_batch = f.max_micro_batch;
  o.momentum = f.momentum;
  o.weight_decay = f.weight_decay;
  if (f.lr_schedule != "auto") {
    CRPSGD_ASSIGN_OR_RETURN(o.lr_schedule, ParseLrSchedule(f.lr_schedule));
  }
  CRPSGD_ASSIGN_OR_RETURN(o.lr_batch_scaling, ParseLrBatchScaling(f.lr_batch_scaling));
  o.lr_max = f.lr_max;
  CRPSGD_ASSIGN_OR_RETURN(o.sampling, ParseSampling(f.sampling));
  CRPSGD_ASSIGN_OR_RETURN(const CompressionChoice compress, ParseCompressionChoice(f.compress));
  o.compression = compress.kind, o.compression_rank = compress.rank;
  o.compression_bf16_factors = compress.bf16_factors;
  o.overlap = f.overlap;
  return Status::OK();
}

}  // namespace

Result<RunRequest> MakeTrainRequest(const AlgoFlags& f) {
  RunRequest request;
  CRPSGD_ASSIGN_OR_RETURN(request.options.kind, ParseAlgorithm(f.algo));
  CRPSGD_RETURN_IF_ERROR(FillShared(f, request.options));
  CRPSGD_ASSIGN_OR_RETURN(const StepRule step, ParseStep(f.lr));
  request.safe_step = step.safe;
  request.lr_multiple = step.multiple;
  if (!step.safe && !step.multiple) request.options.lr = step.lr;
  // The budget in passes over the data, known once the data are (RunJob).
  if (f.epochs != 0.0 && request.options.budget != 0) {
    return Status::InvalidArgument("--budget " + f.budget + " and --epochs " + ExactNumber(f.epochs) +
                                   " both set the budget: give one");
  }
  if (!(f.epochs >= 0.0) || !std::isfinite(f.epochs)) {
    return Status::InvalidArgument("--epochs must be > 0 (passes over the training data), got " +
                                   ExactNumber(f.epochs));
  }
  if (request.options.budget == 0) {
    request.epochs = f.epochs > 0.0 ? f.epochs : kAutoBudgetEpochs;
    request.stop_when_converged = f.epochs == 0.0;
  }
  request.plan_rounds = PlansOwnRounds(request.options.kind) && f.rounds == "auto";
  if (!(f.comm_share > 0.0 && f.comm_share < 1.0)) {
    return Status::InvalidArgument("--comm-share must be in (0, 1) (communication's share of the wall time), got " +
                                   ExactNumber(f.comm_share));
  }
  request.comm_share = f.comm_share;
  return request;  // the job checks it against N and the data, and fits it to --rounds, once
}

namespace {

// sweep and compare: a budget in samples, the same for every run.
Status CheckOneBudget(const AlgoFlags& f, const std::string& command) {
  if (f.budget == "auto" || f.epochs != 0.0) {
    return Status::InvalidArgument(command + " compares methods at one budget: give --budget T (SFO per worker)");
  }
  return Status::OK();
}

}  // namespace

Result<RunRequest> MakeComparedRequest(const AlgoFlags& f, const std::string& command) {
  CRPSGD_RETURN_IF_ERROR(CheckOneBudget(f, command));
  CRPSGD_ASSIGN_OR_RETURN(RunRequest request, MakeTrainRequest(f));
  request.plan_rounds = false;  // auto's rounds as given: --rounds R, else S1 and rho
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
  CRPSGD_RETURN_IF_ERROR(CheckOneBudget(shared, "sweep"));
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
        CRPSGD_RETURN_IF_ERROR(SetRunKey(run_flags, key, value, "--run '" + spec + "'", /*sweep=*/true));
        own_step = own_step || key == "lr";
      }
    }
    if (own_step) {  // one request, its step as train's --lr takes it
      run_flags.algo = AlgorithmName(*kind);
      Result<RunRequest> request = MakeComparedRequest(run_flags, "sweep");
      if (!request.ok()) return request.status().WithContext("--run '" + spec + "'");
      request->group = base.group;
      request->source = "--run '" + spec + "'";
      request->name = std::string(AlgorithmName(*kind)) + "_" + kRunParameters + "_lr" +
                      (run_flags.lr.find('*') == std::string::npos ? run_flags.lr : "auto-x" + run_flags.lr.substr(5));
      requests.push_back(std::move(*request));
      continue;
    }
    if (Status filled = FillShared(run_flags, base.options); !filled.ok()) {
      return filled.WithContext("--run '" + spec + "'");
    }
    for (double k : grid) {
      RunRequest request = base;
      request.lr_multiple = k;
      request.source = "--run '" + spec + "'";
      std::ostringstream name;  // the parameters as the job fits them to --rounds
      name << AlgorithmName(request.options.kind) << "_" << kRunParameters << "_lr" << k << "overL";
      request.name = name.str();
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
  CRPSGD_ASSIGN_OR_RETURN(spec.recompute_batch_norm, ParseRecomputeBatchNorm(run.eval_batch_norm));
  spec.compute_f_star = !run.no_f_star;
  if (!run.net_model.empty()) {
    CRPSGD_ASSIGN_OR_RETURN(spec.net_model, ParseNetworkModel(run.net_model));
  }
  spec.barrier_before_rounds = run.barrier_before_rounds;
  CRPSGD_ASSIGN_OR_RETURN(spec.round_timeout, ParseRoundTimeout(run.round_timeout));
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
  if (!run.inject_fault.empty()) {
    CRPSGD_ASSIGN_OR_RETURN(spec.fault, ParseFault(run.inject_fault));
  }
  return Status::OK();
}

Result<PredictOptions> MakePredictOptions(const PredictFlags& flags) {
  if (flags.model.empty()) return Status::InvalidArgument("--model is required (a LIBLINEAR model or a model.pt)");
  if (flags.data.format == "synthetic") return Status::InvalidArgument("predict reads a data file: give --data");
  if (!flags.data.test_data.empty()) {
    return Status::InvalidArgument("--test-data: predict scores the file given as --data");
  }
  PredictOptions options;
  options.model = flags.model;
  options.out = flags.out;
  CRPSGD_ASSIGN_OR_RETURN(options.data, MakeDataOptions(flags.data, LabelTask::kClasses));
  options.problem = flags.data.problem;
  options.hidden = flags.data.hidden;
  options.loss = flags.loss;
  return options;
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
