#pragma once

#include <memory>
#include <vector>

#include "algorithms/algorithm_internal.h"
#include "crpsgd/algorithm.h"
#include "crpsgd/batch_schedule.h"

namespace crpsgd::internal {

// Mini-batch parallel SGD driven by a batch schedule: PSGD with ConstantBatch,
// CR-PSGD (Algorithm 1) with GeometricBatch.
class MinibatchSgd final : public Algorithm {
 public:
  // The step-size schedule's progress is (schedule_offset + SFO spent here) /
  // schedule_total; an outer algorithm (catalyst) passes its own totals.
  MinibatchSgd(const AlgorithmOptions& options, std::unique_ptr<BatchSchedule> schedule,
               std::uint64_t schedule_offset = 0, std::uint64_t schedule_total = 0)
      : options_(options),
        schedule_(std::move(schedule)),
        schedule_offset_(schedule_offset),
        schedule_total_(schedule_total != 0 ? schedule_total : options.budget) {}
  Result<AlgorithmResult> Run(Communicator& comm, const Objective& f, Sampler& sampler, std::span<double> x,
                              RoundObserver& observer, RunProgress& progress) override;
  std::string SaveState() const override;
  Status LoadState(std::string_view record) override;
  // On other workers: --compress's residuals averaged (the rest is alike).
  Status LoadStates(std::span<const std::string> records) override {
    return LoadAveragingOwn(*this, records, {&sgd_.residual});
  }

  // The loop itself, from where `sgd` stands, which it keeps current before
  // each observer call. The catalyst runs its inner CR-PSGD through it.
  Result<AlgorithmResult> RunFrom(Communicator& comm, const Objective& f, Sampler& sampler, std::span<double> x,
                                  RoundObserver& observer, SgdState& sgd);

 private:
  AlgorithmOptions options_;
  std::unique_ptr<BatchSchedule> schedule_;
  std::uint64_t schedule_offset_, schedule_total_;
  SgdState sgd_;  // psgd and cr-psgd: the loop is the whole run
};

}  // namespace crpsgd::internal
