// auto's rounds from the link it runs on (crpsgd train without --rounds).
//
// A run of T samples per worker computes for T·c_sample seconds and
// communicates for R·c_round; communication stays a share s of the wall time
// when R·c_round ≤ s·(T·c_sample + R·c_round), that is
//
//   R ≤ s/(1 − s) · T·c_sample/c_round,
//
// or, where the whole run computes for less than a few seconds, R·c_round ≤
// kFreeCommSeconds: no one waits for 10% of a millisecond.
//
// More rounds bring auto closer to small-batch PSGD, fewer save the link:
// the plan takes the most rounds the share allows, between
// kFewestPlannedRounds and kMostPlannedRounds (and one local step of b_min
// samples a round at most). In one process or on a fast link that is the
// most, across sites few.
//
// The costs are measured at the start (MeasureRoundCosts): a round is the
// all-reduce of the model, timed across machines (within one machine it is
// counted free, so that a run there plans the same rounds every time), plus
// what --net-model says the same bytes cost on the modelled link; a sample is
// the time of a gradient. Measured times vary from run to run, so the plan is
// rounded down to a coarse series (1, 1.5, 2, 3, 5, 7 × 10^k) and written
// where the run can be repeated exactly: --rounds R in the run's config.toml,
// which --resume reads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "crpsgd/communicator.h"
#include "crpsgd/objective.h"
#include "crpsgd/status.h"
#include "crpsgd/train.h"

namespace crpsgd {

// The share of the wall time communication may take (--comm-share). Default: 10%.
inline constexpr double kDefaultCommShare = 0.1;
// Communication time any run may spend, whatever its share.
inline constexpr double kFreeCommSeconds = 1.0;
// Below this auto's drift test and growing rounds have too little to work
// with; a link so slow that even these rounds exceed the share is said so.
inline constexpr std::uint64_t kFewestPlannedRounds = 10;
// auto was measured at R = 10-100 (docs/experiments.md): the best or level
// with every tuned baseline there. Past it rounds buy no accuracy, and rounds
// shorter than the iterate's half-life blind the tail average's drift test
// (tail_average.h), which then keeps the noisy last iterate: on heart_scale,
// 2 workers, f − f* 0.011 at R = 100 and 0.033 at R = 200 and 2000.
inline constexpr std::uint64_t kMostPlannedRounds = 100;

struct RoundCosts {
  double round_s = 0.0;      // one round: the all-reduce of the model (measured + modelled)
  double measured_s = 0.0;   // of which measured on this run's communicator (0 on one machine)
  double modelled_s = 0.0;   // of which --net-model's (0 without one)
  double sample_s = 0.0;     // one sample's gradient on one worker
  std::uint64_t bytes = 0;   // a round's message, per worker
  bool one_machine = false;  // every worker on one machine: the link is not measured
};

struct RoundPlan {
  std::uint64_t rounds = 0;
  double comm_share = 0.0;  // the share communication is expected to take at `rounds`
  std::string why;          // one line for the log: the costs, the bound and the choice
};

// The rounds for `budget` samples per worker whose smallest local step is
// `smallest_batch` samples, at costs `costs`, keeping communication within
// `comm_share` (in (0, 1)) of the wall time. Pure: the tests give it costs.
RoundPlan PlanRounds(const RoundCosts& costs, std::uint64_t budget, std::uint64_t smallest_batch, double comm_share);

// The bytes a worker sends in one of auto's rounds: its model (or, with
// --compress, its step) and the model's state, as the round's exchange
// encodes them: a compressed round costs less, so a link allows more.
std::uint64_t RoundMessageBytes(const Objective& f, const AlgorithmOptions& options);

// Times this worker's gradient of `batch` samples (repeated to about 50 ms
// of work) and an all-reduce of `message_bytes` (Traffic::kEvaluation: never
// a round), then adopts rank 0's numbers on every worker so that all plan
// alike. `net_model` adds its cost of the same bytes. A network's gradient
// is costed as three forward passes, since a training pass would move its
// augmentation and dropout streams. Collective.
Result<RoundCosts> MeasureRoundCosts(const Objective& f, Communicator& comm, std::uint64_t batch,
                                     std::uint64_t message_bytes, const std::optional<NetworkModel>& net_model);

}  // namespace crpsgd
