#pragma once

#include <memory>

#include "crpsgd/algorithm.h"
#include "crpsgd/batch_schedule.h"

namespace crpsgd::internal {

// Mini-batch parallel SGD driven by a batch schedule: PSGD with ConstantBatch,
// CR-PSGD (Algorithm 1) with GeometricBatch.
class MinibatchSgd final : public Algorithm {
 public:
  MinibatchSgd(const AlgorithmOptions& options, std::unique_ptr<BatchSchedule> schedule)
      : options_(options), schedule_(std::move(schedule)) {}
  Result<AlgorithmResult> Run(Communicator& comm, const Objective& f, Sampler& sampler, std::span<double> x,
                              RoundObserver& observer) override;

 private:
  AlgorithmOptions options_;
  std::unique_ptr<BatchSchedule> schedule_;
};

}  // namespace crpsgd::internal
