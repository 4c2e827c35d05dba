// The inproc backend: N workers as threads of one process.
//
// RunInProcess starts `workers` threads, gives each its own Communicator and
// runs `worker` on each. It is the backend for more workers than cores and the
// test harness for many ranks in one process. A worker that returns an error
// (or throws) aborts the group: the others' collectives return Unavailable
// instead of waiting forever. The returned Status is the error of the worker
// that failed first in time (the root cause: the others then fail with
// Unavailable, naming it), whatever its rank; OK when every worker returned OK.
#pragma once

#include <chrono>
#include <functional>

#include "crpsgd/communicator.h"

namespace crpsgd {

struct InprocOptions {
  // A collective that waits longer than this for its peers fails with
  // Unavailable. Default: 10 minutes.
  std::chrono::milliseconds timeout{std::chrono::minutes(10)};
};

Status RunInProcess(int workers, const std::function<Status(Communicator&)>& worker, const InprocOptions& options = {});

}  // namespace crpsgd
