// A complete distributed run with the library alone, as `crpsgd train` does it:
// every MPI rank reads only its byte range of a LIBSVM file, builds
// L2-regularised logistic regression on it from the objective registry, and
// trains with CR-PSGD at the safe step 1/(L̂ + L̄/b); rank 0 writes
// metrics.jsonl (one line per round) and summary.json.
//
//   mpirun -np 2 ./distributed_train /usr/share/doc/liblinear-tools/examples/heart_scale out
//
// Exits 1 with one message when the data cannot be read or training fails.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "crpsgd/crpsgd.h"
#include "crpsgd/mpi.h"

namespace {

constexpr std::uint64_t kSeed = 1;

crpsgd::Status TrainOnThisRank(crpsgd::Communicator& comm, const crpsgd::DataOptions& data,
                               crpsgd::Result<crpsgd::LoadedData>& loaded, const std::filesystem::path& out) {
  // The ranks agree on the model's width and that every part was read.
  bool print_here = false;
  if (crpsgd::Status agreed = crpsgd::AgreeOnParts(comm, data, loaded, &print_here); !agreed.ok()) {
    return print_here ? agreed : crpsgd::Status(agreed.code(), "");  // one rank says it
  }
  CRPSGD_ASSIGN_OR_RETURN(const crpsgd::WorkerShard shard,
                          crpsgd::ShardOf(*loaded, data, comm.rank(), comm.size(), kSeed));

  const crpsgd::ObjectiveRegistry registry = crpsgd::ObjectiveRegistry::WithLinearModels();
  crpsgd::ObjectiveSettings settings;
  settings.lambda = 1e-3;
  CRPSGD_ASSIGN_OR_RETURN(
      crpsgd::WorkerObjectives objectives,
      registry.Make("logreg", settings,
                    {shard.train, shard.test, loaded->num_classes, kSeed, comm.rank(), loaded->class_labels}));

  crpsgd::TrainOptions options;
  options.algorithm.kind = crpsgd::AlgorithmKind::kCrPsgd;
  options.algorithm.budget = 2000;  // T: samples per worker
  options.algorithm.params.Set("b1", 4);
  options.algorithm.params.Set("rho", 1.2);
  options.seed = kSeed;
  CRPSGD_ASSIGN_OR_RETURN(const crpsgd::SmoothnessEstimate smoothness,
                          crpsgd::EstimateLipschitz(*objectives.train, comm));
  options.algorithm.lr = crpsgd::SafeStep(smoothness, options.algorithm, comm.size());
  options.lipschitz = smoothness.value;

  std::unique_ptr<crpsgd::MetricsWriter> metrics;
  if (comm.rank() == 0) {
    std::error_code ec;
    std::filesystem::create_directories(out, ec);
    if (ec) return crpsgd::Status::IOError(out.string() + ": cannot create: " + ec.message());
    CRPSGD_ASSIGN_OR_RETURN(metrics, crpsgd::MetricsWriter::Open(out / "metrics.jsonl", std::nullopt));
    options.observers.push_back(metrics.get());
  }
  CRPSGD_ASSIGN_OR_RETURN(const crpsgd::RunSummary summary, crpsgd::Train(options, *objectives.train, comm));
  if (comm.rank() == 0) {
    CRPSGD_RETURN_IF_ERROR(crpsgd::WriteFileAtomic(out / "summary.json", crpsgd::FormatRunSummary(summary)));
    std::printf("%d workers, %llu rounds, %llu SFO per worker, loss %.6f at step %.4g\n", summary.workers,
                static_cast<unsigned long long>(summary.rounds),
                static_cast<unsigned long long>(summary.sfo_per_worker), summary.final_loss, options.algorithm.lr);
  }
  return crpsgd::Status::OK();
}

}  // namespace

int main(int argc, char** argv) {
  crpsgd::MpiSession session(&argc, &argv);
  if (argc != 3) {
    if (session.world_rank() == 0) std::fprintf(stderr, "usage: mpirun -np N %s DATA.libsvm OUT_FOLDER\n", argv[0]);
    return 2;
  }
  auto comm = crpsgd::MakeMpiCommunicator();
  if (!comm.ok()) {
    std::fprintf(stderr, "error: %s\n", comm.status().message().c_str());
    return 1;
  }
  crpsgd::DataOptions data;
  data.train = argv[1];
  data.sharding = crpsgd::Sharding::kByteRange;  // no rank holds the whole file
  data.labels = crpsgd::LabelTask::kBinary;      // logreg reads ±1 labels
  crpsgd::Result<crpsgd::LoadedData> loaded =
      crpsgd::LoadData(data, kSeed, {{session.world_rank()}, session.world_size()});
  const crpsgd::Status status = TrainOnThisRank(**comm, data, loaded, argv[2]);
  if (!status.ok() && !status.message().empty()) std::fprintf(stderr, "error: %s\n", status.message().c_str());
  return status.ok() ? 0 : 1;
}
