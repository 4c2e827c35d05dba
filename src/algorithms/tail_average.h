// auto's final model: the mean of the local iterates over the run's tail
// (Polyak–Ruppert tail averaging; Jain et al. 2018 for least squares), with
// the tail's length chosen by a drift test on the averaged models.
//
// At a constant step SGD's iterate ends in a cloud around the optimum whose
// size is set by the step and the gradient noise; the mean of the iterates
// over a window much longer than the cloud's mixing time sits near its
// centre. While the iterate still travels towards the optimum, the mean lags
// behind it. The drift test tells the two apart from what every worker
// already has, the averaged model after each round, x̄_r: the moves
// d_r = x̄_r − x̄_{r−1} of a stationary, mean-reverting iterate are negatively
// correlated (for an Ornstein–Uhlenbeck process whose autocorrelation across
// a round is ρ, corr(d_r, d_{r−1}) = −(1 − ρ)/2), while a drifting one's are
// positively correlated. A window is averaged when the mean cosine of its
// rounds' consecutive moves is at most −1/4 (ρ ≤ 1/2: a round spans at least
// the iterate's half-life, so the window holds many independent draws).
//
// Each worker sums its own iterates in every candidate window (7/8, 3/4, 1/2
// and 1/4 of the budget under auto; the one given otherwise), so choosing
// costs no communication: the last round all-reduces the chosen window's
// means instead of the models, and their mean is the mean iterate of the
// workers' average. Every worker takes the same decision, from x̄ alone. The
// windows are nested, so each keeps the sum of its iterates up to the next
// one's start: one vector addition a step, however many windows.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "util/byte_record.h"

namespace crpsgd::internal {

// One candidate window: the last `share` of the budget. Checkpointed.
struct TailWindow {
  double share = 0.0;
  // This worker's iterates from the window's start to the next (shorter)
  // window's: their sum and how many. The window's mean takes its own and
  // every later window's.
  std::vector<double> sum;
  double count = 0.0;
  double drift_sum = 0.0;  // cosines of consecutive moves of x̄ inside the window
  std::uint64_t drift_count = 0;
};

// What TailAverage keeps between rounds (auto's state). Checkpointed.
struct TailAverageState {
  std::vector<TailWindow> windows;
  std::vector<double> previous_move;       // d_{r−1}; empty before the first round
  std::uint64_t previous_round_start = 0;  // the sample the previous round began at
};
void SaveTailAverage(const TailAverageState& state, ByteWriter& out);
TailAverageState LoadTailAverage(ByteReader& in);

class TailAverage {
 public:
  // The mean cosine at or below which a window counts as stationary.
  static constexpr double kStationaryDrift = -0.25;
  // The windows tried under auto (`share` nullopt), longest first.
  static constexpr double kAutoShares[] = {0.875, 0.75, 0.5, 0.25};

  // share: nullopt (auto: the drift test chooses among kAutoShares, or none),
  // 0 (off: the last iterate) or the window in (0, 1]. `state` is the
  // caller's; an empty one starts the windows.
  TailAverage(std::optional<double> share, std::uint64_t budget, TailAverageState& state);

  bool active() const { return !state_.windows.empty(); }

  // The iterate after a local step that began at sample `step_start` (of this worker's budget).
  void AddIterate(std::uint64_t step_start, std::span<const double> x);

  // After round r's all-reduce: x̄_{r−1} = `round_start_x` (the round began at
  // sample `round_start`), x̄_r = `x`. Returns corr(d_r, d_{r−1}), the cosine
  // the drift test adds, or nullopt when there is none (the first round, or a
  // move of zero).
  std::optional<double> AfterRound(std::uint64_t round_start, std::span<const double> round_start_x,
                                   std::span<const double> x);

  // The window the final model averages: auto's longest stationary one (at
  // least two cosines, mean <= kStationaryDrift), the given one once it holds
  // an iterate; null: the last iterate.
  const TailWindow* Chosen() const;
  // This worker's mean iterate over `window` (one of the state's), into x.
  void MeanOver(const TailWindow& window, std::span<double> x) const;

 private:
  std::uint64_t WindowStart(const TailWindow& window) const;
  // `window` and the shorter ones after it: the segments its iterates are in.
  std::span<const TailWindow> From(const TailWindow& window) const;
  double Iterates(const TailWindow& window) const;  // how many it holds

  std::optional<double> share_;
  std::uint64_t budget_;
  TailAverageState& state_;
};

}  // namespace crpsgd::internal
