// The inproc backend: a group of N threads that meet at a barrier.
//
// An all-reduce is two barrier phases: every worker publishes a pointer to its
// buffer; worker r sums chunk r of all buffers in rank order into a shared
// scratch buffer; after the second barrier every worker copies the result out.
// The next call's first barrier guarantees nobody still reads the scratch.
#include <condition_variable>
#include <cstring>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "crpsgd/inproc.h"

namespace crpsgd {
namespace {

class InprocGroup {
 public:
  InprocGroup(int size, std::chrono::milliseconds timeout)
      : slots_(size), slot_bytes_(size), size_(size), timeout_(timeout) {}

  int size() const { return size_; }

  // Blocks until all workers arrive. `on_complete` runs once, under the lock,
  // by the last worker to arrive, before anyone is released.
  template <class F>
  Status Wait(int rank, F&& on_complete) {
    std::unique_lock lock(mu_);
    if (aborted_) return AbortedStatus();
    const std::uint64_t generation = generation_;
    if (++arrived_ == size_) {
      arrived_ = 0;
      Status status = on_complete();
      if (!status.ok()) {
        AbortLocked(rank, status);
        return status;
      }
      ++generation_;
      cv_.notify_all();
      return Status::OK();
    }
    const bool released = cv_.wait_for(lock, timeout_, [&] { return generation_ != generation || aborted_; });
    if (aborted_) return AbortedStatus();
    if (!released) {
      Status status = Status::Unavailable("worker " + std::to_string(rank) + " waited " +
                                          std::to_string(std::chrono::duration<double>(timeout_).count()) +
                                          " s for its peers at a collective; a worker stopped answering");
      AbortLocked(rank, status);
      return status;
    }
    return Status::OK();
  }
  Status Wait(int rank) {
    return Wait(rank, [] { return Status::OK(); });
  }

  void Abort(int rank, const Status& why) {
    std::lock_guard lock(mu_);
    AbortLocked(rank, why);
  }

  std::optional<int> first_failed_rank() {
    std::lock_guard lock(mu_);
    return first_failed_rank_;
  }

  // Shared state of the collective in progress. Written only between barriers.
  std::vector<std::byte*> slots_;
  std::vector<std::size_t> slot_bytes_;
  std::vector<std::byte> scratch_;

 private:
  void AbortLocked(int rank, const Status& why) {
    if (aborted_) return;
    aborted_ = true;
    first_failed_rank_ = rank;
    abort_reason_ = why.message();
    cv_.notify_all();
  }
  Status AbortedStatus() const {
    return Status::Unavailable("worker " + std::to_string(*first_failed_rank_) + " failed, so the group was aborted (" +
                               abort_reason_ + ")");
  }

  const int size_;
  const std::chrono::milliseconds timeout_;
  std::mutex mu_;
  std::condition_variable cv_;
  int arrived_ = 0;
  std::uint64_t generation_ = 0;
  bool aborted_ = false;
  std::optional<int> first_failed_rank_;
  std::string abort_reason_;
};

class InprocCommunicator final : public Communicator {
 public:
  InprocCommunicator(InprocGroup& group, int rank) : Communicator(rank, group.size()), group_(group) {}
  const char* backend_name() const override { return "inproc"; }

 private:
  Status DoAllreduceSum(std::span<std::byte> data, DataType type) override {
    const int n = size();
    group_.slots_[rank()] = data.data();
    group_.slot_bytes_[rank()] = data.size();
    CRPSGD_RETURN_IF_ERROR(group_.Wait(rank(), [&] {
      for (int r = 0; r < n; ++r) {
        if (group_.slot_bytes_[r] != data.size()) {
          return Status::Internal("all-reduce called with buffers of different lengths on different workers");
        }
      }
      if (group_.scratch_.size() < data.size()) group_.scratch_.resize(data.size());
      return Status::OK();
    }));
    // Phase 2: this worker reduces its chunk, in rank order.
    const std::size_t elem = DataTypeSize(type);
    const std::size_t count = data.size() / elem;
    const std::size_t begin = count * rank() / n;
    const std::size_t end = count * (rank() + 1) / n;
    if (end > begin) {
      sources_.resize(static_cast<std::size_t>(n));
      for (int r = 0; r < n; ++r) sources_[static_cast<std::size_t>(r)] = group_.slots_[r] + begin * elem;
      ReduceChunk(group_.scratch_.data() + begin * elem, sources_, end - begin, type);
    }
    CRPSGD_RETURN_IF_ERROR(group_.Wait(rank()));
    std::memcpy(data.data(), group_.scratch_.data(), data.size());
    return Status::OK();
  }

  Status DoBroadcast(std::span<std::byte> data, int root) override {
    group_.slots_[rank()] = data.data();
    group_.slot_bytes_[rank()] = data.size();
    CRPSGD_RETURN_IF_ERROR(group_.Wait(rank(), [&] {
      for (int r = 0; r < size(); ++r) {
        if (group_.slot_bytes_[r] != data.size()) {
          return Status::Internal("broadcast called with buffers of different lengths on different workers");
        }
      }
      return Status::OK();
    }));
    if (rank() != root) std::memcpy(data.data(), group_.slots_[root], data.size());
    // The root must not touch its buffer until every copy is done.
    return group_.Wait(rank());
  }

  Status DoBarrier() override { return group_.Wait(rank()); }

  InprocGroup& group_;
  std::vector<const std::byte*> sources_;  // this worker's chunk of each buffer, in rank order
};

}  // namespace

Status RunInProcess(int workers, const std::function<Status(Communicator&)>& worker, const InprocOptions& options) {
  if (workers < 1)
    return Status::InvalidArgument("RunInProcess(): workers must be >= 1, got " + std::to_string(workers));
  InprocGroup group(workers, options.timeout);
  std::vector<Status> statuses(workers);
  std::vector<std::thread> threads;
  threads.reserve(workers);
  for (int r = 0; r < workers; ++r) {
    threads.emplace_back([&, r] {
      InprocCommunicator comm(group, r);
      Status status;
      try {
        status = worker(comm);
      } catch (const std::exception& e) {
        status = Status::Internal("worker " + std::to_string(r) + " threw: " + e.what());
      } catch (...) {
        status = Status::Internal("worker " + std::to_string(r) + " threw an unknown exception");
      }
      if (!status.ok()) group.Abort(r, status);
      statuses[r] = std::move(status);
    });
  }
  for (auto& t : threads) t.join();
  if (auto failed = group.first_failed_rank()) return statuses[*failed];
  return Status::OK();
}

}  // namespace crpsgd
