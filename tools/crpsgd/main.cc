// crpsgd: command-line front end. parse -> validate -> load -> run -> report.
//
// All input is validated before any worker starts and before --out is
// created; every MPI rank validates the same inputs, so all ranks fail
// together and mpirun never hangs on bad input. Logs go to stderr, the result
// table to stdout. Exit codes: see exit_codes.h and docs/errors.md.
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <vector>

#include <CLI/CLI.hpp>

#include "crpsgd/config.h"
#include "crpsgd/inproc.h"
#include "crpsgd/metrics.h"
#if CRPSGD_WITH_MPI
#include "crpsgd/mpi.h"
#endif
#include "arguments.h"
#include "compare.h"
#include "config_file.h"
#include "exit_codes.h"
#include "figures.h"
#include "flags.h"
#include "job.h"
#include "objectives.h"
#include "output_folder.h"
#include "predict.h"
#include "report.h"
#include "theory_check.h"

namespace crpsgd::cli {
namespace {

// The rank this process has under mpirun, read before MPI starts (for quiet ranks).
int EnvironmentRank() {
  for (const char* name : {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK"}) {
    if (const char* v = std::getenv(name)) return std::atoi(v);
  }
  return 0;
}

// The number of ranks mpirun started, read before MPI starts; 1 without mpirun.
int EnvironmentWorldSize() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMIX_SIZE", "PMI_SIZE"}) {
    if (const char* v = std::getenv(name)) return std::max(1, std::atoi(v));
  }
  return 1;
}

int Fail(const Status& status, bool print) {
  if (print) std::fprintf(stderr, "crpsgd: error: %s\n", status.message().c_str());
  return ExitCodeFor(status);
}

// train --resume --out DIR without --config: DIR/config.toml (written before
// training) as the config, when it exists.
std::vector<std::string> WithRunConfig(std::vector<std::string> args) {
  bool resume = false, config = false;
  std::string out;
  for (std::size_t i = 0; i < args.size(); ++i) {
    resume = resume || args[i] == "--resume";
    config = config || args[i] == "--config" || args[i].rfind("--config=", 0) == 0;
    if (args[i] == "--out" && i + 1 < args.size()) out = args[i + 1];
    if (args[i].rfind("--out=", 0) == 0) out = args[i].substr(6);
  }
  const std::filesystem::path file = std::filesystem::path(out) / "config.toml";
  std::error_code ec;
  if (resume && !config && !out.empty() && std::filesystem::is_regular_file(file, ec)) {
    args.insert(args.begin(), {"--config", file.string()});
  }
  return args;
}

// Appends one seed's runs to the report of the whole job.
void Merge(JobReport& all, JobReport one) {
  if (!all.f_star) all.f_star = one.f_star, all.f_star_method = one.f_star_method;
  if (!all.lipschitz) all.lipschitz = one.lipschitz;
  for (RunOutcome& o : one.runs) all.runs.push_back(std::move(o));
}

Status WriteReport(const Job& job, const JobReport& report) {
  const std::string table = FormatTable(job, report);
  const std::string condition = ConditionLine(job, report);
  std::cout << condition << table << std::flush;
  if (job.run.out.empty()) return Status::OK();
  const std::filesystem::path out(job.run.out);
  if (!job.effective_config.empty()) {
    CRPSGD_RETURN_IF_ERROR(WriteFileAtomic(out / "config.toml", job.effective_config));
  }
  if (job.sweep) {
    CRPSGD_RETURN_IF_ERROR(WriteFileAtomic(out / "results.csv", FormatCsv(report)));
    std::string md = "# crpsgd sweep\n\n";
    char line[256];
    if (report.f_star) {
      std::snprintf(line, sizeof line, "f* = %.12g (%s)\n", *report.f_star, report.f_star_method.c_str());
      md += line;
    }
    if (report.lipschitz) {
      std::snprintf(line, sizeof line, "L = %.6g (%s)\n", report.lipschitz->value, report.lipschitz->method.c_str());
      md += line;
    }
    md += condition;
    md += job.compare ? "\nEach run (mean over the seeds):\n\n" + table
                      : "\nEach algorithm at its best step of the grid:\n\n" + table;
    CRPSGD_RETURN_IF_ERROR(WriteFileAtomic(out / "table.md", md));
  }
  if (job.compare) CRPSGD_RETURN_IF_ERROR(DrawFigures(job, report, out));
  return Status::OK();
}

// An exception out of a worker (a library's: LibTorch throws) becomes this
// rank's error, so that the job ends with its message and an exit code (the
// other ranks are aborted) instead of std::terminate. In-process workers get
// the same from RunInProcess.
template <class Body>
Status CatchExceptions(int rank, Body body) {
  try {
    return body();
  } catch (const std::exception& e) {
    return Status::Internal("worker " + std::to_string(rank) + " threw: " + e.what());
  } catch (...) {
    return Status::Internal("worker " + std::to_string(rank) + " threw an unknown exception");
  }
}

// A train run that diverged ends with its metrics so far and config.toml, so
// that it can be repeated with another step. Returns `status`, or the error
// of writing the file.
Status KeepConfigOfDivergedRun(const Job& job, Status status) {
  if (status.code() != StatusCode::kDiverged || job.run.out.empty() || job.effective_config.empty()) return status;
  const Status written = WriteFileAtomic(std::filesystem::path(job.run.out) / "config.toml", job.effective_config);
  return written.ok() ? status : written;
}

// A sweep or compare whose run diverged at every step it tried has no result
// for that run: the table says so, and the exit code too (3).
Status EveryStepDiverged(const Job& job, const JobReport& report) {
  if (!job.sweep) return Status::OK();
  std::string failed;
  for (const TableRow& row : TableRows(job, report)) {
    if (!row.diverged) continue;
    const RunRequest& r = row.seeds.front()->request;
    failed += std::string(failed.empty() ? "" : "; ") + AlgorithmName(r.options.kind) + " " + r.options.Describe();
  }
  if (failed.empty()) return Status::OK();
  return Status::Diverged(failed + (job.compare ? ": diverged (see the table); try a smaller \"lr\" in the config"
                                                : ": diverged at every step of the grid; try smaller --lr-grid steps"));
}

int RunCommand(Job& job, int argc, char** argv) {
  const bool leader_env = EnvironmentRank() == 0;
  // Choose the backend.
  std::string backend = job.run.backend;
  if (backend == "auto") {
#if CRPSGD_WITH_MPI
    backend = LaunchedByMpirun() ? "mpi" : "inproc";
#else
    backend = "inproc";
#endif
  }
  if (backend != "inproc" && backend != "mpi") {
    return Fail(Status::InvalidArgument("--backend must be auto, inproc or mpi, got '" + job.run.backend + "'"),
                leader_env);
  }
  if (backend == "inproc" && EnvironmentWorldSize() > 1) {
    return Fail(Status::InvalidArgument("--backend inproc under mpirun -np " + std::to_string(EnvironmentWorldSize()) +
                                        ": every rank would run the whole job alone and write the same --out; drop "
                                        "--backend (auto uses mpi under mpirun) or run without mpirun"),
                leader_env);
  }
  // Every rank checks the same folder, so all fail together.
  const Reuse reuse = job.run.resume ? Reuse::kResume : job.run.overwrite ? Reuse::kOverwrite : Reuse::kRefuse;
  if (Status out = PrepareOutputFolder(job.run.out, reuse, EnvironmentWorldSize() > 1); !out.ok()) {
    return Fail(out, leader_env);
  }
  if (job.run.mpi_reduction != "ordered" && job.run.mpi_reduction != "native") {
    return Fail(
        Status::InvalidArgument("--mpi-reduction must be ordered or native, got '" + job.run.mpi_reduction + "'"),
        leader_env);
  }
  if (job.run.workers < 0 || (job.compare && job.run.workers == 0)) {
    return Fail(Status::InvalidArgument("--workers must be >= 1, got " + std::to_string(job.run.workers)), leader_env);
  }
  if (job.run.threads < 0) return Fail(Status::InvalidArgument("--threads must be >= 0"), leader_env);
  if (job.run.save_model && job.run.out.empty()) {
    return Fail(Status::InvalidArgument("--save-model needs --out (the model is written there: model.liblinear for "
                                        "linear models, model.pt for networks)"),
                leader_env);
  }
  if (job.run.eval_every > 0 && job.run.eval_every_sfo > 0) {
    return Fail(
        Status::InvalidArgument("--eval-every (rounds) and --eval-every-sfo (samples) are two schedules: give one"),
        leader_env);
  }
  if (!job.run.net_model.empty()) {
    auto model = ParseNetworkModel(job.run.net_model);
    if (!model.ok()) return Fail(model.status(), leader_env);
    job.net_model = *model;
  }
  // The flags as the library's options, checked before any data is read.
  if (Status resolved = ResolveModelFlags(job.data); !resolved.ok()) return Fail(resolved, leader_env);
  auto objective = ObjectiveFor(job.data.problem);
  if (!objective.ok()) return Fail(objective.status(), leader_env);
  job.objective = *objective;
  auto data_options = MakeDataOptions(job.data, job.objective->labels, job.objective->multiclass);
  if (!data_options.ok()) return Fail(data_options.status(), leader_env);
  job.data_options = std::move(data_options).value();
  auto settings = MakeObjectiveSettings(job.data, job.run);
  if (!settings.ok()) return Fail(settings.status(), leader_env);
  if (Status checked = CheckObjectiveSettings(*job.objective, *settings); !checked.ok()) {
    return Fail(checked, leader_env);
  }
  job.objective_settings = *settings;
  ConfigureProcess(*job.objective, job.run.threads);

  if (backend == "inproc") {
    const int workers = job.run.workers == 0 ? 1 : job.run.workers;
    auto data = LoadData(job.data_options, job.run.seed, PartsToRead::All(workers));
    if (!data.ok()) return Fail(data.status(), true);
    if (data->num_train_samples < static_cast<std::size_t>(workers)) {
      return Fail(Status::InvalidArgument("--workers (" + std::to_string(workers) + ") exceeds the " +
                                          std::to_string(data->num_train_samples) + " samples of the data"),
                  true);
    }
    if (Status adopted = AdoptLoadedData(job, *data); !adopted.ok()) return Fail(adopted, true);
    JobReport report;
    std::vector<SeedIndependent> caches(static_cast<std::size_t>(workers));  // one per worker thread
    for (std::uint64_t seed : job.seeds) {
      JobReport one;
      Status status = RunInProcess(workers, [&](Communicator& comm) {
        return RunJob(comm, job, *data, seed, caches[static_cast<std::size_t>(comm.rank())],
                      comm.rank() == 0 ? &one : nullptr);
      });
      if (!status.ok()) return Fail(KeepConfigOfDivergedRun(job, status), true);
      Merge(report, std::move(one));
    }
    Status status = WriteReport(job, report);
    if (status.ok()) status = EveryStepDiverged(job, report);
    return status.ok() ? kExitOk : Fail(status, true);
  }

#if CRPSGD_WITH_MPI
  MpiSession session(&argc, &argv);
  const bool leader = session.world_rank() == 0;
  if (job.run.workers != 0 && job.run.workers != session.world_size()) {
    return Fail(Status::InvalidArgument("--workers " + std::to_string(job.run.workers) + " does not match the " +
                                        std::to_string(session.world_size()) + " MPI ranks (mpirun -np)"),
                leader);
  }
  auto comm = MakeMpiCommunicator(job.run.mpi_reduction == "native" ? MpiReduction::kNative : MpiReduction::kOrdered,
                                  std::chrono::seconds(job.run.mpi_timeout_s));
  if (!comm.ok()) return Fail(comm.status(), leader);
  // Same input on every rank: all fail together. Byte-range parts differ by
  // rank, so the ranks then agree on the result before going on.
  auto data = LoadData(job.data_options, job.run.seed, PartsToRead{{session.world_rank()}, session.world_size()});
  if (job.data_options.sharding == Sharding::kByteRange) {
    bool print_here = false;
    const Status agreed = AgreeOnParts(**comm, job.data_options, data, &print_here);
    if (!agreed.ok()) return Fail(agreed, print_here);
  }
  if (!data.ok()) return Fail(data.status(), leader);
  if (data->num_train_samples < static_cast<std::size_t>(session.world_size())) {
    return Fail(Status::InvalidArgument("the " + std::to_string(session.world_size()) + " MPI ranks exceed the " +
                                        std::to_string(data->num_train_samples) + " samples of the data"),
                leader);
  }
  // The same data and --init-model file on every rank: all fail together.
  if (Status adopted = AdoptLoadedData(job, *data); !adopted.ok()) return Fail(adopted, leader);
  JobReport report;
  Status status;
  SeedIndependent cache;
  for (std::uint64_t seed : job.seeds) {
    JobReport one;
    // One worker per process: after the last seed's sharding it keeps only its shard.
    const bool last = seed == job.seeds.back();
    status = CatchExceptions(comm.value()->rank(),
                             [&] { return RunJob(**comm, job, *data, seed, cache, leader ? &one : nullptr, last); });
    if (!status.ok()) break;
    Merge(report, std::move(one));
  }
  if (!status.ok() && leader) status = KeepConfigOfDivergedRun(job, status);
  if (status.ok() && leader) status = WriteReport(job, report);
  if (status.ok()) status = EveryStepDiverged(job, report);  // report is rank 0's; the others have none
  if (!status.ok()) {
    // A divergence and bad input are seen by every rank at the same point;
    // anything else may be this rank's alone, and the others must not wait.
    const bool shared = status.code() == StatusCode::kDiverged || status.code() == StatusCode::kInvalidArgument;
    const int code = Fail(status, leader || !shared);
    if (!shared) MpiSession::AbortJob(code);
    return code;
  }
  return kExitOk;
#else
  (void)argc;
  (void)argv;
  return Fail(Status::InvalidArgument("--backend mpi: this build has no MPI support (CRPSGD_WITH_MPI=OFF)"), true);
#endif
}

}  // namespace
}  // namespace crpsgd::cli

int main(int argc, char** argv) {
  using namespace crpsgd::cli;
  CLI::App app{
      "crpsgd: communication-efficient distributed SGD with dynamically growing batches:\n"
      "CR-PSGD (Algorithm 1 of Yu & Jin, ICML 2019) and CR-PSGD-Catalyst (Algorithm 2, for non-convex f),\n"
      "with PSGD (fixed batch) and local SGD (periodic averaging) as baselines, in-process or under mpirun.\n"
      "Start with: crpsgd train --help",
      "crpsgd"};
  const std::string version = std::string("crpsgd ") + CRPSGD_VERSION;
  app.set_version_flag("--version", version);
  app.require_subcommand(1);

  Job train_job, sweep_job;
  AlgoFlags train_algo, sweep_algo;
  SweepFlags sweep_flags;

  CLI::App* train = app.add_subcommand("train",
                                       "Train one model with one algorithm; "
                                       "writes metrics.jsonl, summary.json and config.toml to --out");
  AddDataFlags(*train, train_job.data);
  AddAlgoFlags(*train, train_algo, /*algorithm_flags=*/true);
  AddRunFlags(*train, train_job.run);
  train
      ->add_option("--checkpoint-every", train_job.run.checkpoint_every,
                   "Write a checkpoint to --out/checkpoint every K rounds (0 = none); see --resume")
      ->capture_default_str();
  train->add_flag("--resume", train_job.run.resume,
                  "Continue the run in --out from its last checkpoint (give the same flags as the first time); "
                  "the result is bit-identical to an uninterrupted run");
  train->add_option("--inject-fault", train_job.run.inject_fault,
                    "For tests: kill:rank=R,round=T kills worker R (under mpirun, its process; in-process, the "
                    "whole process) at round T; stop:rank=R,round=T stops it (a hung worker); throw:rank=R,round=T "
                    "throws a C++ exception in it (a library error)");
  std::string config_file;  // read by ExpandConfigFile before parsing
  const char* config_help = "TOML file of flags (keys: the long names above); flags given here override it";
  train->add_option("--config", config_file, config_help);

  CLI::App* sweep = app.add_subcommand("sweep",
                                       "Run several algorithms on the same data and budget, each over a "
                                       "grid of step sizes (multiples of 1/L), and print a comparison table");
  AddDataFlags(*sweep, sweep_job.data);
  AddAlgoFlags(*sweep, sweep_algo, /*algorithm_flags=*/false);
  AddSweepFlags(*sweep, sweep_flags);
  AddRunFlags(*sweep, sweep_job.run);
  sweep->add_option("--config", config_file, config_help);

  Job compare_job;
  compare_job.run.out = "out/compare";
  std::string compare_config;
  CLI::App* compare = app.add_subcommand("compare",
                                         "Run the runs a JSON or TOML config describes (one problem, one "
                                         "budget, several algorithms and seeds), then draw figures with "
                                         "gnuplot and write a table (see docs/compare.md)");
  compare->add_option("--config", compare_config, "The config: JSON, or TOML when the name ends in .toml")->required();
  compare->add_option("--out", compare_job.run.out, "Output folder: runs, figures/, table.md, results.csv")
      ->capture_default_str();
  compare->add_flag("-q,--quiet", compare_job.run.quiet, "Print only errors and the result table (not with -v)");
  compare->add_flag("-v,--verbose", compare_job.run.verbose, "Log every evaluated round to stderr");

  TheoryCheckFlags theory_flags;
  CLI::App* theory =
      app.add_subcommand("theory-check",
                         "Measure the paper's rates on problems with known constants: CR-PSGD's rounds against log T, "
                         "N·T·(f − f*) across T, the speedup in N, the baselines' rounds, and the catalyst's rounds "
                         "against sqrt(NT)·log(T/N). Exits 4 when a criterion fails");
  theory->add_option("--out", theory_flags.out, "Output folder: table.md, results.csv, figures/")
      ->capture_default_str();
  theory->add_option("--max-budget", theory_flags.max_budget, "Largest per-worker budget T of the sweep (>= 100000)")
      ->capture_default_str();
  theory->add_option("--seeds", theory_flags.seeds, "Seeds 1..K of each CR-PSGD point")->capture_default_str();
  theory->add_flag("-q,--quiet", theory_flags.quiet, "Print only errors and the result table");

  PredictFlags predict_flags;
  CLI::App* predict = app.add_subcommand(
      "predict",
      "Score a saved model on a data file: a linear model (model.liblinear from --save-model, or "
      "liblinear-train's) as liblinear-predict does, or a network's model.pt (give its --problem); prints "
      "the accuracy, writes one prediction per line to --out");
  predict->add_option("--model", predict_flags.model, "The model file: LIBLINEAR's format, or a network's model.pt")
      ->required();
  predict->add_option("--out", predict_flags.out, "File for the predictions, one per line (replaced if it exists)");
  AddDataFlags(*predict, predict_flags.data, /*own_network_flags=*/false);
  // Training's data flags that mean nothing to scoring a file: predict lists only its own.
  for (const char* unused :
       {"--test-data", "--test-labels", "--synthetic-samples", "--synthetic-features", "--synthetic-noise",
        "--synthetic-condition", "--lambda", "--augment", "--precision", "--sharding", "--standardize"}) {
    predict->remove_option(predict->get_option(unused));
  }
  predict
      ->add_option("--loss", predict_flags.loss,
                   "A network's loss in training: cross-entropy (a classifier: accuracy) or mse (a regression: "
                   "mean squared error and R^2)")
      ->capture_default_str();
  predict->get_option("--data")->description(
      "The data file to score (LIBSVM or CSV text, plain or gzip; NumPy .npy or .npz; IDX images, CIFAR-10 or "
      "tensors)");

  compare->add_flag("--overwrite", compare_job.run.overwrite,
                    "Replace the files of an earlier compare in --out (its runs, figures and tables)");
  // The subcommands, once: their names in messages and suggestions come from here.
  const std::vector<CLI::App*> commands = {train, sweep, compare, theory, predict};
  std::vector<std::string> command_names;
  std::string command_list;  // "train, sweep, ..."
  for (CLI::App* sub : commands) {
    sub->set_version_flag("--version", version);
    command_names.push_back(sub->get_name());
    command_list += (command_list.empty() ? "" : ", ") + sub->get_name();
  }

  const bool leader = EnvironmentRank() == 0;
  std::vector<std::string> args(argv, argv + argc);
  const auto find_command = [&](const std::string& name) -> CLI::App* {
    for (CLI::App* sub : commands) {
      if (sub->get_name() == name) return sub;
    }
    return nullptr;
  };
  // `crpsgd` alone and `crpsgd help [COMMAND]`: the usage, with the subcommands.
  if (args.size() == 1 || args[1] == "help") {
    CLI::App* about = args.size() > 2 ? find_command(args[2]) : nullptr;
    if (args.size() > 2 && about == nullptr) {
      return Fail(
          crpsgd::Status::InvalidArgument("help: no command '" + args[2] + "' (commands: " + command_list + ")"),
          leader);
    }
    std::cout << (about != nullptr ? about->help() : app.help());
    return kExitOk;
  }
  CLI::App* command = find_command(args[1]);
  if (command == nullptr && args[1].rfind("-", 0) != 0) {
    command_names.push_back("help");
    const std::string nearest = NearestName(args[1], command_names);
    return Fail(crpsgd::Status::InvalidArgument("unknown command '" + args[1] + "'" +
                                                (nearest.empty() ? "" : " (did you mean " + nearest + "?)") +
                                                "; commands: " + command_list + " (crpsgd help)"),
                leader);
  }
  std::map<std::string, std::string> from_config;  // flag -> "FILE:LINE" of its value
  if (command != nullptr) {
    // Typos and stray words, before CLI11 would complain about something else.
    const crpsgd::Status checked = CheckArguments(*command, {args.begin() + 2, args.end()});
    if (!checked.ok()) return Fail(checked, leader);
  }
  // `train --resume --out DIR` alone: the run's own config.toml gives the
  // flags (those given here override it), so nothing has to be typed again.
  std::vector<std::string> command_args(args.begin() + (command != nullptr ? 2 : 1), args.end());
  if (command == train) command_args = WithRunConfig(command_args);
  // `train|sweep --config FILE`: the file's settings become flags before parsing.
  if (command == train || command == sweep) {
    auto expanded = ExpandConfigFile(*command, command_args, &from_config);
    if (!expanded.ok()) return Fail(expanded.status(), leader);
    args.resize(2);
    args.insert(args.end(), expanded->begin(), expanded->end());
  }
  std::vector<char*> parse_argv;
  for (std::string& a : args) parse_argv.push_back(a.data());
  try {
    app.parse(static_cast<int>(parse_argv.size()), parse_argv.data());
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    // A value from --config's file: name the file and line it came from.
    std::string where;
    const std::string message = e.what();
    for (const auto& [flag, origin] : from_config) {
      const auto at = message.find(flag);
      const char next = at == std::string::npos || at + flag.size() >= message.size() ? ' ' : message[at + flag.size()];
      if (at != std::string::npos && next != '-' && !std::isalnum(static_cast<unsigned char>(next))) {
        where = origin + ": ";
      }
    }
    if (leader) std::fprintf(stderr, "crpsgd: error: %s%s\n", where.c_str(), e.what());
    return kExitBadInput;
  }

  if (predict->parsed()) {
    auto lines = Predict(predict_flags);
    if (!lines.ok()) return Fail(lines.status(), true);
    std::cout << *lines << std::flush;
    return kExitOk;
  }
  if (theory->parsed()) {
    bool passed = false;
    const crpsgd::Status status = RunTheoryCheck(theory_flags, &passed);
    if (!status.ok()) return Fail(status, true);
    if (!passed)
      std::fprintf(stderr, "crpsgd: theory-check: a criterion failed (see %s/table.md)\n", theory_flags.out.c_str());
    return passed ? kExitOk : kExitCheckFailed;
  }
  Job& job = train->parsed() ? train_job : sweep->parsed() ? sweep_job : compare_job;
  if (job.run.quiet && job.run.verbose) {
    return Fail(crpsgd::Status::InvalidArgument("-q (--quiet) and -v (--verbose) contradict each other: give one"),
                leader);
  }
  if (compare->parsed()) {
    const crpsgd::Status loaded = LoadCompareConfig(compare_config, job);
    if (!loaded.ok()) return Fail(loaded, leader);
    job.compare = true;
  } else if (train->parsed()) {
    job.effective_config = EffectiveConfig(*train);
    if (job.run.resume && job.run.overwrite) {
      return Fail(crpsgd::Status::InvalidArgument("--resume continues the run in --out and --overwrite replaces it: "
                                                  "give one of them"),
                  leader);
    }
    if (auto finished = FinishedRun(job.run); finished) {  // --resume of a run that ended: nothing to redo
      if (leader) std::fprintf(stderr, "crpsgd: --resume: %s\n", finished->c_str());
      return kExitOk;
    }
    const crpsgd::Status reliability = ValidateReliabilityFlags(job);
    if (!reliability.ok()) return Fail(reliability, leader);
    auto request = MakeTrainRequest(train_algo);
    if (!request.ok()) return Fail(request.status(), leader);
    job.requests.push_back(std::move(request).value());
    job.seeds = {job.run.seed};
  } else {
    auto seeds = ParseSeeds(sweep_flags.seeds, job.run.seed);
    if (!seeds.ok()) return Fail(seeds.status(), leader);
    job.seeds = std::move(seeds).value();
    auto requests = MakeSweepRequests(sweep_algo, sweep_flags);
    if (!requests.ok()) return Fail(requests.status(), leader);
    job.requests = std::move(requests).value();
    job.sweep = true;
    job.effective_config = EffectiveConfig(*sweep);
  }
  return RunCommand(job, argc, argv);
}
