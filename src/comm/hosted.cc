// Hosted workers (hosted.h): the plan workers of one host meet at a barrier
// of their own; the first of them, on the host's calling thread, does the
// host's collectives between two such barriers.
#include "crpsgd/hosted.h"

#include <condition_variable>
#include <cstring>
#include <exception>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace crpsgd {
namespace {

// The plan workers of one host: their buffers and a barrier. The shared
// buffers are written only by the leader, between two barriers.
class HostedGroup {
 public:
  explicit HostedGroup(std::size_t size) : slots(size), slot_bytes(size), size_(size) {}

  // Blocks until every plan worker of the host arrives, or one has failed.
  Status Wait() {
    std::unique_lock lock(mu_);
    if (failed_) return AbortedStatus();
    const std::uint64_t generation = generation_;
    if (++arrived_ == size_) {
      arrived_ = 0;
      ++generation_;
      cv_.notify_all();
      return Status::OK();
    }
    cv_.wait(lock, [&] { return generation_ != generation || failed_; });
    return failed_ ? AbortedStatus() : Status::OK();
  }

  void Abort(int plan_rank, const Status& why) {
    std::lock_guard lock(mu_);
    if (failed_) return;
    failed_ = plan_rank;
    reason_ = why.message();
    cv_.notify_all();
  }
  std::optional<int> failed_plan_rank() {
    std::lock_guard lock(mu_);
    return failed_;
  }

  // The collective in progress: each plan worker's buffer, by local index.
  std::vector<std::byte*> slots;
  std::vector<std::size_t> slot_bytes;
  std::vector<std::byte> exchange;  // the plan's N buffers side by side, in plan-rank order
  std::vector<std::byte> result;

 private:
  Status AbortedStatus() const {
    return Status::Unavailable("plan worker " + std::to_string(*failed_) +
                               " failed, so the workers of its host stopped (" + reason_ + ")");
  }

  const std::size_t size_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::size_t arrived_ = 0;
  std::uint64_t generation_ = 0;
  std::optional<int> failed_;
  std::string reason_;
};

class HostedCommunicator final : public Communicator {
 public:
  HostedCommunicator(HostedGroup& group, const std::vector<int>& plan_ranks, std::size_t local, int plan_workers,
                     Communicator& host)
      : Communicator(plan_ranks[local], plan_workers),
        group_(group),
        plan_ranks_(plan_ranks),
        local_(local),
        host_(host) {}
  const char* backend_name() const override { return host_.backend_name(); }
  int machines() const override { return host_.machines(); }

 private:
  bool leader() const { return local_ == 0; }

  // Publishes this worker's buffer, lets the leader run `collective` once
  // every plan worker of the host has published, then waits for it.
  template <class Collective>
  Status Together(std::span<std::byte> data, Collective&& collective) {
    group_.slots[local_] = data.data();
    group_.slot_bytes[local_] = data.size();
    CRPSGD_RETURN_IF_ERROR(group_.Wait());
    if (leader()) {
      Status status = SameLengths(data.size());
      if (status.ok()) status = collective();
      if (!status.ok()) {
        group_.Abort(rank(), status);
        return status;
      }
    }
    return group_.Wait();
  }

  Status SameLengths(std::size_t bytes) const {
    for (const std::size_t b : group_.slot_bytes) {
      if (b != bytes) return Status::Internal("a collective called with buffers of different lengths on one host");
    }
    return Status::OK();
  }

  // Every plan worker's buffer on every host (their disjoint places or'ed
  // together, which is exact), then the plan's reduction in plan-rank order.
  Status DoAllreduceSum(std::span<std::byte> data, DataType type) override {
    const Status reduced = Together(data, [&] {
      const std::size_t bytes = data.size();
      group_.exchange.assign(bytes * static_cast<std::size_t>(size()), std::byte{0});
      for (std::size_t j = 0; j < plan_ranks_.size(); ++j) {
        std::memcpy(group_.exchange.data() + static_cast<std::size_t>(plan_ranks_[j]) * bytes, group_.slots[j], bytes);
      }
      CRPSGD_RETURN_IF_ERROR(ForwardAllreduceSum(host_, group_.exchange, DataType::kBytes));
      sources_.resize(static_cast<std::size_t>(size()));
      for (int v = 0; v < size(); ++v) {
        sources_[static_cast<std::size_t>(v)] = group_.exchange.data() + static_cast<std::size_t>(v) * bytes;
      }
      group_.result.resize(bytes);
      ReduceChunk(group_.result.data(), sources_, bytes / DataTypeSize(type), type);
      return Status::OK();
    });
    if (!reduced.ok()) return reduced;
    std::memcpy(data.data(), group_.result.data(), data.size());
    return Status::OK();
  }

  Status DoBroadcast(std::span<std::byte> data, int root) override {
    CRPSGD_RETURN_IF_ERROR(Together(data, [&] {
      group_.result.resize(data.size());
      const int root_host = root % host_.size();
      if (root_host == host_.rank()) {
        const std::size_t local = static_cast<std::size_t>(root / host_.size());  // HostedPlanRanks' order
        std::memcpy(group_.result.data(), group_.slots[local], data.size());
      }
      return ForwardBroadcast(host_, group_.result, root_host);
    }));
    std::memcpy(data.data(), group_.result.data(), data.size());
    return Status::OK();
  }

  Status DoBarrier() override {
    return Together({}, [&] { return ForwardBarrier(host_); });
  }

  HostedGroup& group_;
  const std::vector<int>& plan_ranks_;
  const std::size_t local_;
  Communicator& host_;
  std::vector<const std::byte*> sources_;  // the leader's: each plan worker's buffer in the exchange
};

}  // namespace

std::vector<int> HostedPlanRanks(int host, int hosts, int plan_workers) {
  std::vector<int> ranks;
  for (int v = host; v < std::max(plan_workers, hosts); v += hosts) ranks.push_back(v);
  return ranks;
}

Status RunHostedWorkers(Communicator& host, int plan_workers, const std::function<Status(Communicator&)>& worker) {
  if (plan_workers <= host.size()) return worker(host);
  const std::vector<int> ranks = HostedPlanRanks(host.rank(), host.size(), plan_workers);
  HostedGroup group(ranks.size());
  std::vector<Status> statuses(ranks.size());
  auto run = [&](std::size_t local) {
    HostedCommunicator comm(group, ranks, local, plan_workers, host);
    Status status;
    try {
      status = worker(comm);
    } catch (const std::exception& e) {
      status = Status::Internal("worker " + std::to_string(ranks[local]) + " threw: " + e.what());
    } catch (...) {
      status = Status::Internal("worker " + std::to_string(ranks[local]) + " threw an unknown exception");
    }
    if (!status.ok()) group.Abort(ranks[local], status);
    statuses[local] = std::move(status);
  };
  std::vector<std::thread> threads;
  for (std::size_t local = 1; local < ranks.size(); ++local) threads.emplace_back(run, local);
  run(0);
  for (std::thread& t : threads) t.join();
  if (const std::optional<int> failed = group.failed_plan_rank()) {
    for (std::size_t local = 0; local < ranks.size(); ++local) {
      if (ranks[local] == *failed) return statuses[local];
    }
  }
  return Status::OK();
}

}  // namespace crpsgd
