// Threads that meet at a barrier and share the buffers of the collective in
// progress: the inproc backend's workers, and the plan workers a host runs
// (hosted.h). A thread that fails aborts the group, so that the others'
// waits return Unavailable instead of waiting forever.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "crpsgd/status.h"

namespace crpsgd::internal {

class ThreadGroup {
 public:
  // `timeout`: how long a Wait may wait for the others; zero: no limit.
  ThreadGroup(int size, std::chrono::milliseconds timeout)
      : slots_(static_cast<std::size_t>(size)),
        slot_bytes_(static_cast<std::size_t>(size)),
        size_(size),
        timeout_(timeout) {}

  int size() const { return size_; }

  // Blocks until all threads arrive. `on_complete` runs once, under the lock,
  // by the last thread to arrive, before anyone is released. `rank` names the
  // waiting thread in messages.
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
    const auto released = [&] { return generation_ != generation || aborted_; };
    if (timeout_.count() == 0) {
      cv_.wait(lock, released);
    } else if (!cv_.wait_for(lock, timeout_, released)) {
      Status status = Status::Unavailable("worker " + std::to_string(rank) + " waited " +
                                          std::to_string(std::chrono::duration<double>(timeout_).count()) +
                                          " s for its peers at a collective; a worker stopped answering");
      AbortLocked(rank, status);
      return status;
    }
    if (aborted_) return AbortedStatus();
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

  // Shared state of the collective in progress, by thread index. Written
  // only between barriers.
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

// Runs body(i) for every thread index i of `group`, each on a thread of its
// own, or index 0 on the calling thread with `first_on_caller` (an MPI
// process whose other threads must not call MPI). ranks[i] names thread i in
// messages and in Abort. A body that fails or throws aborts the group; the
// result is the status of the one that failed first, OK when none did.
Status RunOnThreads(ThreadGroup& group, std::span<const int> ranks, bool first_on_caller,
                    const std::function<Status(int index)>& body);

}  // namespace crpsgd::internal
