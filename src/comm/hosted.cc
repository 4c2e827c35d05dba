// Hosted workers (hosted.h): the plan workers of one host meet at a barrier
// of their own; the first of them, on the host's calling thread, does the
// host's collectives between two such barriers.
#include "crpsgd/hosted.h"

#include <chrono>
#include <cstring>
#include <string>

#include "comm/thread_group.h"

namespace crpsgd {
namespace {

class HostedCommunicator final : public Communicator {
 public:
  HostedCommunicator(internal::ThreadGroup& group, const std::vector<int>& plan_ranks, std::size_t local,
                     int plan_workers, Communicator& host)
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
    group_.slots_[local_] = data.data();
    group_.slot_bytes_[local_] = data.size();
    CRPSGD_RETURN_IF_ERROR(group_.Wait(rank()));
    if (leader()) {
      Status status = SameLengths(data.size());
      if (status.ok()) status = collective();
      if (!status.ok()) {
        group_.Abort(rank(), status);
        return status;
      }
    }
    return group_.Wait(rank());
  }

  Status SameLengths(std::size_t bytes) const {
    for (const std::size_t b : group_.slot_bytes_) {
      if (b != bytes) return Status::Internal("a collective called with buffers of different lengths on one host");
    }
    return Status::OK();
  }

  // Every plan worker's buffer on every host (their disjoint places or'ed
  // together, which is exact), then the plan's reduction in plan-rank order.
  Status DoAllreduceSum(std::span<std::byte> data, DataType type) override {
    const Status reduced = Together(data, [&] {
      const std::size_t bytes = data.size();
      exchange_.assign(bytes * static_cast<std::size_t>(size()), std::byte{0});
      for (std::size_t j = 0; j < plan_ranks_.size(); ++j) {
        std::memcpy(exchange_.data() + static_cast<std::size_t>(plan_ranks_[j]) * bytes, group_.slots_[j], bytes);
      }
      CRPSGD_RETURN_IF_ERROR(ForwardAllreduceSum(host_, exchange_, DataType::kBytes));
      sources_.resize(static_cast<std::size_t>(size()));
      for (int v = 0; v < size(); ++v) {
        sources_[static_cast<std::size_t>(v)] = exchange_.data() + static_cast<std::size_t>(v) * bytes;
      }
      group_.scratch_.resize(bytes);
      ReduceChunk(group_.scratch_.data(), sources_, bytes / DataTypeSize(type), type);
      return Status::OK();
    });
    if (!reduced.ok()) return reduced;
    std::memcpy(data.data(), group_.scratch_.data(), data.size());
    return Status::OK();
  }

  Status DoBroadcast(std::span<std::byte> data, int root) override {
    CRPSGD_RETURN_IF_ERROR(Together(data, [&] {
      group_.scratch_.resize(data.size());
      const int root_host = root % host_.size();
      if (root_host == host_.rank()) {
        const std::size_t local = static_cast<std::size_t>(root / host_.size());  // HostedPlanRanks' order
        std::memcpy(group_.scratch_.data(), group_.slots_[local], data.size());
      }
      return ForwardBroadcast(host_, group_.scratch_, root_host);
    }));
    std::memcpy(data.data(), group_.scratch_.data(), data.size());
    return Status::OK();
  }

  Status DoBarrier() override {
    return Together({}, [&] { return ForwardBarrier(host_); });
  }

  internal::ThreadGroup& group_;
  const std::vector<int>& plan_ranks_;
  const std::size_t local_;
  Communicator& host_;
  // The leader's: the plan's N buffers side by side in plan-rank order, and each one's place.
  std::vector<std::byte> exchange_;
  std::vector<const std::byte*> sources_;
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
  // No limit of its own on a wait: the leader's collectives on `host` keep the deadlines.
  internal::ThreadGroup group(static_cast<int>(ranks.size()), std::chrono::milliseconds(0));
  return internal::RunOnThreads(group, ranks, /*first_on_caller=*/true, [&](int local) {
    HostedCommunicator comm(group, ranks, static_cast<std::size_t>(local), plan_workers, host);
    return worker(comm);
  });
}

}  // namespace crpsgd
