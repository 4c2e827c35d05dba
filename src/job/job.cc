#include "crpsgd/job.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string_view>

#include <nlohmann/json.hpp>

#include "crpsgd/checkpoint.h"
#include "crpsgd/config.h"
#include "crpsgd/evaluation.h"
#include "crpsgd/liblinear_model.h"
#include "crpsgd/linear_models.h"
#include "crpsgd/metrics.h"
#include "crpsgd/output_folder.h"
#include "crpsgd/slice_objective.h"
#include "progress.h"

namespace crpsgd {
namespace {

// This worker's shard and its objectives (the one --problem names).
// A worker's objectives and, with --sampling global, its objective over the
// whole training set (TrainOptions::global_objective; null otherwise).
struct JobObjectives {
  std::unique_ptr<Objective> global;  // first: a slice in `worker` refers to it, and goes before it
  WorkerObjectives worker;
};

Result<JobObjectives> MakeObjectives(const JobSpec& job, const LoadedData& data, Communicator& comm,
                                     std::uint64_t seed) {
  CRPSGD_ASSIGN_OR_RETURN(WorkerShard shard, ShardOf(data, job.data, comm.rank(), comm.size(), seed));
  JobObjectives made;
  if (job.samples_globally()) {
    if (data.byte_range()) {
      return Status::InvalidArgument(
          "--sampling global reads the whole training set on every worker: --sharding random");
    }
    std::shared_ptr<const Dataset> whole = data.whole_train;  // in process: one copy every worker shares
    if (whole == nullptr) whole = std::make_shared<const Dataset>(data.train);
    const ObjectiveInputs inputs{whole,       shard.test,        data.num_classes, seed,
                                 comm.rank(), data.class_labels, data.scaling};
    CRPSGD_ASSIGN_OR_RETURN(WorkerObjectives over_whole, job.objective->make(job.objective_settings, inputs));
    made.global = std::move(over_whole.train);
    if (made.global->model_state() != nullptr) {
      // State outside x (batch norm) is kept once: the worker's shard is a
      // slice of the whole set's objective, which its test objective and saver share.
      made.worker.train = std::make_unique<SliceObjective>(
          *made.global, ShardIndices(data.train.num_samples(), comm.rank(), comm.size(), seed));
      made.worker.test = std::move(over_whole.test);
      made.worker.save_model = std::move(over_whole.save_model);
      return made;
    }
  }
  const ObjectiveInputs inputs{shard.train, shard.test,        data.num_classes, seed,
                               comm.rank(), data.class_labels, data.scaling};
  CRPSGD_ASSIGN_OR_RETURN(made.worker, job.objective->make(job.objective_settings, inputs));  // settings checked
  return made;
}

// The data a run names in its identity and summary: the training file, or "synthetic".
std::string DataName(const DataOptions& data) {
  return data.format == DataFormat::kSynthetic ? std::string("synthetic") : data.train.string();
}

}  // namespace

std::string RunFolderName(std::string description) {
  for (char& c : description) {
    if (c == ' ') c = '_';
    if (c == '=' || c == '/') c = '-';
  }
  return description;
}

RunRequest ResolveBudget(RunRequest request, std::size_t total_samples, int workers) {
  if (!request.epochs) return request;
  const double samples = std::ceil(*request.epochs * static_cast<double>(total_samples) / std::max(1, workers));
  request.options.budget = std::max<std::uint64_t>(1, static_cast<std::uint64_t>(samples));
  return request;
}

namespace {

// The request's options checked on N workers and fitted to --rounds (the one
// FitToRounds of a run), its step's placeholder aside, and its folder name
// made from the parameters fitted. `note` says what --rounds chose.
Status PrepareRequest(RunRequest& r, int workers, std::string* note) {
  AlgorithmOptions probe = r.options;
  // A placeholder that --lr-max admits: the step comes from L̂ later (and --lr-max caps it there).
  if (r.lr_multiple || r.safe_step) probe.lr = probe.lr_max > 0.0 ? probe.lr_max : 1.0;
  Result<AlgorithmOptions> fitted = FitToRounds(std::move(probe), workers, note);
  if (!fitted.ok()) return r.source.empty() ? fitted.status() : fitted.status().WithContext(r.source);
  fitted->lr = r.options.lr;
  r.options = std::move(*fitted);
  if (const std::size_t at = r.name.find(kRunParameters); at != std::string::npos) {
    r.name = RunFolderName(r.name.replace(at, std::string_view(kRunParameters).size(), r.options.Describe()));
  }
  return Status::OK();
}

}  // namespace

Status ValidateRequest(const RunRequest& request, int workers) {
  RunRequest probe = request;
  if (probe.epochs) probe.options.budget = std::numeric_limits<std::uint32_t>::max();  // a budget from the data
  return PrepareRequest(probe, workers, nullptr);
}

Status ValidateJob(const JobSpec& job) {
  if (job.objective == nullptr) return Status::InvalidArgument("a job needs an objective (JobSpec::objective)");
  if (job.seeds.empty()) return Status::InvalidArgument("a job needs a seed (JobSpec::seeds)");
  StatusList errors;  // every bad combination at once
  if ((job.checkpoint_every > 0 || job.resume) && job.out.empty()) {
    errors.Add(Status::InvalidArgument(std::string(job.resume ? "--resume" : "--checkpoint-every") +
                                       " needs --out (the checkpoints live in --out/checkpoint)"));
  } else if (job.resume && !std::filesystem::exists(job.out / "checkpoint" / "LATEST")) {
    errors.Add(Status::InvalidArgument("--resume: " + (job.out / "checkpoint").string() +
                                       " holds no checkpoint (was the run started with --checkpoint-every?)"));
  }
  if (job.save_model && job.out.empty()) {
    errors.Add(
        Status::InvalidArgument("--save-model needs --out (the model is written there: model.liblinear for "
                                "linear models, model.pt for networks)"));
  }
  if (job.eval_every > 0 && job.eval_every_sfo > 0) {
    errors.Add(
        Status::InvalidArgument("--eval-every (rounds) and --eval-every-sfo (samples) are two schedules: give one"));
  }
  if (job.recompute_batch_norm && !job.network()) {
    errors.Add(
        Status::InvalidArgument("--eval-batch-norm recomputed is for networks (--problem softmax, mlp, resnet20): "
                                "linear models have no batch norm"));
  }
  errors.Add(job.targets.Validate());
  if (job.targets.gap && (!job.compute_f_star || job.eval_samples > 0 || job.network())) {
    errors.Add(Status::InvalidArgument(
        "--target-gap needs f*: a convex problem (logreg, leastsq), without --no-f-star or --eval-samples; use "
        "--target-loss otherwise"));
  }
  return errors.ToStatus();
}

Result<std::vector<double>> LoadInitialPoint(const JobSpec& job, const LoadedData& data) {
  const std::string file = job.init_model.string();
  if (file.empty()) return std::vector<double>{};
  if (job.network()) {
    return Status::InvalidArgument(
        "--init-model reads LIBLINEAR models: linear models only (--problem logreg, "
        "leastsq or ncvx-logreg)");
  }
  CRPSGD_ASSIGN_OR_RETURN(LiblinearModel model, ReadLiblinearModel(file));
  const bool regression = model.is_regression();
  if (regression != (job.objective->labels == LabelTask::kRegression)) {
    return Status::InvalidArgument(
        file + ": a " + model.solver_type + " model does not fit --problem " + job.objective->name +
        (regression ? " (regression models fit leastsq)" : " (classifiers fit logreg, ncvx-logreg)"));
  }
  const double bias = data.bias;
  if (model.bias >= 0 && model.bias != bias) {
    return Status::InvalidArgument(file + ": trained with a bias feature of " + std::to_string(model.bias) +
                                   ": give --bias " + std::to_string(model.bias));
  }
  if (model.bias < 0 && bias != 0.0) return Status::InvalidArgument(file + ": has no bias feature: drop --bias");
  const std::size_t K = model.columns();  // weights per feature
  const bool data_multiclass = data.num_classes > 2 && !regression;
  if ((K > 1) != data_multiclass || (K > 1 && model.labels != data.class_labels)) {
    auto list = [](const std::vector<double>& labels) {
      std::ostringstream os;
      for (double l : labels) os << (os.tellp() > 0 ? " " : "") << l;
      return os.str();
    };
    return Status::InvalidArgument(file + ": a model of the labels " + (K > 1 ? list(model.labels) : "of 2 classes") +
                                   "; the data's are " +
                                   (data_multiclass ? list(data.class_labels) : std::string("of 2 classes")) +
                                   " (a warm start needs the same classes in the same order)");
  }
  std::vector<double> x(data.num_features * K, 0.0);
  const std::size_t features = data.num_features - (bias != 0.0 ? 1 : 0);
  if (model.nr_feature > features) {
    return Status::InvalidArgument(file + ": " + std::to_string(model.nr_feature) + " features, the data " +
                                   std::to_string(features));
  }
  std::copy_n(model.weights.begin(), model.nr_feature * K, x.begin());
  if (bias != 0.0)
    std::copy_n(model.weights.end() - static_cast<std::ptrdiff_t>(K), K, x.end() - static_cast<std::ptrdiff_t>(K));
  return x;
}

Status AdoptLoadedData(JobSpec& job, const LoadedData& data) {
  job.objective_settings.bias = data.bias;
  job.standardized = data.scaling != nullptr;
  CRPSGD_ASSIGN_OR_RETURN(job.initial_x, LoadInitialPoint(job, data));
  return Status::OK();
}

Result<FeatureScaling> ReadFeatureScaling(const std::filesystem::path& file) {
  FeatureScaling scaling;
  try {
    std::ifstream in(file);
    const nlohmann::json j = nlohmann::json::parse(in);
    scaling.mean = j.at("mean").get<std::vector<double>>();
    scaling.scale = j.at("scale").get<std::vector<double>>();
  } catch (const std::exception& e) {
    return Status::Corruption(file.string() + ": not --standardize's statistics (" + e.what() + ")");
  }
  return scaling;
}

std::optional<std::string> FinishedRun(const JobSpec& job) {
  const std::filesystem::path summary = job.out / "summary.json";
  std::error_code ec;
  if (!job.resume || !std::filesystem::exists(summary, ec)) return std::nullopt;
  std::string rounds = "?";
  try {
    std::ifstream in(summary);
    rounds = std::to_string(nlohmann::json::parse(in).at("rounds").get<std::uint64_t>());
  } catch (const std::exception&) {  // unreadable: still finished; say so without the count
  }
  return job.out.string() + " finished already (round " + rounds + " of " + rounds + ", " + summary.string() +
         "): nothing to resume";
}

// What identifies a run beyond what Train knows: a checkpoint must match it.
std::vector<std::pair<std::string, std::string>> JobIdentity(const JobSpec& job) {
  std::vector<std::pair<std::string, std::string>> identity = {
      {"problem", job.objective->name},
      {"data", DataName(job.data)},
      {"lambda", std::to_string(job.objective_settings.lambda)},
      {"bias", std::to_string(job.objective_settings.bias)},
      {"init_model", job.init_model.string()},
      {"threads", std::to_string(job.objective_settings.threads)},
      {"precision", PrecisionName(job.objective_settings.precision)},
      {"sharding", ShardingName(job.data.sharding)}};
  if (const ObjectiveSettings& s = job.objective_settings; !s.model_file.empty()) {
    // your own network: which module, trained on which loss
    identity.insert(identity.end(), {{"model", s.model_file.string()}, {"loss", s.loss}});
  }
  if (job.standardized) identity.emplace_back("standardize", "true");  // only when set: older checkpoints match
  return identity;
}

// --resume, before L̂ and f* are computed: every difference between the
// checkpoint and this run that is known without them, at once.
Status CheckResumeEarly(const JobSpec& job, const RunRequest& r, int workers, int plan_workers, std::uint64_t seed) {
  if (!job.resume || job.out.empty() || job.sweep) return Status::OK();
  std::vector<std::pair<std::string, std::string>> identity = JobIdentity(job);
  // --rho auto may raise B1 once L̂ is known, and auto's --batch auto becomes a number with the
  // step (ResolveStep), so their description waits for Train.
  const bool resolved_later = r.options.adaptive_batch() || r.options.ChoosesOwnBatch();
  for (auto& entry : EarlyRunIdentity(r.options, seed, plan_workers)) {
    if (entry.first != "algorithm" || !resolved_later) identity.push_back(std::move(entry));
  }
  return CheckCheckpointMatches(job.out / "checkpoint", workers, identity);
}

namespace {

// The request's step rule (--lr auto wins over a multiple).
StepRule StepRuleOf(const RunRequest& r) {
  if (r.safe_step) return {StepRule::Kind::kSafe};
  if (r.lr_multiple) return {StepRule::Kind::kMultipleOfInverseL, *r.lr_multiple};
  return {};
}

// Why a run with a budget in epochs ended, for the log and summary.json.
std::string StopReason(const RunRequest& r, const RunSummary& summary) {
  std::ostringstream os;
  if (r.stop_when_converged && summary.reached) {
    os << "converged: f - f* closed to " << kConvergedGap << " of its start after " << summary.sfo_per_worker
       << " samples a worker";
  } else {
    os << "the budget: " << *r.epochs << " epochs (" << summary.sfo_per_worker << " samples a worker) spent";
    if (r.stop_when_converged && summary.f_star) os << " before f - f* closed to " << kConvergedGap << " of its start";
    if (r.stop_when_converged && !summary.f_star) os << " (no f* to stop on: a network or --no-f-star)";
  }
  return os.str();
}

// The job's requests with their budgets in samples (--epochs, --budget auto).
Result<std::vector<RunRequest>> ResolveBudgets(const JobSpec& job, const Objective& f, Communicator& comm,
                                               int plan_workers) {
  std::vector<RunRequest> requests = job.requests;
  double total = static_cast<double>(f.num_samples());
  if (std::any_of(requests.begin(), requests.end(), [](const RunRequest& r) { return r.epochs.has_value(); })) {
    CRPSGD_RETURN_IF_ERROR(comm.AllreduceSum(std::span(&total, 1)));
  }
  for (RunRequest& r : requests) r = ResolveBudget(std::move(r), static_cast<std::size_t>(total), plan_workers);
  return requests;
}

// config.toml with the rounds a plan chose in place of "auto", so that the
// file (and --resume, which reads it) repeats the run exactly.
std::string WithPlannedRounds(std::string config_toml, std::uint64_t rounds) {
  const std::string automatic = "\nrounds = \"auto\"\n";
  const std::size_t at = config_toml.find(automatic);
  if (at == std::string::npos) return config_toml;
  return config_toml.replace(at, automatic.size(),
                             "\nrounds = " + std::to_string(rounds) + "  # planned from the measured link (auto)\n");
}

// A network's --lr auto: the range test, once per job and request (every seed takes the same step).
Status SearchedStep(const JobSpec& job, const RunRequest& r, std::size_t index, const Objective& f, Communicator& comm,
                    SeedIndependent& cache, const std::function<void(const std::string&)>& log) {
  cache.searched_steps.resize(job.requests.size());
  if (cache.searched_steps[index]) return Status::OK();
  StepSearchOptions search;
  search.batch = r.options.SmallestBatch();  // auto's --batch auto: its b_min at a step that ignores the batch
  search.momentum = r.options.momentum;
  log("searching a step (--lr auto: a network has no L estimate)...");
  CRPSGD_ASSIGN_OR_RETURN(StepSearchResult found, SearchStep(f, comm, search));
  log(found.why);
  cache.searched_steps[index] = std::move(found);
  return Status::OK();
}

// A request's options as --rounds (or the plan) fitted them, and ready to
// train: the step resolved too.
struct ResolvedRun {
  AlgorithmOptions fitted, ready;
};

// auto's rounds planned from the link where asked, once per job (every seed
// runs the same plan), and logged; 0 where the request does not plan.
Result<std::uint64_t> PlannedRounds(const JobSpec& job, const RunRequest& r, std::size_t index,
                                    const AlgorithmOptions& ready, const Objective& f, Communicator& comm,
                                    SeedIndependent& cache, const std::function<void(const std::string&)>& log) {
  if (!r.plan_rounds || r.options.rounds > 0) return std::uint64_t{0};
  cache.planned_rounds.resize(job.requests.size(), 0);
  if (cache.planned_rounds[index] == 0) {
    const std::uint64_t batch = ready.SmallestBatch();
    CRPSGD_ASSIGN_OR_RETURN(const RoundCosts costs,
                            MeasureRoundCosts(f, comm, batch, RoundMessageBytes(f, ready), job.net_model));
    const RoundPlan plan = PlanRounds(costs, ready.budget, batch, r.comm_share);
    log(plan.why);
    cache.planned_rounds[index] = plan.rounds;
  }
  return cache.planned_rounds[index];
}

// The options one request trains with: --rounds fitted (or planned), the
// step resolved. Logs what it chose.
Result<ResolvedRun> ResolveRun(const JobSpec& job, const RunRequest& r, std::size_t index, const Objective& f,
                               Communicator& comm, int plan_workers, SeedIndependent& cache,
                               const std::function<void(const std::string&)>& log) {
  std::string step_note;
  ResolvedRun run;
  run.fitted = r.options;  // prepared: checked and fitted to --rounds (CheckedRequests)
  StepRule rule = StepRuleOf(r);
  if (index < cache.searched_steps.size() && cache.searched_steps[index]) {  // the range test's step, as given
    const StepSearchResult& found = *cache.searched_steps[index];
    rule = StepRule{};
    // auto*K on a network: the test's lowest-loss step stands in for 1/L.
    run.fitted.lr = r.lr_multiple ? *r.lr_multiple * found.lowest_loss_lr : found.lr;
    if (r.lr_multiple) {
      std::ostringstream os;
      os << "step " << run.fitted.lr << ": --lr auto*" << *r.lr_multiple << " of the range test's lowest-loss step "
         << found.lowest_loss_lr;
      log(os.str());
    }
  }
  CRPSGD_ASSIGN_OR_RETURN(run.ready, ResolveStep(run.fitted, rule, cache.lipschitz, plan_workers, &step_note));
  const bool searched_at_its_batch = rule.kind == StepRule::Kind::kGiven && r.safe_step;  // no guess to warn of
  if (!step_note.empty() && !searched_at_its_batch) log(step_note);
  CRPSGD_ASSIGN_OR_RETURN(const std::uint64_t planned, PlannedRounds(job, r, index, run.ready, f, comm, cache, log));
  if (planned > 0) run.fitted.rounds = run.ready.rounds = planned;  // auto: its plan takes R (at most T/b)
  return run;
}

// The requests with their budgets resolved (--epochs, --budget auto),
// checked against N and the data and fitted to --rounds (PrepareRequest),
// before any output exists: the one place a run's options are checked.
Result<std::vector<RunRequest>> CheckedRequests(const JobSpec& job, const Objective& f, Communicator& comm,
                                                int plan_workers, const WorkerObjectives& objectives,
                                                std::uint64_t seed,
                                                const std::function<void(const std::string&)>& log) {
  // Checks that depend on N (catalyst's budget split) and on the data (--epochs).
  CRPSGD_ASSIGN_OR_RETURN(std::vector<RunRequest> requests, ResolveBudgets(job, f, comm, plan_workers));
  for (RunRequest& r : requests) {
    std::string rounds_note;
    CRPSGD_RETURN_IF_ERROR(PrepareRequest(r, plan_workers, &rounds_note));
    if (!rounds_note.empty()) log(rounds_note);
    CRPSGD_RETURN_IF_ERROR(
        CheckOptionsFitObjective(r.options, f));  // batch norm: 2 samples at least; powersgd: matrices
  }
  if (job.save_model && !objectives.save_model) {  // an objective registered without a saver
    return Status::InvalidArgument("--save-model: --problem " + job.objective->name + " cannot save its model");
  }
  for (const RunRequest& r : requests)
    CRPSGD_RETURN_IF_ERROR(CheckResumeEarly(job, r, comm.size(), plan_workers, seed));
  return requests;
}

// What the steps and the f - f* column need, once per job: a network's
// searched step, L̂ and f*. Fills `local` and the cache.
Status EstimateConstants(const JobSpec& job, const std::vector<RunRequest>& requests, const Objective& f,
                         Communicator& comm, SeedIndependent& cache, JobReport& local,
                         const std::function<void(const std::string&)>& log) {
  if (cache.computed) {
    local.f_star = cache.f_star;
    local.f_star_method = cache.f_star_method;
    local.lipschitz = cache.lipschitz;
  }
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const RunRequest& r = requests[i];
    if ((r.safe_step || r.lr_multiple) && job.network()) {  // no L̂: a range test finds the step
      CRPSGD_RETURN_IF_ERROR(SearchedStep(job, r, i, f, comm, cache, log));
      continue;
    }
    if (StepRuleOf(r).needs_smoothness() && !local.lipschitz) {
      log("estimating L (the smoothness behind --lr auto) on the full data...");
      CRPSGD_ASSIGN_OR_RETURN(local.lipschitz, EstimateLipschitz(f, comm));
      std::ostringstream os;
      os << "L estimate (" << local.lipschitz->method << "): " << local.lipschitz->value;
      if (local.lipschitz->mean_sample) os << ", mean per-sample smoothness " << *local.lipschitz->mean_sample;
      log(os.str());
    }
  }
  if (f.convex() && job.compute_f_star && !cache.computed) {
    log("computing f* (the optimum, for the f - f* column) on the full data; --no-f-star skips it...");
    CRPSGD_ASSIGN_OR_RETURN(Optimum optimum, ComputeOptimum(f, comm));
    local.f_star = optimum.value;
    local.f_star_method = optimum.method;
    std::ostringstream os;
    os << std::setprecision(12) << "f* = " << optimum.value << " (" << optimum.method << ", " << optimum.iterations
       << " iterations, |grad f| = " << std::setprecision(2) << optimum.gradient_norm << ")";
    log(os.str());
  }
  cache.f_star = local.f_star;
  cache.f_star_method = local.f_star_method;
  cache.lipschitz = local.lipschitz;
  cache.computed = true;
  return Status::OK();
}

// --overwrite's removal and config.toml, once every run's options are known:
// a refused step or plan leaves --out as it was.
Status PrepareOutFolder(const JobSpec& job, const std::vector<RunRequest>& requests,
                        const std::vector<ResolvedRun>& resolved, Communicator& comm) {
  const bool leader = comm.rank() == 0;
  if (job.overwrite) {
    // --overwrite: the earlier run goes only now that every worker has built its
    // objective and checked the requests, so bad input loses nothing. The
    // barriers keep every worker's first write (checkpoints) after the removal.
    CRPSGD_RETURN_IF_ERROR(comm.Barrier());
    if (leader) CRPSGD_RETURN_IF_ERROR(RemoveEarlierRun(job.out));
    CRPSGD_RETURN_IF_ERROR(comm.Barrier());
  }
  // The run folder is enough to resume: its flags are there before any
  // training (train --resume --out DIR reads them back), with a planned R.
  if (leader && !job.sweep && !job.out.empty() && !job.config_toml.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(job.out, ec);
    if (ec) return Status::IOError(job.out.string() + ": cannot create: " + ec.message());
    std::string config = job.config_toml;
    if (requests.size() == 1 && requests.front().plan_rounds)
      config = WithPlannedRounds(config, resolved[0].ready.rounds);
    CRPSGD_RETURN_IF_ERROR(WriteFileAtomic(job.out / "config.toml", config));
  }
  return Status::OK();
}

// Train's options for one resolved request (outputs and observers aside).
TrainOptions MakeTrainOptions(const JobSpec& job, const RunRequest& r, const ResolvedRun& run, const JobReport& local,
                              const WorkerObjectives& objectives, std::uint64_t seed, int workers) {
  TrainOptions options;
  options.algorithm = run.ready;
  options.targets = job.targets;
  // --budget auto on a convex problem: stop once the gap has closed (f* known).
  if (r.stop_when_converged && local.f_star && job.eval_samples == 0) options.targets.relative_gap = kConvergedGap;
  if (local.lipschitz) options.lipschitz = local.lipschitz->value;
  options.seed = seed;
  options.eval_every = job.eval_every;
  options.eval_every_sfo = job.eval_every_sfo;
  if (job.eval_samples > 0) options.eval_samples_per_worker = std::max<std::size_t>(1, job.eval_samples / workers);
  options.recalibrate_state = job.recompute_batch_norm;
  if (options.eval_every == 0 && options.eval_every_sfo == 0 && job.network()) {
    // A full pass over the data costs as much as training on it: evaluate a
    // network about 10 times per run instead of on a log scale.
    options.eval_every = std::max<std::uint64_t>(1, PlanAlgorithm(options.algorithm, workers).rounds / 10);
  }
  options.net_model = job.net_model;
  if (job.eval_samples == 0) options.f_star = local.f_star;  // a subset's loss is not comparable with f*
  options.test_objective = objectives.test.get();
  options.initial_x = job.initial_x;
  return options;
}

// One run's output folder (rank 0 writes it; every rank its checkpoint), its
// metrics writer and its progress line, attached to `options` as observers.
struct RunOutputs {
  std::filesystem::path dir;  // empty on the other ranks and without --out
  std::unique_ptr<MetricsWriter> metrics;
  std::optional<ProgressReporter> progress;
};

Status OpenRunOutputs(const JobSpec& job, const RunRequest& r, std::uint64_t seed, const Objective& f,
                      std::optional<double> f_star, int rank, int workers,
                      const std::function<void(const std::string&)>& log, TrainOptions& options, RunOutputs& out) {
  const bool leader = rank == 0;
  if (!job.out.empty()) {
    std::filesystem::path run_dir = job.out;
    if (job.seeds.size() > 1) run_dir /= "seed-" + std::to_string(seed);
    run_dir /= r.name;
    options.checkpoint.dir = run_dir / "checkpoint";  // every rank writes its own file there
    options.checkpoint.every = job.checkpoint_every;
    options.checkpoint.resume = job.resume;
    options.checkpoint.run_identity = JobIdentity(job);
    if (leader) {
      out.dir = run_dir;
      std::error_code ec;
      std::filesystem::create_directories(out.dir, ec);
      if (ec) return Status::IOError(out.dir.string() + ": cannot create: " + ec.message());
      CRPSGD_ASSIGN_OR_RETURN(out.metrics, MetricsWriter::Open(out.dir / "metrics.jsonl", f_star, job.resume));
      options.observers.push_back(out.metrics.get());
    }
  }
  if (leader && !job.quiet) {
    const AlgorithmPlan plan = PlanAlgorithm(options.algorithm, workers);
    if (options.checkpoint.resume) {
      if (const auto round = LatestCheckpointRound(options.checkpoint.dir)) {
        log("resuming " + (out.dir.has_filename() ? out.dir : out.dir.parent_path()).string() +
            " from its checkpoint at round " + std::to_string(*round) +
            (plan.exact ? " of " + std::to_string(plan.rounds) : ""));
      }
    }
    out.progress.emplace(std::string(AlgorithmName(r.options.kind)) + " " + options.algorithm.Describe(),
                         plan.sfo_per_worker, plan.exact ? plan.rounds : 0, ::isatty(STDERR_FILENO) == 1, job.verbose,
                         f.num_samples());
    options.observers.push_back(&*out.progress);
  }
  return Status::OK();
}

// Train, with --inject-fault's wrapper where asked; an exception inside a
// worker (LibTorch's) becomes a status, so the clean-up after it runs.
Result<RunSummary> TrainWorker(const JobSpec& job, const TrainOptions& options, const Objective& f,
                               Communicator& comm) {
  std::optional<FaultInjectingCommunicator> faulty;  // --inject-fault (tests): this worker's, with the fault
  if (job.fault) {
    faulty.emplace(comm, *job.fault);
    faulty->set_barrier_before_rounds(job.barrier_before_rounds);
    faulty->set_round_timeout(job.round_timeout);
  }
  try {
    return TrainChecked(options, f, faulty ? *faulty : comm);  // the job checked them (CheckedRequests)
  } catch (const std::exception& e) {
    return Status::Internal("worker " + std::to_string(comm.rank()) + " threw: " + e.what());
  }
}

// The job's fields of summary.json, beside Train's (FormatRunSummary writes both).
nlohmann::json JobSummaryFields(const JobSpec& job, const RunRequest& r, std::size_t index, const TrainOptions& options,
                                const JobReport& local, const SeedIndependent& cache, const RunSummary& summary) {
  nlohmann::json j;
  j["version"] = CRPSGD_VERSION;
  j["problem"] = job.objective->name;
  if (!job.objective_settings.model_file.empty()) {
    j["model"] = job.objective_settings.model_file.string();
    j["loss"] = job.objective_settings.loss;
  }
  j["lambda"] = job.objective_settings.lambda;
  j["eval_batch_norm"] =
      job.network() ? nlohmann::json(job.recompute_batch_norm ? "recomputed" : "running") : nlohmann::json(nullptr);
  j["data"] = DataName(job.data);
  j["lr_multiple_of_inverse_L"] = r.lr_multiple ? nlohmann::json(*r.lr_multiple)
                                  : r.safe_step && local.lipschitz
                                      ? nlohmann::json(options.algorithm.lr * local.lipschitz->value)
                                      : nlohmann::json(nullptr);
  const bool searched = index < cache.searched_steps.size() && cache.searched_steps[index];
  j["lr_rule"] = searched && r.lr_multiple ? "auto*K: K x the range test's lowest-loss step"
                 : searched                ? "auto: range test"
                 : r.safe_step             ? "auto: 1/(L + Lbar/b)"
                 : r.lr_multiple           ? "auto*K: K/L"
                                           : "given";
  if (searched) j["step_search_sfo_per_worker"] = cache.searched_steps[index]->samples;
  j["mean_sample_smoothness"] = local.lipschitz && local.lipschitz->mean_sample
                                    ? nlohmann::json(*local.lipschitz->mean_sample)
                                    : nlohmann::json(nullptr);
  j["lipschitz_method"] = local.lipschitz ? nlohmann::json(local.lipschitz->method) : nlohmann::json(nullptr);
  j["f_star_method"] = local.f_star ? nlohmann::json(local.f_star_method) : nlohmann::json(nullptr);
  if (r.epochs) {  // --epochs, --budget auto: the budget's rule, and why the run stopped
    j["epochs"] = *r.epochs;
    j["budget_rule"] = r.stop_when_converged ? "auto" : "epochs";
    j["stopped_by"] = StopReason(r, summary);
  }
  if (r.plan_rounds && r.options.rounds == 0)
    j["rounds_planned"] = "from the measured link (--comm-share " + std::to_string(r.comm_share) + ")";
  return j;
}

// A finished run's files: the model (and a network's feature scaling) and summary.json.
Status WriteRunFiles(const JobSpec& job, const LoadedData& data, const WorkerObjectives& objectives,
                     const std::filesystem::path& dir, const RunSummary& summary, const nlohmann::json& job_fields) {
  if (job.save_model) {
    CRPSGD_RETURN_IF_ERROR(objectives.save_model(dir, summary.x).status());
    // A network cannot fold --standardize into its weights: predict reads the statistics beside model.pt.
    if (job.network() && data.scaling) {
      const nlohmann::json scaling = {{"mean", data.scaling->mean}, {"scale", data.scaling->scale}};
      CRPSGD_RETURN_IF_ERROR(WriteFileAtomic(dir / kFeatureScalingFile, scaling.dump() + "\n"));
    }
  }
  return WriteFileAtomic(dir / "summary.json", FormatRunSummary(summary, job_fields.dump()));
}

}  // namespace

int JobPlanWorkers(const JobSpec& job, int workers) {
  if (!job.resume || job.out.empty() || job.sweep) return workers;
  CheckpointOptions checkpoint;
  checkpoint.dir = job.out / "checkpoint";
  checkpoint.resume = true;
  return PlanWorkers(checkpoint, workers);
}

Status RunJob(Communicator& comm, const JobSpec& job, LoadedData& data, std::uint64_t seed, SeedIndependent& cache,
              JobReport* report, bool release_data) {
  const bool leader = comm.rank() == 0;
  comm.set_barrier_before_rounds(job.barrier_before_rounds);
  comm.set_round_timeout(job.round_timeout);
  auto log = [&](const std::string& line) {
    if (leader && !job.quiet) std::fprintf(stderr, "crpsgd: %s\n", line.c_str());
  };
  CRPSGD_ASSIGN_OR_RETURN(JobObjectives made, MakeObjectives(job, data, comm, seed));
  const WorkerObjectives& objectives = made.worker;
  if (release_data) {  // this process's worker has its shard (or its whole set): the loaded one can go
    data.train = Dataset();
    data.test.reset();
  }
  const int plan_workers = JobPlanWorkers(job, comm.size());  // resumed on another number of workers: the plan's
  const Objective& f = *objectives.train;
  if (!data.automatic_choices.empty() && seed == job.seeds.front()) log("note: " + data.automatic_choices);
  CRPSGD_ASSIGN_OR_RETURN(const std::vector<RunRequest> requests,
                          CheckedRequests(job, f, comm, plan_workers, objectives, seed, log));
  JobReport local;
  CRPSGD_RETURN_IF_ERROR(EstimateConstants(job, requests, f, comm, cache, local, log));
  std::vector<ResolvedRun> resolved;  // every run's options, before anything is written
  for (std::size_t i = 0; i < requests.size(); ++i) {
    CRPSGD_ASSIGN_OR_RETURN(ResolvedRun run, ResolveRun(job, requests[i], i, f, comm, plan_workers, cache, log));
    resolved.push_back(std::move(run));
  }
  if (seed == job.seeds.front()) CRPSGD_RETURN_IF_ERROR(PrepareOutFolder(job, requests, resolved, comm));

  for (std::size_t index = 0; index < requests.size(); ++index) {
    const RunRequest& r = requests[index];
    TrainOptions options = MakeTrainOptions(job, r, resolved[index], local, objectives, seed, plan_workers);
    options.global_objective = made.global.get();
    RunOutputs out;
    CRPSGD_RETURN_IF_ERROR(OpenRunOutputs(job, r, seed, f, local.f_star, comm.rank(), plan_workers, log, options, out));
    Result<RunSummary> summary = TrainWorker(job, options, f, comm);
    RunOutcome outcome{r, seed, summary.status(), {}};
    outcome.request.options = resolved[index].fitted;  // what ran, as --rounds set it (a failed run has no summary)
    if (!summary.ok() && summary.status().code() != StatusCode::kDiverged && !out.dir.empty() &&
        !std::filesystem::exists(options.checkpoint.dir / "LATEST")) {
      // A run that failed with nothing to resume from leaves no file that
      // would make a rerun ask for --resume (a diverged one keeps its metrics).
      out.metrics.reset();
      std::error_code ec;
      std::filesystem::remove(out.dir / "metrics.jsonl", ec);
      if (!job.sweep) std::filesystem::remove(out.dir / "config.toml", ec);
    }
    const std::string what = std::string(AlgorithmName(r.options.kind)) + " " + options.algorithm.Describe();
    if (!summary.ok()) {
      // Every worker sees a divergence at the same round, so a sweep can go on.
      if (summary.status().code() != StatusCode::kDiverged || !job.sweep) return summary.status();
      log(what + " step " + std::to_string(options.algorithm.lr) + ": diverged (" + summary.status().message() + ")");
    } else {
      outcome.summary = std::move(summary).value();
      std::ostringstream os;
      os << "seed " << seed << ": " << what << " lr " << options.algorithm.lr << ": " << outcome.summary.rounds
         << " rounds, loss " << std::setprecision(8) << outcome.summary.final_loss;
      if (r.epochs) os << "; " << StopReason(r, outcome.summary);
      log(os.str());
      if (!out.dir.empty()) {
        const nlohmann::json fields = JobSummaryFields(job, r, index, options, local, cache, outcome.summary);
        CRPSGD_RETURN_IF_ERROR(WriteRunFiles(job, data, objectives, out.dir, outcome.summary, fields));
      }
    }
    if (leader) local.runs.push_back(std::move(outcome));
  }
  if (leader && report != nullptr) *report = std::move(local);
  return Status::OK();
}

}  // namespace crpsgd
