// The inproc backend: a group of N threads that meet at a barrier.
//
// An all-reduce is two barrier phases: every worker publishes a pointer to its
// buffer; worker r sums chunk r of all buffers in rank order into a shared
// scratch buffer; after the second barrier every worker copies the result out.
// The next call's first barrier guarantees nobody still reads the scratch.
#include "crpsgd/inproc.h"

#include <cstring>
#include <exception>
#include <numeric>
#include <thread>
#include <vector>

#include "comm/thread_group.h"

namespace crpsgd {
namespace {

class InprocCommunicator final : public Communicator {
 public:
  InprocCommunicator(internal::ThreadGroup& group, int rank) : Communicator(rank, group.size()), group_(group) {}
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

  internal::ThreadGroup& group_;
  std::vector<const std::byte*> sources_;  // this worker's chunk of each buffer, in rank order
};

}  // namespace

Status RunInProcess(int workers, const std::function<Status(Communicator&)>& worker, const InprocOptions& options) {
  if (workers < 1)
    return Status::InvalidArgument("RunInProcess(): workers must be >= 1, got " + std::to_string(workers));
  internal::ThreadGroup group(workers, options.timeout);
  std::vector<int> ranks(static_cast<std::size_t>(workers));
  std::iota(ranks.begin(), ranks.end(), 0);
  return internal::RunOnThreads(group, ranks, /*first_on_caller=*/false, [&](int r) {
    InprocCommunicator comm(group, r);
    return worker(comm);
  });
}

namespace internal {

Status RunOnThreads(ThreadGroup& group, std::span<const int> ranks, bool first_on_caller,
                    const std::function<Status(int index)>& body) {
  const int size = group.size();
  std::vector<Status> statuses(static_cast<std::size_t>(size));
  const auto run = [&](int i) {
    const int rank = ranks[static_cast<std::size_t>(i)];
    Status status;
    try {
      status = body(i);
    } catch (const std::exception& e) {
      status = Status::Internal("worker " + std::to_string(rank) + " threw: " + e.what());
    } catch (...) {
      status = Status::Internal("worker " + std::to_string(rank) + " threw an unknown exception");
    }
    if (!status.ok()) group.Abort(rank, status);
    statuses[static_cast<std::size_t>(i)] = std::move(status);
  };
  std::vector<std::thread> threads;
  threads.reserve(static_cast<std::size_t>(size));
  for (int i = first_on_caller ? 1 : 0; i < size; ++i) threads.emplace_back(run, i);
  if (first_on_caller) run(0);
  for (auto& t : threads) t.join();
  if (const std::optional<int> failed = group.first_failed_rank()) {
    for (int i = 0; i < size; ++i) {
      if (ranks[static_cast<std::size_t>(i)] == *failed) return statuses[static_cast<std::size_t>(i)];
    }
  }
  return Status::OK();
}

}  // namespace internal
}  // namespace crpsgd
