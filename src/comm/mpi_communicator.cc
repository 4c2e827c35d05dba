// The mpi backend over OpenMPI.
//
// The ordered all-reduce is a reduce-scatter followed by an allgather, written
// with MPI_Alltoallv and MPI_Allgatherv: rank k receives chunk k of every
// rank's buffer, sums the chunks in rank order 0..N-1 with the same kernel as
// the inproc backend (AddInto), and the reduced chunks are gathered back. Each
// rank sends and receives 2(N-1)/N of the buffer, as in a ring all-reduce, and
// the result is bit-identical to the inproc backend.
#include <mpi.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <mutex>
#include <thread>
#include <vector>

#include "crpsgd/mpi.h"

namespace crpsgd {
namespace {

Status MpiError(const char* what, int code) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  return Status::Unavailable(std::string(what) + " failed: " + std::string(text, length));
}

#define CRPSGD_MPI_CALL(call)                              \
  do {                                                     \
    const int crpsgd_mpi_rc_ = (call);                     \
    if (crpsgd_mpi_rc_ != MPI_SUCCESS) return MpiError(#call, crpsgd_mpi_rc_); \
  } while (0)

// Watches the collectives of one rank from a thread of its own (which makes no
// MPI calls): if one waits longer than the timeout, a peer has died or stopped
// answering, and this process ends; mpirun then ends the whole job.
class CollectiveWatchdog {
 public:
  CollectiveWatchdog(int rank, std::chrono::seconds timeout) : rank_(rank), timeout_(timeout) {
    if (timeout_.count() > 0) thread_ = std::thread([this] { Watch(); });
  }
  ~CollectiveWatchdog() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  // Marks the span of one collective call.
  void Enter() { since_.store(Now(), std::memory_order_relaxed); }
  void Leave() { since_.store(0, std::memory_order_relaxed); }

 private:
  static std::int64_t Now() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
  void Watch() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!wake_.wait_for(lock, std::chrono::milliseconds(250), [this] { return stop_; })) {
      const std::int64_t since = since_.load(std::memory_order_relaxed);
      if (since == 0 || Now() - since < timeout_.count() * 1000) continue;
      std::fprintf(stderr,
                   "crpsgd: error: rank %d: a collective has waited %lld s for the other ranks: one of them died "
                   "or stopped answering (--mpi-timeout); ending the job\n",
                   rank_, static_cast<long long>(timeout_.count()));
      std::fflush(stderr);
      std::_Exit(1);  // no MPI call from this thread; mpirun sees the exit and ends the other ranks
    }
  }
  const int rank_;
  const std::chrono::seconds timeout_;
  std::atomic<std::int64_t> since_{0};
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread thread_;
};

class MpiCommunicator final : public Communicator {
 public:
  MpiCommunicator(MPI_Comm comm, int rank, int size, MpiReduction reduction, std::chrono::seconds timeout)
      : Communicator(rank, size), comm_(comm), reduction_(reduction),
        send_counts_(size), send_displs_(size), recv_counts_(size), recv_displs_(size), watchdog_(rank, timeout) {}
  ~MpiCommunicator() override {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Comm_free(&comm_);
  }
  const char* backend_name() const override { return "mpi"; }

 private:
  // Enter()/Leave() around a collective, on every path out.
  struct Watched {
    explicit Watched(CollectiveWatchdog& w) : watchdog(w) { watchdog.Enter(); }
    ~Watched() { watchdog.Leave(); }
    CollectiveWatchdog& watchdog;
  };

  Status DoAllreduceSum(std::span<std::byte> data, DataType type) override {
    const Watched watched(watchdog_);
    if (data.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
      return Status::InvalidArgument("all-reduce of " + std::to_string(data.size()) + " bytes exceeds MPI's int count");
    }
    const MPI_Datatype mpi_type = type == DataType::kFloat64 ? MPI_DOUBLE : MPI_FLOAT;
    const std::size_t elem = DataTypeSize(type);
    const int count = static_cast<int>(data.size() / elem);
    if (reduction_ == MpiReduction::kNative) {
      CRPSGD_MPI_CALL(MPI_Allreduce(MPI_IN_PLACE, data.data(), count, mpi_type, MPI_SUM, comm_));
      return Status::OK();
    }
    const int n = size();
    for (int k = 0; k < n; ++k) {
      const std::size_t begin = static_cast<std::size_t>(count) * k / n;
      const std::size_t end = static_cast<std::size_t>(count) * (k + 1) / n;
      send_counts_[k] = static_cast<int>((end - begin) * elem);
      send_displs_[k] = static_cast<int>(begin * elem);
    }
    const int mine = send_counts_[rank()];
    for (int k = 0; k < n; ++k) {
      recv_counts_[k] = mine;
      recv_displs_[k] = k * mine;
    }
    const std::size_t needed = static_cast<std::size_t>(mine) * n;
    if (scratch_.size() < needed) scratch_.resize(needed);  // grows once, then reused
    CRPSGD_MPI_CALL(MPI_Alltoallv(data.data(), send_counts_.data(), send_displs_.data(), MPI_BYTE,
                                  scratch_.data(), recv_counts_.data(), recv_displs_.data(), MPI_BYTE, comm_));
    std::byte* acc = scratch_.data();
    for (int k = 1; k < n; ++k) AddInto(acc, scratch_.data() + static_cast<std::size_t>(k) * mine, mine / elem, type);
    std::memcpy(data.data() + send_displs_[rank()], acc, mine);
    CRPSGD_MPI_CALL(MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, data.data(), send_counts_.data(),
                                   send_displs_.data(), MPI_BYTE, comm_));
    return Status::OK();
  }

  Status DoBroadcast(std::span<std::byte> data, int root) override {
    const Watched watched(watchdog_);
    if (data.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
      return Status::InvalidArgument("broadcast of " + std::to_string(data.size()) + " bytes exceeds MPI's int count");
    }
    CRPSGD_MPI_CALL(MPI_Bcast(data.data(), static_cast<int>(data.size()), MPI_BYTE, root, comm_));
    return Status::OK();
  }

  Status DoBarrier() override {
    const Watched watched(watchdog_);
    CRPSGD_MPI_CALL(MPI_Barrier(comm_));
    return Status::OK();
  }

  MPI_Comm comm_;
  MpiReduction reduction_;
  std::vector<int> send_counts_, send_displs_, recv_counts_, recv_displs_;
  std::vector<std::byte> scratch_;
  CollectiveWatchdog watchdog_;
};

}  // namespace

bool LaunchedByMpirun() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"}) {
    if (std::getenv(name) != nullptr) return true;
  }
  return false;
}

MpiSession::MpiSession(int* argc, char*** argv) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) MPI_Init(argc, argv);
}

MpiSession::~MpiSession() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

int MpiSession::world_rank() const {
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  return rank;
}

int MpiSession::world_size() const {
  int size = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  return size;
}

void MpiSession::AbortJob(int exit_code) {
  MPI_Abort(MPI_COMM_WORLD, exit_code);
  std::_Exit(exit_code);
}

Result<std::unique_ptr<Communicator>> MakeMpiCommunicator(MpiReduction reduction, std::chrono::seconds timeout) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) return Status::Internal("MakeMpiCommunicator(): MPI is not initialised (create an MpiSession first)");
  MPI_Comm comm;
  CRPSGD_MPI_CALL(MPI_Comm_dup(MPI_COMM_WORLD, &comm));
  CRPSGD_MPI_CALL(MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN));
  int rank = 0, size = 1;
  CRPSGD_MPI_CALL(MPI_Comm_rank(comm, &rank));
  CRPSGD_MPI_CALL(MPI_Comm_size(comm, &size));
  return std::unique_ptr<Communicator>(new MpiCommunicator(comm, rank, size, reduction, timeout));
}

}  // namespace crpsgd
