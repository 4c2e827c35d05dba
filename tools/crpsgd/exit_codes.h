// Process exit codes of the crpsgd tool (documented in docs/errors.md).
#pragma once

#include "crpsgd/status.h"

namespace crpsgd::cli {

enum ExitCode : int {
  kExitOk = 0,
  kExitRuntime = 1,      // I/O failure, internal error
  kExitBadInput = 2,     // bad flag, bad file, impossible configuration
  kExitDiverged = 3,     // non-finite loss, gradient or iterate
  kExitCheckFailed = 4,  // theory-check ran, and a criterion did not hold
  kExitWorkerLost = 5,   // a worker died or stopped answering (--round-timeout, --mpi-timeout): resume
};

inline int ExitCodeFor(const Status& status) {
  switch (status.code()) {
    case StatusCode::kOk: return kExitOk;
    case StatusCode::kInvalidArgument:
    case StatusCode::kNotFound:
    case StatusCode::kCorruption: return kExitBadInput;
    case StatusCode::kDiverged: return kExitDiverged;
    case StatusCode::kUnavailable: return kExitWorkerLost;
    default: return kExitRuntime;
  }
}

}  // namespace crpsgd::cli
