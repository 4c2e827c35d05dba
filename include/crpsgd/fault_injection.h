// Faults on purpose, for tests of what a run does when a worker dies, hangs,
// throws or fails its collective. A FaultInjectingCommunicator wraps one
// worker's communicator and is that communicator until the worker has run
// `round` rounds: as it starts the next round's all-reduce, the fault comes
// (on worker `rank` only; the others go on and meet it in that all-reduce).
// The rounds before are complete: their metrics lines and checkpoints are
// written, so a killed run resumes from the last checkpoint at or before
// `round`. Library tests wrap their workers' communicators; `crpsgd train
// --inject-fault` (JobSpec::fault) wraps each worker's in RunJob.
#pragma once

#include <cstdint>
#include <string>

#include "crpsgd/communicator.h"

namespace crpsgd {

struct Fault {
  enum class Kind {
    kFail,   // the all-reduce returns Unavailable, as when a peer is lost
    kThrow,  // the worker throws std::runtime_error (as a library would)
    kStop,   // the process stops (SIGSTOP: a hung worker)
    kKill,   // the process is killed (SIGKILL: a dead worker)
  };
  Kind kind = Kind::kFail;
  int rank = 0;
  std::uint64_t round = 1;  // after this many rounds of the run (>= 1)
};

// "KIND:rank=R,round=T", KIND one of fail, throw, stop, kill (--inject-fault's text).
Result<Fault> ParseFault(const std::string& text);

class FaultInjectingCommunicator final : public Communicator {
 public:
  FaultInjectingCommunicator(Communicator& inner, const Fault& fault);
  const char* backend_name() const override;
  int machines() const override { return inner_.machines(); }

 private:
  Status BeforeTrainingRound(std::uint64_t round) override;
  Status DoAllreduceSum(std::span<std::byte> data, DataType type) override;
  Status DoBroadcast(std::span<std::byte> data, int root) override;
  Status DoBarrier() override;

  Communicator& inner_;
  Fault fault_;
};

}  // namespace crpsgd
