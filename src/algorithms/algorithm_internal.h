// The algorithms behind Train(): internal to the library. Their state is
// opaque to users: each algorithm keeps its own, and checkpoints save and
// restore it as a record the algorithm writes and reads itself.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "crpsgd/algorithm.h"
#include "crpsgd/communicator.h"
#include "crpsgd/objective.h"
#include "crpsgd/sampler.h"
#include "crpsgd/status.h"
#include "util/byte_record.h"

namespace crpsgd {

struct AlgorithmResult {
  std::uint64_t rounds = 0;
  std::uint64_t sfo_per_worker = 0;
  std::uint64_t budget_left = 0;
  AlgorithmFields fields;  // its own, for RunSummary::fields (auto: tail_averaged)
};

// How far a run has come, whatever its algorithm: rounds done and SFO spent
// per worker, the whole run. Train keeps it and checkpoints save it; an
// algorithm updates it before each observer call and starts from it.
struct RunProgress {
  std::uint64_t rounds = 0;
  std::uint64_t sfo_per_worker = 0;
};

// The SGD loop's own position: the rounds and SFO of the loop in progress (the
// catalyst's inner run; the whole run for psgd and cr-psgd), the momentum
// buffer and, with --rho auto, the norm test's smoothed statistics and the
// batch they chose for the next round.
struct SgdState {
  std::uint64_t rounds = 0, sfo = 0;
  std::vector<double> velocity;
  NormTestState norm_test;
  std::vector<double> residual;  // --compress: what this worker's messages lost (error feedback)
};
void SaveNormTest(const NormTestState& norm_test, ByteWriter& out);
NormTestState LoadNormTest(ByteReader& in);
// With the residual (records of version 2 of psgd, cr-psgd, cr-psgd-catalyst);
// LoadSgdState reads it from a record of `version` 2 on.
void SaveSgdState(const SgdState& sgd, ByteWriter& out);
// A round's norm-test fields: noise_trace V and grad_norm2 G² (null before it has one).
void SetNormTestFields(const NormTestState& norm_test, std::optional<double> grad_norm2, AlgorithmFields& fields);
SgdState LoadSgdState(ByteReader& in, std::uint64_t version);

// An algorithm's state record: its own version first, then what it writes.
// A change to one algorithm's state bumps that algorithm's version only.
ByteWriter BeginStateRecord(std::uint64_t version);
// The version of the record `in` starts (1..newest), or InvalidArgument
// naming `algorithm` and both versions.
Result<std::uint64_t> ReadStateVersion(ByteReader& in, std::uint64_t newest, std::string_view algorithm);
// Corruption naming `algorithm` unless `in` was read whole and to its end.
Status CheckStateRead(const ByteReader& in, std::string_view algorithm);

class Algorithm {
 public:
  virtual ~Algorithm() = default;
  // Runs from `progress` and the algorithm's own state (default: the start)
  // to the end of the budget, keeping both current before each observer call.
  virtual Result<AlgorithmResult> Run(Communicator& comm, const Objective& f, Sampler& sampler, std::span<double> x,
                                      RoundObserver& observer, RunProgress& progress) = 0;
  // What it needs besides x, the sampler and `progress` to go on exactly as
  // if it had never stopped (momentum buffers, the norm test, the outer
  // iteration, tail windows): its versioned record (BeginStateRecord), and
  // that record read back into a fresh algorithm before Run.
  virtual std::string SaveState() const = 0;
  virtual Status LoadState(std::string_view record) = 0;
  // A resume on another number of workers: the state from the records of all
  // the workers that wrote the checkpoint, in rank order. By default they must
  // be alike (an algorithm that keeps one state on every worker); one with a
  // state of each worker's own (local momentum) merges them.
  virtual Status LoadStates(std::span<const std::string> records);
};

// Algorithm::LoadStates for a state of each worker's own: every record is
// loaded in turn, then the first, with each of `own` (members LoadState
// fills: the local momentum buffer, --compress's residual) set to the
// workers' average.
Status LoadAveragingOwn(Algorithm& algorithm, std::span<const std::string> records,
                        std::initializer_list<std::vector<double>*> own);

// options must be valid.
std::unique_ptr<Algorithm> MakeAlgorithm(const AlgorithmOptions& options);

}  // namespace crpsgd
