#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "algorithms/algorithm_internal.h"
#include "crpsgd/algorithm.h"

namespace crpsgd::internal {

// Local SGD with periodic model averaging (Stich 2018; Yu, Yang, Zhu 2019):
// every worker takes I plain SGD steps of batch b on its own copy of x, then
// the copies are averaged (one round). The budget T gives ⌊T/b⌋ local steps;
// the last period may be shorter so that the run ends on an average. T mod b
// is left unspent and reported.
class LocalSgd final : public Algorithm {
 public:
  explicit LocalSgd(const AlgorithmOptions& options) : options_(options) {}
  Result<AlgorithmResult> Run(Communicator& comm, const Objective& f, Sampler& sampler, std::span<double> x,
                              RoundObserver& observer, RunProgress& progress) override;
  std::string SaveState() const override;
  Status LoadState(std::string_view record) override;
  // On other workers: the local momentum buffers' and --compress's residuals' averages.
  Status LoadStates(std::span<const std::string> records) override {
    return LoadAveragingOwn(*this, records, {&velocity_, &residual_, &pending_, &pending_state_});
  }

 private:
  struct Workspace;
  // --overlap (AlgorithmOptions::overlap): each round's exchange runs behind the next round's steps.
  Result<AlgorithmResult> RunOverlapped(Communicator& comm, const Objective& f, Sampler& sampler, std::span<double> x,
                                        RoundObserver& observer, RunProgress& progress);

  AlgorithmOptions options_;
  std::vector<double> velocity_;        // this worker's momentum buffer (local steps)
  std::vector<double> outer_velocity_;  // --outer-momentum's u (the same on every worker)
  std::vector<double> residual_;        // --compress: what this worker's steps lost (error feedback)
  // --overlap, between a round's report and its send (where a checkpoint
  // falls): this worker's step of the round computed last, and of its
  // model's state (batch-norm statistics), not yet sent. Empty otherwise.
  std::vector<double> pending_, pending_state_;
};

}  // namespace crpsgd::internal
