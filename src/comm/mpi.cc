// The mpi backend over OpenMPI.
//
// The ordered all-reduce is a reduce-scatter followed by an allgather, written
// with point-to-point messages: rank k receives chunk k of every rank's buffer,
// sums the chunks in rank order 0..N-1 with the same kernel as the inproc
// backend (AddInto), and the reduced chunks are sent back. Each rank sends and
// receives 2(N-1)/N of the buffer, as in a ring all-reduce, and the result is
// bit-identical to the inproc backend.
//
// Every collective is started non-blocking and completed by polling with a
// deadline (--mpi-timeout), so a peer that died, hung or became unreachable
// ends the call with Status::Unavailable naming that peer and its host,
// instead of a hang.
#include <mpi.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
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

#define CRPSGD_MPI_CALL(call)                                                  \
  do {                                                                         \
    const int crpsgd_mpi_rc_ = (call);                                         \
    if (crpsgd_mpi_rc_ != MPI_SUCCESS) return MpiError(#call, crpsgd_mpi_rc_); \
  } while (0)

// The process's exit code when the watchdog gives up on a peer: crpsgd's
// "a worker was lost" (docs/errors.md; the tool's kExitWorkerLost).
constexpr int kLostPeerExitCode = 5;

// Ends the process from a thread of its own (which makes no MPI calls) when a
// blocking MPI call has not returned by its deadline: a peer died or stopped
// answering. Used around calls that cannot be polled (the native
// MPI_Allreduce, whose non-blocking twin is much slower), and as the last line
// of defence around the polled ones, should an MPI call block where it should
// not. mpirun sees the exit and ends the other ranks.
class CollectiveWatchdog {
 public:
  // No thread when disabled (no deadline can be armed: every call may wait forever).
  CollectiveWatchdog(int rank, std::string host, bool enabled) : rank_(rank), host_(std::move(host)) {
    if (enabled) thread_ = std::thread([this] { Watch(); });
  }
  ~CollectiveWatchdog() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  // Arms the watchdog for one call; a zero limit waits forever. `round` > 0:
  // the call is that training round's all-reduce and `limit` its deadline
  // (--round-timeout); 0: any call under --mpi-timeout.
  void Enter(std::chrono::milliseconds limit, std::uint64_t round = 0) {
    limit_ms_.store(limit.count(), std::memory_order_relaxed);
    round_.store(round, std::memory_order_relaxed);
    deadline_ms_.store(limit.count() > 0 ? Now() + limit.count() : 0, std::memory_order_relaxed);
  }
  void Leave() { deadline_ms_.store(0, std::memory_order_relaxed); }

 private:
  static std::int64_t Now() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
  void Watch() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!wake_.wait_for(lock, std::chrono::milliseconds(250), [this] { return stop_; })) {
      const std::int64_t deadline = deadline_ms_.load(std::memory_order_relaxed);
      if (deadline == 0 || Now() < deadline) continue;
      const double seconds = static_cast<double>(limit_ms_.load(std::memory_order_relaxed)) / 1000.0;
      const std::uint64_t round = round_.load(std::memory_order_relaxed);
      if (round > 0) {  // the ordered reduction's message, less the rank it can name
        std::fprintf(stderr,
                     "crpsgd: error: rank %d (host %s): a rank stopped answering: round %llu has waited %g s for "
                     "them (--round-timeout; --mpi-reduction native cannot name it, ordered does); the last round "
                     "every rank completed is %llu (resume from the checkpoint on the ranks that answer)\n",
                     rank_, host_.c_str(), static_cast<unsigned long long>(round), seconds,
                     static_cast<unsigned long long>(round - 1));
      } else {
        std::fprintf(stderr,
                     "crpsgd: error: rank %d: an MPI call has not returned for %g s: a peer died, stopped "
                     "answering or is unreachable (--mpi-timeout); ending the job\n",
                     rank_, seconds);
      }
      std::fflush(stderr);
      std::_Exit(kLostPeerExitCode);
    }
  }
  const int rank_;
  const std::string host_;
  std::atomic<std::int64_t> deadline_ms_{0};
  std::atomic<std::int64_t> limit_ms_{0};
  std::atomic<std::uint64_t> round_{0};
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread thread_;
};

// Tags of the point-to-point messages of the ordered all-reduce.
constexpr int kReduceScatterTag = 7101;
constexpr int kAllgatherTag = 7102;

class MpiCommunicator final : public Communicator {
 public:
  MpiCommunicator(MPI_Comm comm, int rank, int size, MpiReduction reduction, std::chrono::seconds timeout,
                  std::vector<std::string> host_of_rank, int machines)
      : Communicator(rank, size),
        comm_(comm),
        reduction_(reduction),
        timeout_(timeout),
        host_of_rank_(std::move(host_of_rank)),
        machines_(machines),
        chunk_begin_(size + 1),
        // A round's deadline may arm it under the native reduction without --mpi-timeout.
        watchdog_(rank, host_of_rank_[rank], /*enabled=*/timeout.count() > 0 || reduction == MpiReduction::kNative) {
    requests_.reserve(2 * size);
    request_peer_.reserve(2 * size);
  }
  ~MpiCommunicator() override {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Comm_free(&comm_);
  }
  const char* backend_name() const override { return "mpi"; }
  int machines() const override { return machines_; }

 private:
  // Arms the watchdog around a collective, disarms it on every path out.
  struct Watched {
    Watched(CollectiveWatchdog& w, std::chrono::milliseconds limit, std::uint64_t round = 0) : watchdog(w) {
      watchdog.Enter(limit, round);
    }
    ~Watched() { watchdog.Leave(); }
    CollectiveWatchdog& watchdog;
  };
  // For polled calls, which notice their own deadline: the watchdog only
  // catches an MPI call that blocks.
  std::chrono::seconds Backstop() const {
    return timeout_.count() > 0 ? 2 * timeout_ + std::chrono::seconds(30) : std::chrono::seconds(0);
  }

  Status DoAllreduceSum(std::span<std::byte> data, DataType type) override {
    if (data.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
      return Status::InvalidArgument("all-reduce of " + std::to_string(data.size()) + " bytes exceeds MPI's int count");
    }
    const MPI_Datatype mpi_type = type == DataType::kFloat64 ? MPI_DOUBLE : MPI_FLOAT;
    const std::size_t elem = DataTypeSize(type);
    const std::size_t count = data.size() / elem;
    if (reduction_ == MpiReduction::kNative && (type == DataType::kFloat64 || type == DataType::kFloat32)) {
      // MPI_Allreduce cannot be polled: the watchdog keeps the round's deadline, or --mpi-timeout's.
      const std::chrono::milliseconds round = round_deadline();
      const bool by_round = round.count() > 0 && (timeout_.count() == 0 || round < timeout_);
      const Watched watched(watchdog_, by_round ? round : std::chrono::milliseconds(timeout_),
                            by_round ? round_in_progress() : 0);
      CRPSGD_MPI_CALL(MPI_Allreduce(MPI_IN_PLACE, data.data(), static_cast<int>(count), mpi_type, MPI_SUM, comm_));
      return Status::OK();
    }
    const Watched watched(watchdog_, Backstop());
    // Reduce-scatter: rank k receives chunk k of every peer's buffer and sums
    // the chunks in rank order; allgather: every rank receives each reduced
    // chunk from its owner. Point-to-point messages (rather than
    // MPI_Alltoallv/MPI_Allgatherv) so that a peer that never delivers can be
    // named when the deadline passes.
    const int n = size();
    const int me = rank();
    for (int k = 0; k <= n; ++k) chunk_begin_[k] = count * k / n * elem;
    const auto chunk_bytes = [&](int k) { return static_cast<int>(chunk_begin_[k + 1] - chunk_begin_[k]); };
    const int mine = chunk_bytes(me);
    const std::size_t needed = static_cast<std::size_t>(mine) * n;
    if (scratch_.size() < needed) scratch_.resize(needed);  // grows once, then reused
    std::byte* base = data.data();
    StartRequests();
    for (int k = 0; k < n; ++k) {
      if (k == me) continue;
      CRPSGD_MPI_CALL(MPI_Irecv(scratch_.data() + static_cast<std::size_t>(k) * mine, mine, MPI_BYTE, k,
                                kReduceScatterTag, comm_, AddRequest(k)));
    }
    for (int k = 0; k < n; ++k) {
      if (k == me) continue;
      CRPSGD_MPI_CALL(
          MPI_Isend(base + chunk_begin_[k], chunk_bytes(k), MPI_BYTE, k, kReduceScatterTag, comm_, AddRequest(-1)));
    }
    if (const Status s = WaitAll("an all-reduce"); !s.ok()) return s;
    // Sum in rank order 0..N-1 with the kernel every backend uses, into rank
    // 0's chunk (this rank's own on rank 0, slot 0 of scratch elsewhere).
    std::byte* own = base + chunk_begin_[me];
    std::byte* acc = me == 0 ? own : scratch_.data();
    sources_.resize(static_cast<std::size_t>(n));
    for (int k = 0; k < n; ++k) {
      sources_[static_cast<std::size_t>(k)] = k == me ? own : scratch_.data() + static_cast<std::size_t>(k) * mine;
    }
    ReduceChunk(acc, sources_, mine / elem, type);
    if (acc != own) std::memcpy(own, acc, mine);
    StartRequests();
    for (int k = 0; k < n; ++k) {
      if (k == me) continue;
      CRPSGD_MPI_CALL(
          MPI_Irecv(base + chunk_begin_[k], chunk_bytes(k), MPI_BYTE, k, kAllgatherTag, comm_, AddRequest(k)));
    }
    for (int k = 0; k < n; ++k) {
      if (k == me) continue;
      CRPSGD_MPI_CALL(MPI_Isend(own, mine, MPI_BYTE, k, kAllgatherTag, comm_, AddRequest(-1)));
    }
    return WaitAll("an all-reduce");
  }

  Status DoBroadcast(std::span<std::byte> data, int root) override {
    const Watched watched(watchdog_, Backstop());
    if (data.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
      return Status::InvalidArgument("broadcast of " + std::to_string(data.size()) + " bytes exceeds MPI's int count");
    }
    StartRequests();
    CRPSGD_MPI_CALL(MPI_Ibcast(data.data(), static_cast<int>(data.size()), MPI_BYTE, root, comm_, AddRequest(-1)));
    return WaitAll("a broadcast");
  }

  Status DoBarrier() override {
    const Watched watched(watchdog_, Backstop());
    StartRequests();
    CRPSGD_MPI_CALL(MPI_Ibarrier(comm_, AddRequest(-1)));
    return WaitAll("a barrier");
  }

  void StartRequests() {
    requests_.clear();
    request_peer_.clear();
  }
  // A request slot; `peer` is the rank it receives from (-1: a send or a collective).
  MPI_Request* AddRequest(int peer) {
    requests_.push_back(MPI_REQUEST_NULL);
    request_peer_.push_back(peer);
    return &requests_.back();  // capacity reserved for 2N: never reallocates
  }

  // Progresses the pending requests until all complete or the deadline passes.
  // Polling MPI_Testall is what a blocking call does inside MPI; doing it here
  // lets a deadline name the peers whose messages never came.
  // A round's deadline (--round-timeout) where it comes before --mpi-timeout.
  Status WaitAll(const char* what) {
    const auto start = std::chrono::steady_clock::now();
    const std::chrono::milliseconds round = round_deadline();
    const bool by_round = round.count() > 0 && (timeout_.count() == 0 || round < timeout_);
    const std::chrono::milliseconds limit = by_round ? round : std::chrono::milliseconds(timeout_);
    for (std::uint64_t polls = 0;; ++polls) {
      int done = 0;
      CRPSGD_MPI_CALL(MPI_Testall(static_cast<int>(requests_.size()), requests_.data(), &done, MPI_STATUSES_IGNORE));
      if (done) return Status::OK();
      if (limit.count() == 0 || polls % 256 != 0) continue;
      if (std::chrono::steady_clock::now() - start >= limit) return by_round ? RoundSilence(limit) : Silence(what);
    }
  }

  // The ranks whose messages of the pending requests never came: "2 (host h), 3 (host h)".
  std::string SilentPeers() {
    std::string silent;
    for (std::size_t i = 0; i < requests_.size(); ++i) {
      const int peer = request_peer_[i];
      if (peer < 0 || requests_[i] == MPI_REQUEST_NULL) continue;
      int done = 0;
      MPI_Test(&requests_[i], &done, MPI_STATUS_IGNORE);
      if (done) continue;
      silent += (silent.empty() ? "" : ", ") + std::to_string(peer) + " (host " + host_of_rank_[peer] + ")";
    }
    return silent;
  }

  Status RoundSilence(std::chrono::milliseconds limit) {
    std::ostringstream os;
    os << "rank " << rank() << " (host " << host_of_rank_[rank()] << "): ";
    const std::string silent = SilentPeers();
    os << (silent.empty() ? std::string("the other ranks") : "rank " + silent) << " stopped answering: round "
       << round_in_progress() << " has waited " << std::chrono::duration<double>(limit).count()
       << " s for them (--round-timeout); the last round every rank completed is " << round_in_progress() - 1
       << " (resume from the checkpoint on the ranks that answer)";
    return Status::Unavailable(os.str());
  }

  Status Silence(const char* what) {
    const std::string silent = SilentPeers();
    const std::string seconds = std::to_string(timeout_.count());
    if (silent.empty()) {
      return Status::Unavailable("rank " + std::to_string(rank()) + ": " + what + " has waited " + seconds +
                                 " s for the other ranks: one of them died, stopped answering or is unreachable "
                                 "(--mpi-timeout)");
    }
    return Status::Unavailable("rank " + std::to_string(rank()) + " (host " + host_of_rank_[rank()] +
                               "): no data from rank " + silent + " for " + seconds + " s in " + what +
                               ": it died, stopped answering or is unreachable (--mpi-timeout)");
  }

  MPI_Comm comm_;
  std::vector<const std::byte*> sources_;  // the chunks this rank reduces, in rank order
  MpiReduction reduction_;
  std::chrono::seconds timeout_;
  std::vector<std::string> host_of_rank_;  // MPI_Get_processor_name of each rank, for messages
  int machines_;                           // distinct (host name, network namespace) pairs
  std::vector<std::size_t> chunk_begin_;   // byte offset of each rank's chunk, and the end
  std::vector<MPI_Request> requests_;
  std::vector<int> request_peer_;
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
  // SERIALIZED: --overlap's exchange calls MPI from a thread of its own,
  // never while another thread does (background_exchange.h).
  int provided = 0;
  if (!initialized) MPI_Init_thread(argc, argv, MPI_THREAD_SERIALIZED, &provided);
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

bool MpiSession::ThreadsSerialized() {
  int provided = MPI_THREAD_SINGLE;
  MPI_Query_thread(&provided);
  return provided >= MPI_THREAD_SERIALIZED;
}

void MpiSession::AbortJob(int exit_code) {
  MPI_Abort(MPI_COMM_WORLD, exit_code);
  std::_Exit(exit_code);
}

namespace {
// The inode of this process's network namespace (Linux); 0 where unknown.
std::uint64_t NetworkNamespaceId() {
  struct stat info {};
  if (stat("/proc/self/ns/net", &info) != 0) return 0;
  return static_cast<std::uint64_t>(info.st_ino);
}
}  // namespace

Result<std::unique_ptr<Communicator>> MakeMpiCommunicator(MpiReduction reduction, std::chrono::seconds timeout) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized)
    return Status::Internal("MakeMpiCommunicator(): MPI is not initialised (create an MpiSession first)");
  MPI_Comm comm;
  CRPSGD_MPI_CALL(MPI_Comm_dup(MPI_COMM_WORLD, &comm));
  CRPSGD_MPI_CALL(MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN));
  int rank = 0, size = 1;
  CRPSGD_MPI_CALL(MPI_Comm_rank(comm, &rank));
  CRPSGD_MPI_CALL(MPI_Comm_size(comm, &size));
  // Every rank's host name, so that a timeout can say where a silent peer runs.
  std::vector<char> names(static_cast<std::size_t>(size) * MPI_MAX_PROCESSOR_NAME, '\0');
  char own[MPI_MAX_PROCESSOR_NAME] = {};
  int length = 0;
  CRPSGD_MPI_CALL(MPI_Get_processor_name(own, &length));
  CRPSGD_MPI_CALL(
      MPI_Allgather(own, MPI_MAX_PROCESSOR_NAME, MPI_CHAR, names.data(), MPI_MAX_PROCESSOR_NAME, MPI_CHAR, comm));
  std::vector<std::string> hosts;
  for (int r = 0; r < size; ++r) {
    const char* name = names.data() + static_cast<std::size_t>(r) * MPI_MAX_PROCESSOR_NAME;
    hosts.emplace_back(name, strnlen(name, MPI_MAX_PROCESSOR_NAME));
  }
  // A machine is a host name and a network namespace: namespaces on one host
  // (scripts/testcluster) talk over a network, not through memory.
  std::uint64_t own_namespace = NetworkNamespaceId();
  std::vector<std::uint64_t> namespaces(static_cast<std::size_t>(size), 0);
  CRPSGD_MPI_CALL(MPI_Allgather(&own_namespace, 1, MPI_UINT64_T, namespaces.data(), 1, MPI_UINT64_T, comm));
  std::set<std::pair<std::string, std::uint64_t>> machines;
  for (int r = 0; r < size; ++r) machines.emplace(hosts[r], namespaces[r]);
  return std::unique_ptr<Communicator>(
      new MpiCommunicator(comm, rank, size, reduction, timeout, std::move(hosts), static_cast<int>(machines.size())));
}

}  // namespace crpsgd
