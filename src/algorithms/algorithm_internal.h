// The algorithms behind Train(): internal to the library. Their state is
// opaque to users: Train keeps it, and checkpoints save and restore it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "algorithms/tail_average.h"
#include "crpsgd/algorithm.h"
#include "crpsgd/communicator.h"
#include "crpsgd/objective.h"
#include "crpsgd/sampler.h"
#include "crpsgd/status.h"

namespace crpsgd {

struct AlgorithmResult {
  std::uint64_t rounds = 0;
  std::uint64_t sfo_per_worker = 0;
  std::uint64_t budget_left = 0;
  // auto: the share of the budget whose iterates the final model averages (0: the last iterate).
  std::optional<double> tail_average;
};

// The SGD loop's own position: the rounds and SFO of the loop in progress (the
// catalyst's inner run; the whole run for psgd and cr-psgd), the momentum
// buffer (local-sgd: this worker's) and, with --rho auto, the norm test's
// smoothed statistics and the batch they chose for the next round.
struct SgdState {
  std::uint64_t rounds = 0, sfo = 0;
  std::vector<double> velocity;
  NormTestState norm_test;
};

// Where a run stands at the end of a round: what it needs, besides x and the
// sampler, to go on exactly as if it had never stopped (checkpoints). A fresh
// run starts from the default. Algorithms keep it up to date before each
// observer call and start from the one they are given.
struct AlgorithmState {
  std::uint64_t rounds = 0;          // rounds done (the whole run)
  std::uint64_t sfo_per_worker = 0;  // SFO spent per worker (the whole run)
  // cr-psgd-catalyst: the outer iteration in progress (1-based; 0 = not
  // started) and its center y⁽ᵏ⁻¹⁾.
  std::uint64_t outer_iteration = 0;
  std::vector<double> center;
  SgdState sgd;
  // local-sgd and auto with --outer-momentum: the outer velocity u (the same
  // on every worker).
  std::vector<double> outer_velocity;
  // auto: the local batch b the noise chose for the next round (0: b_min).
  std::uint64_t local_batch = 0;
  // auto: the tail windows' sums of iterates and the drift test (TailAverage).
  internal::TailAverageState tail;
};

class Algorithm {
 public:
  virtual ~Algorithm() = default;
  // Runs from `state` (default: the start) to the end of the budget.
  virtual Result<AlgorithmResult> Run(Communicator& comm, const Objective& f, Sampler& sampler, std::span<double> x,
                                      RoundObserver& observer, AlgorithmState& state) = 0;
};

// options must be valid.
std::unique_ptr<Algorithm> MakeAlgorithm(const AlgorithmOptions& options);

}  // namespace crpsgd
