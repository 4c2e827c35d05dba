// Hosted workers: a run planned for N workers, carried on by fewer.
//
// When a run resumes on P < N workers (a host was lost), each of the P
// workers hosts some of the plan's N workers as threads: plan worker v runs on
// worker v mod P, with its own model, momentum, batch-norm state, sampler and
// checkpoint record, and talks through a Communicator of rank v and size N.
// A collective gathers every plan worker's buffer (one exact all-reduce of
// disjoint parts over the P workers) and reduces them in plan-rank order with
// the kernel every backend uses. The run therefore computes the N-worker
// algorithm bit for bit, only slower: what it returns, writes and checkpoints
// is what N workers would have, and N workers can go on from its checkpoints.
#pragma once

#include <functional>
#include <vector>

#include "crpsgd/communicator.h"

namespace crpsgd {

// The plan workers that worker `host` of `hosts` runs: host, host + hosts, ...
// below plan_workers (just `host` when plan_workers <= hosts).
std::vector<int> HostedPlanRanks(int host, int hosts, int plan_workers);

// Runs `worker` once for each plan worker that `host` hosts, each with its
// own Communicator of the plan's rank and size, the first on the calling
// thread (which alone calls `host`: MPI needs no thread support) and the
// others on threads of their own. With plan_workers <= host.size() it is
// worker(host). A plan worker that fails or throws aborts the others; the
// result is the first failure's status.
Status RunHostedWorkers(Communicator& host, int plan_workers, const std::function<Status(Communicator&)>& worker);

}  // namespace crpsgd
