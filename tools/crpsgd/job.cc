#include "job.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <sstream>
#include <stdexcept>

#include "crpsgd/config.h"
#include "crpsgd/evaluation.h"
#include "crpsgd/liblinear_model.h"
#include "crpsgd/linear_models.h"
#include "crpsgd/metrics.h"
#include "progress.h"
#if CRPSGD_WITH_TORCH
#include "crpsgd/torch.h"
#endif

namespace crpsgd::cli {
namespace {

std::string ResolveFormat(const std::string& format, const std::string& path) {
  if (format != "auto") return format;
  if (path.find("idx") != std::string::npos) return "idx";
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec) || path.ends_with(".bin")) return "cifar10";
  return "libsvm";
}

// How --problem reads LIBSVM labels: real numbers for leastsq, else ±1/0.
LibsvmOptions LibsvmOptionsFor(const DataFlags& f, std::size_t num_features) {
  LibsvmOptions options;
  options.labels = f.problem == "leastsq" ? LabelKind::kRegression : LabelKind::kBinary;
  options.num_features = num_features;
  return options;
}

Result<Dataset> LoadOne(const DataFlags& f, const std::string& path, const std::string& labels_flag,
                        const std::string& flag_name, std::size_t num_features) {
  const std::string format = ResolveFormat(f.format, path);
  if (format == "libsvm") {
    return ReadLibsvm(path, LibsvmOptionsFor(f, num_features));
  }
  if (format == "idx") {
    std::filesystem::path labels = labels_flag.empty() ? IdxLabelsPathFor(path) : std::filesystem::path(labels_flag);
    if (labels.empty()) {
      return Status::InvalidArgument(path + ": cannot derive the IDX labels file from this name; pass " + flag_name);
    }
    IdxOptions options;
    options.positive_class = IsNetwork(f.problem) ? -1 : f.positive_class;  // networks: all classes
    options.negative_class = IsNetwork(f.problem) ? -1 : f.negative_class;
    return ReadIdx(path, labels, options);
  }
  if (format == "cifar10") {
    std::vector<std::filesystem::path> files = {path};
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
      auto batches = Cifar10TrainingFiles(path);
      if (!batches.ok()) {
        return Status(batches.status().code(),
                      path + ": is a folder, so it was read as CIFAR-10 (a folder of data_batch_1..5.bin), and it "
                             "has no data_batch_1.bin ... data_batch_5.bin; for LIBSVM or IDX data give the file");
      }
      files = std::move(batches).value();
    }
    Cifar10Options options;
    options.positive_class = IsNetwork(f.problem) ? -1 : f.positive_class;
    options.negative_class = IsNetwork(f.problem) ? -1 : f.negative_class;
    return ReadCifar10(files, options);
  }
  return Status::InvalidArgument("--format must be auto, libsvm, idx, cifar10 or synthetic, got '" + f.format + "'");
}

// This worker's training and test objectives.
struct WorkerObjectives {
  std::unique_ptr<Objective> train, test;
#if CRPSGD_WITH_TORCH
  const TorchObjective* network = nullptr;  // = train, for networks
#endif
};

Result<WorkerObjectives> MakeObjectives(const Job& job, const LoadedData& data, Communicator& comm,
                                        std::uint64_t seed) {
  WorkerObjectives out;
  CRPSGD_ASSIGN_OR_RETURN(const Precision precision, ParsePrecision(job.data.precision));
  const auto linear = [&](std::shared_ptr<const Dataset> samples) {
    auto f = std::make_unique<LinearModelObjective>(job.problem, std::move(samples), job.data.lambda, precision);
    f->set_threads(job.run.threads);
    return f;
  };
  if (data.byte_range()) {  // linear models only (LoadData checks)
    const LoadedData::Part& part = data.parts.at(comm.rank());
    out.train = linear(part.train);
    if (part.test) out.test = linear(part.test);
    return out;
  }
  Dataset shard = SelectRows(data.train, ShardIndices(data.train.num_samples(), comm.rank(), comm.size(), seed));
  std::optional<Dataset> test_shard;
  if (data.test) {
    if (data.test->num_samples() < static_cast<std::size_t>(comm.size())) {
      return Status::InvalidArgument(job.data.test_data + ": has fewer samples than there are workers");
    }
    test_shard = SelectRows(*data.test, ShardIndices(data.test->num_samples(), comm.rank(), comm.size(), seed));
  }
  if (job.network.empty()) {
    out.train = linear(std::make_shared<const Dataset>(std::move(shard)));
    if (test_shard) out.test = linear(std::make_shared<const Dataset>(std::move(*test_shard)));
    return out;
  }
#if CRPSGD_WITH_TORCH
  TorchObjectiveOptions options;
  CRPSGD_ASSIGN_OR_RETURN(options.model, ParseTorchModel(job.network));
  options.num_classes = data.num_classes;
  options.hidden = job.data.hidden;
  options.augment = job.data.augment;
  options.seed = seed;
  options.rank = comm.rank();
  CRPSGD_ASSIGN_OR_RETURN(std::unique_ptr<TorchObjective> network, MakeTorchObjective(shard, options));
  if (test_shard) {
    options.augment = false;
    CRPSGD_ASSIGN_OR_RETURN(out.test, MakeTorchObjective(*test_shard, options, network.get()));
  }
  out.network = network.get();
  out.train = std::move(network);
  return out;
#else
  return Status::InvalidArgument("--problem " + job.network + ": this build has no LibTorch (CRPSGD_WITH_TORCH=OFF)");
#endif
}

// What the other workers need to know of one byte-range part.
struct PartFacts {
  std::size_t features = 0, samples = 0, test_features = 0, test_samples = 0;
};

PartFacts FactsOf(const LoadedData::Part& part) {
  PartFacts facts{part.train->num_features(), part.train->num_samples(), 0, 0};
  if (part.test) facts.test_features = part.test->num_features(), facts.test_samples = part.test->num_samples();
  return facts;
}

// Every part read, and the facts of all the workers' parts: checks that each
// worker has samples and that the test data is no wider than the training
// data, gives every local part the model's width, and appends --bias.
Status FinishParts(const DataFlags& f, const std::vector<PartFacts>& all, LoadedData& data) {
  const auto workers = std::to_string(all.size());
  std::size_t width = 0, test_width = 0, samples = 0;
  for (std::size_t r = 0; r < all.size(); ++r) {
    if (all[r].samples == 0) {
      return Status::InvalidArgument(f.data + ": worker " + std::to_string(r) + "'s byte range (part " +
                                     std::to_string(r + 1) + " of " + workers + ") holds no sample: the file is "
                                     "too small for " + workers + " workers");
    }
    if (!f.test_data.empty() && all[r].test_samples == 0) {
      return Status::InvalidArgument(f.test_data + ": worker " + std::to_string(r) + "'s byte range holds no "
                                     "sample: the file is too small for " + workers + " workers");
    }
    width = std::max(width, all[r].features);
    test_width = std::max(test_width, all[r].test_features);
    samples += all[r].samples;
  }
  if (test_width > width) {
    return Status::InvalidArgument(f.test_data + ": has " + std::to_string(test_width) +
                                   " features, the training data " + std::to_string(width));
  }
  for (auto& [rank, part] : data.parts) {
    for (Dataset* d : {part.train.get(), part.test.get()}) {
      if (d == nullptr) continue;
      d->sparse.conservativeResize(d->sparse.rows(), static_cast<Eigen::Index>(width));  // wider: no copy
      AppendBiasFeature(*d, f.bias);
    }
  }
  data.num_features = width + (f.bias != 0.0 ? 1 : 0);
  data.num_train_samples = samples;
  return Status::OK();
}

// --sharding byte-range: the parts of `parts.ranks`, finished at once when
// they are all the workers' (in-process), else by AgreeOnParts.
Result<LoadedData> LoadParts(const DataFlags& f, const PartsToRead& parts) {
  if (IsNetwork(f.problem)) {
    return Status::InvalidArgument("--sharding byte-range is for linear models (logreg, leastsq, ncvx-logreg)");
  }
  if (f.format == "synthetic") {
    return Status::InvalidArgument("--sharding byte-range reads LIBSVM files; --format synthetic has none "
                                   "(use --sharding random)");
  }
  for (const std::string* file : {&f.data, &f.test_data}) {
    if (!file->empty() && ResolveFormat(f.format, *file) != "libsvm") {
      return Status::InvalidArgument("--sharding byte-range reads LIBSVM files; " + *file + " is read as " +
                                     ResolveFormat(f.format, *file) + " (use --sharding random)");
    }
  }
  if (f.data.empty()) return Status::InvalidArgument("--data is required (or --format synthetic)");
  const LibsvmOptions options = LibsvmOptionsFor(f, 0);  // each part's width: its largest index
  LoadedData loaded;
  for (const int rank : parts.ranks) {
    LoadedData::Part part;
    CRPSGD_ASSIGN_OR_RETURN(Dataset train, ReadLibsvm(f.data, options, {rank, parts.workers}));
    part.train = std::make_shared<Dataset>(std::move(train));
    if (!f.test_data.empty()) {
      CRPSGD_ASSIGN_OR_RETURN(Dataset test, ReadLibsvm(f.test_data, options, {rank, parts.workers}));
      part.test = std::make_shared<Dataset>(std::move(test));
    }
    loaded.parts.emplace(rank, std::move(part));
  }
  if (parts.ranks.size() == static_cast<std::size_t>(parts.workers)) {
    std::vector<PartFacts> facts;
    for (const auto& [rank, part] : loaded.parts) facts.push_back(FactsOf(part));
    CRPSGD_RETURN_IF_ERROR(FinishParts(f, facts, loaded));
  }
  return loaded;
}

}  // namespace

bool IsNetwork(const std::string& problem) {
  return problem == "softmax" || problem == "mlp" || problem == "resnet20";
}

Result<LoadedData> LoadData(const DataFlags& f, std::uint64_t seed, const PartsToRead& parts) {
  if (!(f.lambda >= 0.0) || !std::isfinite(f.lambda)) {
    return Status::InvalidArgument("--lambda must be >= 0 (got " + std::to_string(f.lambda) + ")");
  }
  if (!std::isfinite(f.bias)) return Status::InvalidArgument("--bias must be a finite number");
  CRPSGD_RETURN_IF_ERROR(ParsePrecision(f.precision).status());
  if (f.precision != "float64" && IsNetwork(f.problem)) {
    return Status::InvalidArgument("--precision is for linear models; networks train in LibTorch's float32");
  }
  if (f.sharding == "byte-range") return LoadParts(f, parts);
  if (f.sharding != "random") {
    return Status::InvalidArgument("--sharding must be random or byte-range, got '" + f.sharding + "'");
  }
  LoadedData loaded;
  if (f.format == "synthetic") {
    if (!f.data.empty()) return Status::InvalidArgument("--data is not used with --format synthetic");
    SyntheticOptions options;
    options.task = f.problem == "leastsq" ? SyntheticTask::kRegression : SyntheticTask::kBinary;
    options.samples = f.synthetic_samples;
    options.features = f.synthetic_features;
    options.noise = f.synthetic_noise;
    if (!(f.synthetic_condition >= 1.0)) {
      std::ostringstream os;
      os << "--synthetic-condition must be >= 1, got " << f.synthetic_condition;
      return Status::InvalidArgument(os.str());
    }
    options.condition_number = f.synthetic_condition;
    options.seed = seed;
    CRPSGD_ASSIGN_OR_RETURN(loaded.train, MakeSynthetic(options));
    if (!f.test_data.empty()) return Status::InvalidArgument("--test-data is not used with --format synthetic");
  } else {
    if (f.data.empty()) return Status::InvalidArgument("--data is required (or --format synthetic)");
    CRPSGD_ASSIGN_OR_RETURN(loaded.train, LoadOne(f, f.data, f.labels, "--labels", 0));
    if (!f.test_data.empty()) {
      CRPSGD_ASSIGN_OR_RETURN(Dataset test, LoadOne(f, f.test_data, f.test_labels, "--test-labels",
                                                    loaded.train.num_features()));
      if (test.num_features() > loaded.train.num_features()) {
        return Status::InvalidArgument(f.test_data + ": has " + std::to_string(test.num_features()) +
                                       " features, the training data " + std::to_string(loaded.train.num_features()));
      }
      if (test.is_sparse && test.num_features() < loaded.train.num_features()) {
        test.sparse.conservativeResize(test.sparse.rows(), static_cast<Eigen::Index>(loaded.train.num_features()));
      }
      loaded.test = std::move(test);
    }
  }
  if (f.normalize) {
    if (loaded.train.image_shape.empty()) return Status::InvalidArgument("--normalize needs image data (IDX or CIFAR-10)");
    std::vector<double> mean, stddev;
    ChannelStatistics(loaded.train, &mean, &stddev);
    CRPSGD_RETURN_IF_ERROR(NormalizeChannels(loaded.train, mean, stddev));
    if (loaded.test) CRPSGD_RETURN_IF_ERROR(NormalizeChannels(*loaded.test, mean, stddev));
  }
  if (f.augment && (!IsNetwork(f.problem) || loaded.train.image_shape.empty())) {
    return Status::InvalidArgument("--augment needs a network (--problem softmax, mlp, resnet20) and image data");
  }
  if (IsNetwork(f.problem)) {
    // A binary task read as ±1 (LIBSVM, synthetic) becomes classes 0 and 1.
    for (Dataset* d : {&loaded.train, loaded.test ? &*loaded.test : nullptr}) {
      if (d != nullptr) {
        for (double& y : d->labels) y = y == -1.0 ? 0.0 : y;
      }
    }
    if (f.bias != 0.0) return Status::InvalidArgument("--bias is for linear models; networks have their own");
    double largest = 0.0;
    for (double y : loaded.train.labels) largest = std::max(largest, y);
    loaded.num_classes = std::max<std::size_t>(2, static_cast<std::size_t>(largest) + 1);
  } else {
    AppendBiasFeature(loaded.train, f.bias);
    if (loaded.test) AppendBiasFeature(*loaded.test, f.bias);
  }
  loaded.num_features = loaded.train.num_features();
  loaded.num_train_samples = loaded.train.num_samples();
  return loaded;
}

Status AgreeOnParts(Communicator& comm, const DataFlags& flags, Result<LoadedData>& data, bool* print_here) {
  *print_here = false;
  // Each rank's facts, gathered on every rank.
  constexpr std::size_t kSlots = 6;  // failed, status code, and PartFacts
  std::array<double, kSlots> mine{};
  if (!data.ok()) {
    mine[0] = 1.0;
    mine[1] = static_cast<double>(data.status().code());
  } else {
    const PartFacts facts = FactsOf(data->parts.at(comm.rank()));
    mine[2] = static_cast<double>(facts.features);
    mine[3] = static_cast<double>(facts.samples);
    mine[4] = static_cast<double>(facts.test_features);
    mine[5] = static_cast<double>(facts.test_samples);
  }
  CRPSGD_ASSIGN_OR_RETURN(const std::vector<double> all, comm.Allgather(mine, Traffic::kEvaluation));
  std::vector<PartFacts> facts(static_cast<std::size_t>(comm.size()));
  for (int r = 0; r < comm.size(); ++r) {
    const double* slot = all.data() + kSlots * static_cast<std::size_t>(r);
    if (slot[0] != 0.0) {  // the lowest failing rank reports; the others end with its code, silently
      if (r == comm.rank()) {
        *print_here = true;
        return data.status();
      }
      return Status(static_cast<StatusCode>(static_cast<int>(slot[1])),
                    "rank " + std::to_string(r) + " could not read its part of the data");
    }
    facts[static_cast<std::size_t>(r)] = {static_cast<std::size_t>(slot[2]), static_cast<std::size_t>(slot[3]),
                                          static_cast<std::size_t>(slot[4]), static_cast<std::size_t>(slot[5])};
  }
  const Status finished = FinishParts(flags, facts, *data);
  *print_here = !finished.ok() && comm.rank() == 0;  // the same verdict on every rank: rank 0 says it
  return finished;
}

Result<std::vector<double>> LoadInitialPoint(const Job& job, const LoadedData& data) {
  const std::string& file = job.run.init_model;
  if (file.empty()) return std::vector<double>{};
  if (!job.network.empty()) {
    return Status::InvalidArgument("--init-model reads LIBLINEAR models: linear models only (--problem logreg, "
                                   "leastsq or ncvx-logreg)");
  }
  CRPSGD_ASSIGN_OR_RETURN(LiblinearModel model, ReadLiblinearModel(file));
  const bool regression = model.is_regression();
  if (regression != (job.problem == Problem::kLeastSquares)) {
    return Status::InvalidArgument(file + ": a " + model.solver_type + " model does not fit --problem " +
                                   ProblemName(job.problem) + (regression ? " (regression models fit leastsq)"
                                                                          : " (classifiers fit logreg, ncvx-logreg)"));
  }
  const double bias = job.data.bias;
  if (model.bias >= 0 && model.bias != bias) {
    return Status::InvalidArgument(file + ": trained with a bias feature of " + std::to_string(model.bias) +
                                   ": give --bias " + std::to_string(model.bias));
  }
  if (model.bias < 0 && bias != 0.0) return Status::InvalidArgument(file + ": has no bias feature: drop --bias");
  std::vector<double> x(data.num_features, 0.0);
  const std::size_t features = x.size() - (bias != 0.0 ? 1 : 0);
  if (model.nr_feature > features) {
    return Status::InvalidArgument(file + ": " + std::to_string(model.nr_feature) + " features, the data " +
                                   std::to_string(features));
  }
  std::copy_n(model.weights.begin(), model.nr_feature, x.begin());
  if (bias != 0.0) x.back() = model.weights.back();
  return x;
}

namespace {

// --inject-fault: kills (or stops: a hung worker) this process at the end of
// round T on worker R (after the metrics line of round T, before its
// checkpoint), as kill -9 (kill -STOP) would, or throws there as a library
// call inside the worker might.
class FaultInjector final : public RoundObserver {
 public:
  FaultInjector(Job::Fault fault, int rank) : fault_(fault), rank_(rank) {}
  Status OnRound(const RoundRecord& record, std::span<const double>) override {
    if (rank_ == fault_.rank && record.round == fault_.round) {
      const auto round = static_cast<unsigned long long>(record.round);
      if (fault_.kind == Job::Fault::Kind::kThrow) {
        throw std::runtime_error("--inject-fault: an exception in worker " + std::to_string(rank_) + " at round " +
                                 std::to_string(round));
      }
      const bool stop = fault_.kind == Job::Fault::Kind::kStop;
      std::fprintf(stderr, "crpsgd: --inject-fault: %s worker %d at round %llu\n", stop ? "stopping" : "killing", rank_,
                   round);
      std::fflush(stderr);
      std::raise(stop ? SIGSTOP : SIGKILL);
    }
    return Status::OK();
  }

 private:
  Job::Fault fault_;
  int rank_;
};

}  // namespace

Status ValidateReliabilityFlags(Job& job) {
  const RunFlags& r = job.run;
  if ((r.checkpoint_every > 0 || r.resume) && r.out.empty()) {
    return Status::InvalidArgument(std::string(r.resume ? "--resume" : "--checkpoint-every") +
                                   " needs --out (the checkpoints live in --out/checkpoint)");
  }
  if (r.resume && !std::filesystem::exists(std::filesystem::path(r.out) / "checkpoint" / "LATEST")) {
    return Status::InvalidArgument("--resume: " + (std::filesystem::path(r.out) / "checkpoint").string() +
                                   " holds no checkpoint (was the run started with --checkpoint-every?)");
  }
  if (r.inject_fault.empty()) return Status::OK();
  const std::string& text = r.inject_fault;
  Job::Fault fault;
  unsigned long long round = 0;
  int consumed = 0;
  const std::string kind = text.substr(0, text.find(':'));
  fault.kind = kind == "stop" ? Job::Fault::Kind::kStop : kind == "throw" ? Job::Fault::Kind::kThrow
                                                                          : Job::Fault::Kind::kKill;
  const std::string format = (kind == "stop" || kind == "throw" ? kind : std::string("kill")) + ":rank=%d,round=%llu%n";
  if (std::sscanf(text.c_str(), format.c_str(), &fault.rank, &round, &consumed) != 2 ||
      consumed != static_cast<int>(text.size()) || fault.rank < 0 || round < 1) {
    return Status::InvalidArgument("--inject-fault must be kill:rank=R,round=T, stop:rank=R,round=T or "
                                   "throw:rank=R,round=T (R >= 0, T >= 1), got '" + text + "'");
  }
  fault.round = round;
  job.fault = fault;
  return Status::OK();
}

std::optional<std::string> FinishedRun(const RunFlags& run) {
  const std::filesystem::path summary = std::filesystem::path(run.out) / "summary.json";
  std::error_code ec;
  if (!run.resume || !std::filesystem::exists(summary, ec)) return std::nullopt;
  std::string rounds = "?";
  try {
    std::ifstream in(summary);
    rounds = std::to_string(nlohmann::json::parse(in).at("rounds").get<std::uint64_t>());
  } catch (const std::exception&) {  // unreadable: still finished; say so without the count
  }
  return run.out + " finished already (round " + rounds + " of " + rounds + ", " + summary.string() +
         "): nothing to resume";
}

// --resume: the round of the checkpoint the run continues from, for the log.
std::optional<std::uint64_t> CheckpointRound(const std::filesystem::path& dir) {
  try {
    std::ifstream in(dir / "LATEST");
    return nlohmann::json::parse(in).at("round").get<std::uint64_t>();
  } catch (const std::exception&) {
    return std::nullopt;  // the library reports what is wrong with it
  }
}

Status RunJob(Communicator& comm, const Job& job, const LoadedData& data, std::uint64_t seed,
              SeedIndependent& cache, JobReport* report) {
  const bool leader = comm.rank() == 0;
  comm.set_barrier_before_rounds(job.run.barrier_before_rounds);
  auto log = [&](const std::string& line) {
    if (leader && !job.run.quiet) std::fprintf(stderr, "crpsgd: %s\n", line.c_str());
  };
  CRPSGD_ASSIGN_OR_RETURN(WorkerObjectives objectives, MakeObjectives(job, data, comm, seed));
  const Objective& f = *objectives.train;

  // Checks that depend on N (catalyst's budget split), before any output exists.
  for (const RunRequest& r : job.requests) CRPSGD_RETURN_IF_ERROR(ValidateRequest(r, comm.size()));
  const std::string& eval_batch_norm = job.run.eval_batch_norm;  // also from a compare config
  if (eval_batch_norm != "running" && eval_batch_norm != "recomputed") {
    return Status::InvalidArgument("--eval-batch-norm must be running or recomputed, got '" + eval_batch_norm + "'");
  }
  if (eval_batch_norm == "recomputed" && job.network.empty()) {
    return Status::InvalidArgument("--eval-batch-norm recomputed is for networks (--problem softmax, mlp, resnet20): "
                                   "linear models have no batch norm");
  }
  JobReport local;
  if (cache.computed) {
    local.f_star = cache.f_star;
    local.f_star_method = cache.f_star_method;
    local.lipschitz = cache.lipschitz;
  }
  for (const RunRequest& r : job.requests) {
    if ((r.lr_multiple || r.safe_step) && !local.lipschitz) {
      CRPSGD_ASSIGN_OR_RETURN(local.lipschitz, EstimateLipschitz(f, comm));
      std::ostringstream os;
      os << "L estimate (" << local.lipschitz->method << "): " << local.lipschitz->value;
      if (local.lipschitz->mean_sample) os << ", mean per-sample smoothness " << *local.lipschitz->mean_sample;
      log(os.str());
    }
  }
  if (f.convex() && !job.run.no_f_star && !cache.computed) {
    CRPSGD_ASSIGN_OR_RETURN(Optimum optimum, ComputeOptimum(f, comm));
    local.f_star = optimum.value;
    local.f_star_method = optimum.method;
    std::ostringstream os;
    os << std::setprecision(12) << "f* = " << optimum.value << " (" << optimum.method << ", " << optimum.iterations
       << " iterations, |grad f| = " << std::setprecision(2) << optimum.gradient_norm << ")";
    log(os.str());
  }
  cache = {local.f_star, local.f_star_method, local.lipschitz, true};

  for (const RunRequest& r : job.requests) {
    TrainOptions options;
    options.algorithm = r.options;
    if (r.lr_multiple) options.algorithm.lr = *r.lr_multiple / local.lipschitz->value;
    if (r.safe_step) options.algorithm.lr = SafeStep(*local.lipschitz, options.algorithm, comm.size());
    if (options.algorithm.kind == AlgorithmKind::kCrPsgd && options.algorithm.adaptive_batch && local.lipschitz) {
      const std::uint64_t stable =
          std::min(StableFirstBatch(*local.lipschitz, options.algorithm.lr, comm.size(), options.algorithm.first_batch),
                   options.algorithm.budget);
      if (stable > options.algorithm.first_batch) {
        std::ostringstream os;
        os << "--rho auto: B1 " << options.algorithm.first_batch << " -> " << stable
           << ", the smallest first batch whose rounds are stable at step " << options.algorithm.lr << " ("
           << options.algorithm.lr << " * (L " << local.lipschitz->value << " + Lbar " << *local.lipschitz->mean_sample
           << " / (N B1)) <= " << kStableStepMargin << ")";
        log(os.str());
        options.algorithm.first_batch = stable;
      }
    }
    if (local.lipschitz) options.lipschitz = local.lipschitz->value;
    options.seed = seed;
    options.eval_every = job.run.eval_every;
    if (job.run.eval_samples > 0) {
      options.eval_samples_per_worker = std::max<std::size_t>(1, job.run.eval_samples / comm.size());
    }
    options.recalibrate_state = job.run.eval_batch_norm == "recomputed";
    if (options.eval_every == 0 && !job.network.empty()) {
      // A full pass over the data costs as much as training on it: evaluate a
      // network about 10 times per run instead of on a log scale.
      options.eval_every = std::max<std::uint64_t>(1, PlanAlgorithm(options.algorithm, comm.size()).rounds / 10);
    }
    options.net_model = job.net_model;
    if (job.run.eval_samples == 0) options.f_star = local.f_star;  // a subset's loss is not comparable with f*
    options.test_objective = objectives.test.get();
    options.initial_x = job.initial_x;

    std::filesystem::path dir;  // the run's output folder; rank 0 writes it
    std::unique_ptr<MetricsWriter> metrics;
    if (!job.run.out.empty()) {
      std::filesystem::path run_dir = std::filesystem::path(job.run.out);
      if (job.seeds.size() > 1) run_dir /= "seed-" + std::to_string(seed);
      run_dir /= r.name;
      options.checkpoint.dir = run_dir / "checkpoint";  // every rank writes its own file there
      options.checkpoint.every = job.run.checkpoint_every;
      options.checkpoint.resume = job.run.resume;
      options.checkpoint.run_identity = {{"problem", job.network.empty() ? ProblemName(job.problem) : job.network},
                                         {"data", job.data.format == "synthetic" ? "synthetic" : job.data.data},
                                         {"lambda", std::to_string(job.data.lambda)},
                                         {"bias", std::to_string(job.data.bias)},
                                         {"init_model", job.run.init_model},
                                         {"threads", std::to_string(job.run.threads)},
                                         {"precision", job.data.precision},
                                         {"sharding", job.data.sharding}};
      if (leader) {
        dir = run_dir;
        std::error_code ec;
        std::filesystem::create_directories(dir, ec);
        if (ec) return Status::IOError(dir.string() + ": cannot create: " + ec.message());
        CRPSGD_ASSIGN_OR_RETURN(metrics, MetricsWriter::Open(dir / "metrics.jsonl", local.f_star, job.run.resume));
        options.observers.push_back(metrics.get());
      }
    }
    std::optional<FaultInjector> fault;
    if (job.fault) {
      fault.emplace(*job.fault, comm.rank());
      options.observers.push_back(&*fault);
    }
    std::optional<ProgressReporter> progress;
    if (leader && !job.run.quiet) {
      const AlgorithmPlan plan = PlanAlgorithm(options.algorithm, comm.size());
      if (options.checkpoint.resume) {
        if (const auto round = CheckpointRound(options.checkpoint.dir)) {
          log("resuming " + (dir.has_filename() ? dir : dir.parent_path()).string() + " from its checkpoint at round " +
              std::to_string(*round) + (plan.exact ? " of " + std::to_string(plan.rounds) : ""));
        }
      }
      progress.emplace(std::string(AlgorithmName(r.options.kind)) + " " + options.algorithm.Describe(), plan.sfo_per_worker,
                       plan.exact ? plan.rounds : 0, ::isatty(STDERR_FILENO) == 1, job.run.verbose);
      options.observers.push_back(&*progress);
    }
    Result<RunSummary> summary = Train(options, f, comm);
    RunOutcome outcome{r, seed, summary.status(), {}};
    if (!summary.ok()) {
      // Every worker sees a divergence at the same round, so a sweep can go on.
      if (summary.status().code() != StatusCode::kDiverged || !job.sweep) return summary.status();
      log(std::string(AlgorithmName(r.options.kind)) + " " + options.algorithm.Describe() + " step " +
          std::to_string(options.algorithm.lr) + ": diverged (" + summary.status().message() + ")");
    } else {
      outcome.summary = std::move(summary).value();
      std::ostringstream os;
      os << "seed " << seed << ": " << AlgorithmName(r.options.kind) << " " << options.algorithm.Describe() << " lr "
         << options.algorithm.lr << ": "
         << outcome.summary.rounds << " rounds, loss " << std::setprecision(8) << outcome.summary.final_loss;
      log(os.str());
      if (!dir.empty()) {
        nlohmann::json j = RunSummaryToJson(outcome.summary);
        j["version"] = CRPSGD_VERSION;
        j["problem"] = job.network.empty() ? std::string(ProblemName(job.problem)) : job.network;
        j["lambda"] = job.data.lambda;
        j["eval_batch_norm"] = job.network.empty() ? nlohmann::json(nullptr) : nlohmann::json(job.run.eval_batch_norm);
        j["data"] = job.data.format == "synthetic" ? std::string("synthetic") : job.data.data;
        j["lr_multiple_of_inverse_L"] = r.lr_multiple ? nlohmann::json(*r.lr_multiple)
                                        : r.safe_step ? nlohmann::json(options.algorithm.lr * local.lipschitz->value)
                                                      : nlohmann::json(nullptr);
        j["lr_rule"] = r.safe_step ? "auto: 1/(L + Lbar/b)" : r.lr_multiple ? "auto*K: K/L" : "given";
        j["mean_sample_smoothness"] = local.lipschitz && local.lipschitz->mean_sample
                                          ? nlohmann::json(*local.lipschitz->mean_sample)
                                          : nlohmann::json(nullptr);
        j["lipschitz_method"] = local.lipschitz ? nlohmann::json(local.lipschitz->method) : nlohmann::json(nullptr);
        j["f_star_method"] = local.f_star ? nlohmann::json(local.f_star_method) : nlohmann::json(nullptr);
        if (job.run.save_model && job.network.empty()) {
          CRPSGD_RETURN_IF_ERROR(
              WriteLiblinearModel(dir / "model.liblinear", job.problem, outcome.summary.x, job.data.bias));
        }
#if CRPSGD_WITH_TORCH
        if (job.run.save_model && objectives.network != nullptr) {
          CRPSGD_RETURN_IF_ERROR(objectives.network->Save(dir / "model.pt", outcome.summary.x));
        }
#endif
        CRPSGD_RETURN_IF_ERROR(WriteFileAtomic(dir / "summary.json", j.dump(2) + "\n"));
      }
    }
    if (leader) local.runs.push_back(std::move(outcome));
  }
  if (leader && report != nullptr) *report = std::move(local);
  return Status::OK();
}

}  // namespace crpsgd::cli
