// Progress of a run on stderr (rank 0): a bar redrawn in place when stderr is
// a terminal (rounds, SFO spent, loss, test accuracy, ETA), plain lines at
// every 10% of the SFO budget otherwise, so that logs stay readable. Verbose:
// one plain line per evaluated round (round, batch, SFO, loss, time) and one
// for every change of the batch (--rho auto's decisions). Once, a warning when
// the batch outgrows the worker's shard.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "crpsgd/algorithm.h"

namespace crpsgd {

class ProgressReporter final : public RoundObserver {
 public:
  // `budget`: the SFO per worker the run will spend; `rounds`: the rounds planned;
  // `shard`: the samples of this worker's shard (0: unknown).
  ProgressReporter(std::string label, std::uint64_t budget, std::uint64_t rounds, bool terminal, bool verbose = false,
                   std::uint64_t shard = 0);
  Status OnRound(const RoundRecord& record, std::span<const double> x) override;

 private:
  std::string RoundOf(std::uint64_t round) const;

  std::string label_;
  std::uint64_t budget_, rounds_;  // rounds_: 0 when not known in advance
  bool terminal_, verbose_;
  std::chrono::steady_clock::time_point start_, last_draw_;
  int next_decile_ = 1;
  std::string last_loss_ = "-";
  std::string last_accuracy_;  // ", test accuracy 0.91" once evaluated; empty without test data
  std::uint64_t shard_ = 0, last_batch_ = 0;
  bool warned_shard_ = false;
};

}  // namespace crpsgd
