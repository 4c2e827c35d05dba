// One run of least squares on N in-process workers that each hold all of
// `data`, and every worker's last round: the noise estimators' tests (--rho
// auto, auto) read their estimates from it.
#pragma once

#include <span>
#include <vector>

#include "crpsgd/crpsgd.h"

namespace crpsgd::testing {

inline Result<std::vector<RoundRecord>> LastRounds(const Dataset& data, int workers, const TrainOptions& options) {
  std::vector<RoundRecord> last(static_cast<std::size_t>(workers));
  const Status status = RunInProcess(workers, [&](Communicator& comm) -> Status {
    const LinearModelObjective f(Problem::kLeastSquares, data, 0.0);
    struct Keep final : RoundObserver {
      RoundRecord* record = nullptr;
      Status OnRound(const RoundRecord& r, std::span<const double>) override {
        *record = r;
        return Status::OK();
      }
    } keep;
    keep.record = &last[static_cast<std::size_t>(comm.rank())];
    TrainOptions mine = options;
    mine.observers.push_back(&keep);
    return Train(mine, f, comm).status();
  });
  if (!status.ok()) return status;
  return last;
}

}  // namespace crpsgd::testing
