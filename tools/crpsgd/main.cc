// crpsgd: command-line front end. parse -> validate -> load -> run -> report.
//
// All input is validated before any worker starts and before --out is
// created; every MPI rank validates the same inputs, so all ranks fail
// together and mpirun never hangs on bad input. Logs go to stderr, the result
// table to stdout. Exit codes: see exit_codes.h and docs/errors.md.
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <vector>

#include <CLI/CLI.hpp>

#include "crpsgd/allocator.h"
#include "crpsgd/config.h"
#include "crpsgd/job_figures.h"
#include "crpsgd/metrics.h"
#include "crpsgd/built_in_objectives.h"
#include "crpsgd/output_folder.h"
#include "crpsgd/predict.h"
#include "crpsgd/theory_check.h"
#if CRPSGD_WITH_MPI
#include "crpsgd/mpi.h"
#endif
#include "arguments.h"
#include "compare.h"
#include "config_file.h"
#include "exit_codes.h"
#include "flags.h"
#include "crpsgd/job.h"
#include "report.h"
#include "settings.h"

namespace crpsgd::cli {
namespace {

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

Status WriteReport(const Job& job, const JobReport& report) {
  const std::string table = FormatTable(job, report);
  const std::string condition = ConditionLine(job, report);
  std::cout << condition << table << std::flush;
  if (job.run.out.empty()) return Status::OK();
  const std::filesystem::path out(job.run.out);
  if (job.spec.sweep) {  // train's was written before training (RunJob), with the rounds a plan chose
    if (!job.spec.config_toml.empty()) {
      CRPSGD_RETURN_IF_ERROR(WriteFileAtomic(out / "config.toml", job.spec.config_toml));
    }
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
  if (job.compare) CRPSGD_RETURN_IF_ERROR(DrawJobFigures(job.spec, report, out));
  return Status::OK();
}

// A sweep or compare whose run diverged at every step it tried has no result
// for that run: the table says so, and the exit code too (3).
Status EveryStepDiverged(const Job& job, const JobReport& report) {
  if (!job.spec.sweep) return Status::OK();
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

// --backend, --workers, --mpi-reduction and --threads as where the job runs.
Result<LaunchOptions> MakeLaunchOptions(const Job& job) {
  const RunFlags& run = job.run;
  LaunchOptions launch;
  CRPSGD_ASSIGN_OR_RETURN(launch.backend, ParseBackend(run.backend));
  if (launch.backend == Backend::kInProcess && MpirunWorldSize() > 1) {
    return Status::InvalidArgument("--backend inproc under mpirun -np " + std::to_string(MpirunWorldSize()) +
                                   ": every rank would run the whole job alone and write the same --out; drop "
                                   "--backend (auto uses mpi under mpirun) or run without mpirun");
  }
  CRPSGD_ASSIGN_OR_RETURN(launch.mpi_reduction, ParseMpiReduction(run.mpi_reduction));
  launch.mpi_timeout = std::chrono::seconds(run.mpi_timeout_s);
  if (job.compare && run.workers == 0) {
    return Status::InvalidArgument("--workers must be >= 1, got " + std::to_string(run.workers));
  }
  launch.workers = launch.backend == Backend::kInProcess && run.workers == 0 ? 1 : run.workers;
  if (run.threads < 0) return Status::InvalidArgument("--threads must be >= 0");
  return launch;
}

int RunCommand(Job& job, int argc, char** argv) {
  const bool leader_env = MpirunRank() == 0;
  const Result<LaunchOptions> launch = MakeLaunchOptions(job);
  if (!launch.ok()) return Fail(launch.status(), leader_env);
  // Every rank checks the same folder, so all fail together.
  const Reuse reuse = job.run.resume ? Reuse::kResume : job.run.overwrite ? Reuse::kOverwrite : Reuse::kRefuse;
  if (Status out = PrepareOutputFolder(job.run.out, reuse, MpirunWorldSize() > 1); !out.ok()) {
    return Fail(out, leader_env);
  }
  ConfigureProcess(*job.spec.objective, job.run.threads);
#if CRPSGD_WITH_MPI
  std::optional<MpiSession> session;
  if (launch->backend == Backend::kMpi) session.emplace(&argc, &argv);
#else
  (void)argc;
  (void)argv;
#endif
  const LaunchResult result = Launch(job.spec, *launch, [&](const JobReport& report) {
    CRPSGD_RETURN_IF_ERROR(WriteReport(job, report));
    return EveryStepDiverged(job, report);
  });
  if (result.status.ok()) return kExitOk;
  const int code = Fail(result.status, result.print_error);
#if CRPSGD_WITH_MPI
  if (result.abort_job) MpiSession::AbortJob(code);
#endif
  return code;
}

// The subcommands and the flags they parse into.
struct Commands {
  CLI::App app{
      "crpsgd: communication-efficient distributed SGD with dynamically growing batches:\n"
      "CR-PSGD (Algorithm 1 of Yu & Jin, ICML 2019) and CR-PSGD-Catalyst (Algorithm 2, for non-convex f),\n"
      "with PSGD (fixed batch) and local SGD (periodic averaging) as baselines, in-process or under mpirun.\n"
      "Start with: crpsgd train --help",
      "crpsgd"};
  Job train_job, sweep_job, compare_job;
  AlgoFlags train_algo, sweep_algo;
  SweepFlags sweep_flags;
  std::string config_file;     // train and sweep: read by ExpandConfigFile before parsing
  std::string compare_config;  // compare's JSON or TOML
  TheoryCheckOptions theory_flags;
  PredictFlags predict_flags;
  CLI::App *train = nullptr, *sweep = nullptr, *compare = nullptr, *theory = nullptr, *predict = nullptr;
  CommandSettings train_settings, sweep_settings, compare_settings, predict_settings;
  std::vector<CLI::App*> all;  // in the order --help lists them
  std::string names;           // "train, sweep, ..."

  Commands();
  CLI::App* Find(const std::string& name) const {
    for (CLI::App* sub : all) {
      if (sub->get_name() == name) return sub;
    }
    return nullptr;
  }
};

constexpr const char* kConfigHelp = "TOML file of flags (keys: the long names above); flags given here override it";

void AddTrain(Commands& c) {
  c.train = c.app.add_subcommand("train",
                                 "Train one model with one algorithm; "
                                 "writes metrics.jsonl, summary.json and config.toml to --out");
  c.train_settings.Add(*c.train, DataSettings(), c.train_job.data, kTrain);
  c.train_settings.Add(*c.train, AlgoSettings(), c.train_algo, kTrain);
  c.train_settings.Add(*c.train, RunSettings(), c.train_job.run, kTrain);
  c.train->add_option("--config", c.config_file, kConfigHelp);
}

void AddSweepAndCompare(Commands& c) {
  c.sweep = c.app.add_subcommand("sweep",
                                 "Run several algorithms on the same data and budget, each over a "
                                 "grid of step sizes (multiples of 1/L), and print a comparison table");
  c.sweep_settings.Add(*c.sweep, DataSettings(), c.sweep_job.data, kSweep);
  c.sweep_settings.Add(*c.sweep, AlgoSettings(), c.sweep_algo, kSweep);
  c.sweep_settings.Add(*c.sweep, SweepSettings(), c.sweep_flags, kSweep);
  c.sweep_settings.Add(*c.sweep, RunSettings(), c.sweep_job.run, kSweep);
  c.sweep->add_option("--config", c.config_file, kConfigHelp);

  c.compare_job.run.out = "out/compare";
  c.compare = c.app.add_subcommand("compare",
                                   "Run the runs a JSON or TOML config describes (one problem, one "
                                   "budget, several algorithms and seeds), then draw figures with "
                                   "gnuplot and write a table (see docs/compare.md)");
  c.compare->add_option("--config", c.compare_config, "The config: JSON, or TOML when the name ends in .toml")
      ->required();
  c.compare_settings.Add(*c.compare, RunSettings(), c.compare_job.run, kCompareFlag);
}

void AddTheoryCheckAndPredict(Commands& c) {
  TheoryCheckOptions& t = c.theory_flags;
  c.theory =
      c.app.add_subcommand("theory-check",
                           "Measure the paper's rates on problems with known constants: CR-PSGD's rounds against "
                           "log T, N·T·(f − f*) across T, the speedup in N, the baselines' rounds, and the catalyst's "
                           "rounds against sqrt(NT)·log(T/N). Exits 4 when a criterion fails");
  c.theory->add_option("--out", t.out, "Output folder: table.md, results.csv, figures/")->capture_default_str();
  c.theory->add_option("--max-budget", t.max_budget, "Largest per-worker budget T of the sweep (>= 100000)")
      ->capture_default_str();
  c.theory->add_option("--seeds", t.seeds, "Seeds 1..K of each CR-PSGD point")->capture_default_str();
  c.theory->add_flag("-q,--quiet", t.quiet, "Print only errors and the result table");

  PredictFlags& p = c.predict_flags;
  c.predict = c.app.add_subcommand(
      "predict",
      "Score a saved model on a data file: a linear model (model.liblinear from --save-model, or "
      "liblinear-train's) as liblinear-predict does, or a network's model.pt (give its --problem); prints "
      "the accuracy, writes one prediction per line to --out");
  c.predict->add_option("--model", p.model, "The model file: LIBLINEAR's format, or a network's model.pt")->required();
  c.predict->add_option("--out", p.out, "File for the predictions, one per line (replaced if it exists)");
  c.predict_settings.Add(*c.predict, DataSettings(), p.data, kPredict);
  c.predict
      ->add_option("--loss", p.loss,
                   "A network's loss in training: cross-entropy (a classifier: accuracy) or mse (a regression: "
                   "mean squared error and R^2)")
      ->capture_default_str();
  c.predict->get_option("--data")->description(
      "The data file to score (LIBSVM or CSV text, plain or gzip; NumPy .npy or .npz; IDX images, CIFAR-10 or "
      "tensors)");
}

Commands::Commands() {
  const std::string version = std::string("crpsgd ") + CRPSGD_VERSION;
  app.set_version_flag("--version", version);
  app.require_subcommand(1);
  AddTrain(*this);
  AddSweepAndCompare(*this);
  AddTheoryCheckAndPredict(*this);
  // The subcommands, once: their names in messages and suggestions come from here.
  all = {train, sweep, compare, theory, predict};
  for (CLI::App* sub : all) {
    sub->set_version_flag("--version", version);
    names += (names.empty() ? "" : ", ") + sub->get_name();
  }
}

// A CLI11 parse error; a value from --config's file names the file and line it came from.
int ParseFailed(const CLI::ParseError& e, const std::map<std::string, std::string>& from_config, bool leader) {
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

// Parses `args` into the commands' flags: nullopt when parsed, else the exit
// code (--help and --version: 0).
std::optional<int> Parse(Commands& c, std::vector<std::string> args, bool leader) {
  // `crpsgd` alone and `crpsgd help [COMMAND]`: the usage, with the subcommands.
  if (args.size() == 1 || args[1] == "help") {
    CLI::App* about = args.size() > 2 ? c.Find(args[2]) : nullptr;
    if (args.size() > 2 && about == nullptr) {
      return Fail(Status::InvalidArgument("help: no command '" + args[2] + "' (commands: " + c.names + ")"), leader);
    }
    std::cout << (about != nullptr ? about->help() : c.app.help());
    return kExitOk;
  }
  CLI::App* command = c.Find(args[1]);
  if (command == nullptr && args[1].rfind("-", 0) != 0) {
    std::vector<std::string> names = {"help"};
    for (CLI::App* sub : c.all) names.push_back(sub->get_name());
    const std::string nearest = NearestName(args[1], names);
    return Fail(Status::InvalidArgument("unknown command '" + args[1] + "'" +
                                        (nearest.empty() ? "" : " (did you mean " + nearest + "?)") +
                                        "; commands: " + c.names + " (crpsgd help)"),
                leader);
  }
  std::map<std::string, std::string> from_config;  // flag -> "FILE:LINE" of its value
  // Typos and stray words, before CLI11 would complain about something else.
  if (command != nullptr) {
    if (Status checked = CheckArguments(*command, {args.begin() + 2, args.end()}); !checked.ok()) {
      return Fail(checked, leader);
    }
  }
  // `train --resume --out DIR` alone: the run's own config.toml gives the
  // flags (those given here override it), so nothing has to be typed again.
  std::vector<std::string> command_args(args.begin() + (command != nullptr ? 2 : 1), args.end());
  if (command == c.train) command_args = WithRunConfig(command_args);
  // `train|sweep --config FILE`: the file's settings become flags before parsing.
  if (command == c.train || command == c.sweep) {
    auto expanded = ExpandConfigFile(*command, command_args, &from_config);
    if (!expanded.ok()) return Fail(expanded.status(), leader);
    args.resize(2);
    args.insert(args.end(), expanded->begin(), expanded->end());
  }
  std::vector<char*> parse_argv;
  for (std::string& a : args) parse_argv.push_back(a.data());
  try {
    c.app.parse(static_cast<int>(parse_argv.size()), parse_argv.data());
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return c.app.exit(e);  // --help, --version
    return ParseFailed(e, from_config, leader);
  }
  // CLI11 read the values as text; the settings' table types and checks them all.
  for (const auto& [sub, settings] : {std::pair{c.train, &c.train_settings},
                                      {c.sweep, &c.sweep_settings},
                                      {c.compare, &c.compare_settings},
                                      {c.predict, &c.predict_settings}}) {
    if (!sub->parsed()) continue;
    if (Status applied = settings->Apply(from_config); !applied.ok()) {
      StatusList errors;  // the flags' own checks, and train's run checks of the values that passed them
      errors.Add(applied);
      if (sub == c.train) {  // the run is refused: what the job would also have said of it
        const Result<RunRequest> request = MakeTrainRequest(c.train_algo);
        errors.Add(request.ok() ? ValidateRequest(*request) : request.status());
      }
      return Fail(errors.ToStatus(), leader);
    }
  }
  return std::nullopt;
}

// The job of the parsed train, sweep or compare: its runs and seeds, then the
// rest of its flags (MakeJobSpec). *finished: a resumed train run that had
// ended, which leaves nothing to do.
Status MakeJob(Commands& c, Job& job, std::optional<std::string>* finished) {
  if (job.run.quiet && job.run.verbose) {
    return Status::InvalidArgument("-q (--quiet) and -v (--verbose) contradict each other: give one");
  }
  if (c.compare->parsed()) {
    CRPSGD_RETURN_IF_ERROR(LoadCompareConfig(c.compare_config, job));
    job.compare = true;
  } else if (c.train->parsed()) {
    job.spec.config_toml = c.train_settings.EffectiveConfig("train");
    if (job.run.resume && job.run.overwrite) {
      return Status::InvalidArgument(
          "--resume continues the run in --out and --overwrite replaces it: "
          "give one of them");
    }
    CRPSGD_ASSIGN_OR_RETURN(RunRequest request, MakeTrainRequest(c.train_algo));
    job.spec.requests = {std::move(request)};
    job.spec.seeds = {job.run.seed};
  } else {
    CRPSGD_ASSIGN_OR_RETURN(job.spec.seeds, ParseSeeds(c.sweep_flags.seeds, job.run.seed));
    CRPSGD_ASSIGN_OR_RETURN(job.spec.requests, MakeSweepRequests(c.sweep_algo, c.sweep_flags));
    job.spec.sweep = true;
    job.spec.config_toml = c.sweep_settings.EffectiveConfig("sweep");
  }
  CRPSGD_RETURN_IF_ERROR(MakeJobSpec(job));
  if (c.train->parsed()) *finished = FinishedRun(job.spec);
  return Status::OK();
}

int RunParsed(Commands& c, int argc, char** argv, bool leader) {
  if (c.predict->parsed()) {
    Result<PredictOptions> options = MakePredictOptions(c.predict_flags);
    Result<std::string> lines = options.ok() ? Predict(*options) : Result<std::string>(options.status());
    if (!lines.ok()) return Fail(lines.status(), true);
    std::cout << *lines << std::flush;
    return kExitOk;
  }
  if (c.theory->parsed()) {
    const Result<TheoryCheckResult> checked = RunTheoryCheck(c.theory_flags);
    if (!checked.ok()) return Fail(checked.status(), true);
    std::cout << checked->table << std::flush;
    if (!checked->passed) {
      std::fprintf(stderr, "crpsgd: theory-check: a criterion failed (see %s/table.md)\n", c.theory_flags.out.c_str());
    }
    return checked->passed ? kExitOk : kExitCheckFailed;
  }
  Job& job = c.train->parsed() ? c.train_job : c.sweep->parsed() ? c.sweep_job : c.compare_job;
  std::optional<std::string> finished;
  if (Status made = MakeJob(c, job, &finished); !made.ok()) return Fail(made, leader);
  if (finished) {  // --resume of a run that ended: nothing to redo
    if (leader) std::fprintf(stderr, "crpsgd: --resume: %s\n", finished->c_str());
    return kExitOk;
  }
  // Before MPI or a worker starts a thread: a network's large tensors are
  // reused, not mapped afresh every step (the same numbers, faster). Not for
  // linear models: their readers free large arrays once, and a heap that
  // keeps them raised a 2 GB file's peak per rank by 30% (bench/shard_memory.sh).
  if (job.network()) crpsgd::KeepFreedMemoryForReuse();
  return RunCommand(job, argc, argv);
}

}  // namespace
}  // namespace crpsgd::cli

int main(int argc, char** argv) {
  using namespace crpsgd::cli;
  Commands commands;
  const bool leader = crpsgd::MpirunRank() == 0;
  if (std::optional<int> code = Parse(commands, std::vector<std::string>(argv, argv + argc), leader)) return *code;
  return RunParsed(commands, argc, argv, leader);
}
