// Launch: a job on in-process workers or on MPI ranks. The data is loaded
// once per process (every in-process worker shards the same copy); every rank
// sees the same inputs, so bad input fails all of them together.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "crpsgd/config.h"
#include "crpsgd/enum_table.h"
#include "crpsgd/files.h"
#include "crpsgd/hosted.h"
#include "crpsgd/inproc.h"
#include "crpsgd/job.h"
#if CRPSGD_WITH_MPI
#include "crpsgd/mpi.h"
#endif

namespace crpsgd {
namespace {

LaunchResult Failed(Status status) {
  LaunchResult result;
  result.status = std::move(status);
  return result;
}

// Appends one seed's runs to the report of the whole job.
void Merge(JobReport& all, JobReport one) {
  if (!all.f_star) all.f_star = one.f_star, all.f_star_method = one.f_star_method;
  if (!all.lipschitz) all.lipschitz = one.lipschitz;
  for (RunOutcome& o : one.runs) all.runs.push_back(std::move(o));
}

// A train run that diverged keeps its metrics so far and config.toml, so that
// it can be repeated with another step. Returns `status`, or the error of
// writing the file.
Status KeepConfigOfDivergedRun(const JobSpec& job, Status status) {
  if (status.code() != StatusCode::kDiverged || job.out.empty() || job.config_toml.empty()) return status;
  const Status written = WriteFileAtomic(job.out / "config.toml", job.config_toml);
  return written.ok() ? status : written;
}

Status TooFewSamples(const std::string& workers, std::size_t samples) {
  return Status::InvalidArgument(workers + " exceed" + (workers.starts_with("--") ? "s" : "") + " the " +
                                 std::to_string(samples) + " samples of the data");
}

// Resumed on fewer workers than the checkpoint's plan: says how they carry it
// on (RunHostedWorkers), and returns the plan's N, or `workers`.
int PlanWorkersToHost(const JobSpec& job, int workers, bool leader) {
  const int plan = std::max(workers, JobPlanWorkers(job, workers));
  if (plan > workers && leader && !job.quiet) {
    std::fprintf(stderr,
                 "crpsgd: note: a run planned for %d workers goes on on %d: each runs %d or %d of the plan's workers, "
                 "so that the run stays the %d-worker run bit for bit, only slower\n",
                 plan, workers, plan / workers, (plan + workers - 1) / workers, plan);
  }
  return plan;
}

LaunchResult LaunchInProcess(JobSpec& job, int workers, const std::function<Status(const JobReport&)>& finish) {
  LaunchResult result;
  const int plan = PlanWorkersToHost(job, workers, true);
  auto data = LoadData(job.data, job.data_seed, PartsToRead::All(plan));
  if (!data.ok()) return Failed(data.status());
  if (data->num_train_samples < static_cast<std::size_t>(workers)) {
    return Failed(TooFewSamples("--workers (" + std::to_string(workers) + ")", data->num_train_samples));
  }
  if (Status adopted = AdoptLoadedData(job, *data); !adopted.ok()) return Failed(adopted);
  if (!data->byte_range() && job.samples_globally()) {
    data->whole_train = std::make_shared<const Dataset>(data->train);  // one copy for every worker thread
  }
  std::vector<SeedIndependent> caches(static_cast<std::size_t>(plan));  // one per (plan) worker
  for (std::uint64_t seed : job.seeds) {
    JobReport one;
    const Status status = RunInProcess(workers, [&](Communicator& host) {
      return RunHostedWorkers(host, plan, [&](Communicator& comm) {
        return RunJob(comm, job, *data, seed, caches[static_cast<std::size_t>(comm.rank())],
                      comm.rank() == 0 ? &one : nullptr);
      });
    });
    if (!status.ok()) {
      result.status = KeepConfigOfDivergedRun(job, status);
      return result;
    }
    Merge(result.report, std::move(one));
  }
  if (finish) result.status = finish(result.report);
  return result;
}

#if CRPSGD_WITH_MPI
// `valid`: ValidateJob's verdict, reported once MPI runs (rank 0 prints it).
LaunchResult LaunchOnMpiRanks(JobSpec& job, const LaunchOptions& options, const Status& valid,
                              const std::function<Status(const JobReport&)>& finish) {
  auto comm = MakeMpiCommunicator(options.mpi_reduction, options.mpi_timeout);
  if (!comm.ok()) return Failed(comm.status());
  Communicator& c = **comm;
  LaunchResult result;
  result.leader = c.rank() == 0;
  result.print_error = result.leader;
  if (!valid.ok()) return result.status = valid, result;
  const bool overlaps =
      std::any_of(job.requests.begin(), job.requests.end(), [](const RunRequest& r) { return r.options.overlap; });
  if (overlaps && !MpiSession::ThreadsSerialized()) {
    result.status = Status::InvalidArgument(
        "--overlap: this MPI library does not grant MPI_THREAD_SERIALIZED, which the exchange thread needs; run "
        "without --overlap, or in process (--backend inproc)");
    return result;
  }
  if (options.workers != 0 && options.workers != c.size()) {
    result.status = Status::InvalidArgument("--workers " + std::to_string(options.workers) + " does not match the " +
                                            std::to_string(c.size()) + " MPI ranks (mpirun -np)");
    return result;
  }
  // Same input on every rank: all fail together. Byte-range parts differ by
  // rank, so the ranks then agree on the result before going on.
  const int plan = PlanWorkersToHost(job, c.size(), result.leader);
  const std::vector<int> hosted = HostedPlanRanks(c.rank(), c.size(), plan);  // this rank's plan workers
  auto data = LoadData(job.data, job.data_seed, PartsToRead{hosted, plan});
  if (job.data.sharding == Sharding::kByteRange) {
    bool print_here = false;
    if (Status agreed = AgreeOnParts(c, job.data, data, &print_here); !agreed.ok()) {
      result.status = agreed;
      result.print_error = print_here;
      return result;
    }
  }
  if (!data.ok()) return result.status = data.status(), result;
  if (data->num_train_samples < static_cast<std::size_t>(c.size())) {
    result.status = TooFewSamples("the " + std::to_string(c.size()) + " MPI ranks", data->num_train_samples);
    return result;
  }
  // The same data and init_model file on every rank: all fail together.
  if (Status adopted = AdoptLoadedData(job, *data); !adopted.ok()) return result.status = adopted, result;
  std::vector<SeedIndependent> caches(hosted.size());  // one per plan worker of this rank
  for (std::uint64_t seed : job.seeds) {
    JobReport one;
    // One worker per process: after the last seed's sharding it keeps only its shard.
    const bool last = seed == job.seeds.back() && hosted.size() == 1;
    try {
      result.status = RunHostedWorkers(c, plan, [&](Communicator& worker) {
        SeedIndependent& cache = caches[static_cast<std::size_t>(worker.rank() / c.size())];  // HostedPlanRanks' order
        return RunJob(worker, job, *data, seed, cache, worker.rank() == 0 ? &one : nullptr, last);
      });
    } catch (const std::exception& e) {  // a library's (LibTorch's): this rank's error, not std::terminate
      result.status = Status::Internal("worker " + std::to_string(c.rank()) + " threw: " + e.what());
    } catch (...) {
      result.status = Status::Internal("worker " + std::to_string(c.rank()) + " threw an unknown exception");
    }
    if (!result.status.ok()) break;
    Merge(result.report, std::move(one));
  }
  if (!result.status.ok() && result.leader) result.status = KeepConfigOfDivergedRun(job, result.status);
  if (result.status.ok() && result.leader && finish) result.status = finish(result.report);
  if (!result.status.ok()) {
    // A divergence and bad input are seen by every rank at the same point;
    // anything else may be this rank's alone, and the others must not wait.
    const StatusCode code = result.status.code();
    const bool shared = code == StatusCode::kDiverged || code == StatusCode::kInvalidArgument;
    result.print_error = result.leader || !shared;
    result.abort_job = !shared;
  }
  return result;
}
#endif

}  // namespace

int MpirunRank() {
  for (const char* name : {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK"}) {
    if (const char* v = std::getenv(name)) return std::atoi(v);
  }
  return 0;
}

int MpirunWorldSize() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMIX_SIZE", "PMI_SIZE"}) {
    if (const char* v = std::getenv(name)) return std::max(1, std::atoi(v));
  }
  return 1;
}

Backend DefaultBackend() {
#if CRPSGD_WITH_MPI
  return LaunchedByMpirun() ? Backend::kMpi : Backend::kInProcess;
#else
  return Backend::kInProcess;
#endif
}

Result<Backend> ParseBackend(std::string_view name) {
  constexpr EnumTable<std::optional<Backend>, 3> kBackends{
      {{{std::nullopt, "auto"}, {Backend::kInProcess, "inproc"}, {Backend::kMpi, "mpi"}}}};
  CRPSGD_ASSIGN_OR_RETURN(const std::optional<Backend> backend, kBackends.Parse(name, "--backend"));
  return backend.value_or(DefaultBackend());
}

Result<MpiReduction> ParseMpiReduction(std::string_view name) {
  constexpr EnumTable<MpiReduction, 2> kReductions{
      {{{MpiReduction::kOrdered, "ordered"}, {MpiReduction::kNative, "native"}}}};
  return kReductions.Parse(name, "--mpi-reduction");
}

LaunchResult Launch(JobSpec spec, const LaunchOptions& options, const std::function<Status(const JobReport&)>& finish) {
  const Status valid = ValidateJob(spec);
  if (options.backend == Backend::kInProcess) {
    if (!valid.ok()) return Failed(valid);
    if (options.workers < 1) return Failed(Status::InvalidArgument("--workers must be >= 1"));
    return LaunchInProcess(spec, options.workers, finish);
  }
#if CRPSGD_WITH_MPI
  return LaunchOnMpiRanks(spec, options, valid, finish);
#else
  return Failed(Status::InvalidArgument("--backend mpi: this build has no MPI support (CRPSGD_WITH_MPI=OFF)"));
#endif
}

}  // namespace crpsgd
