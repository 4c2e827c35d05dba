#include "algorithms/tail_average.h"

#include <algorithm>
#include <cmath>

namespace crpsgd::internal {

void SaveTailAverage(const TailAverageState& state, ByteWriter& out) {
  out.U64(state.windows.size());
  for (const TailWindow& window : state.windows) {
    out.F64(window.share), out.Doubles(window.sum), out.F64(window.count), out.F64(window.drift_sum);
    out.U64(window.drift_count);
  }
  out.Doubles(state.previous_move), out.U64(state.previous_round_start);
}

TailAverageState LoadTailAverage(ByteReader& in) {
  TailAverageState state;
  const std::uint64_t windows = in.U64();
  for (std::uint64_t i = 0; in.ok() && i < windows && i < 1000; ++i) {
    TailWindow& window = state.windows.emplace_back();
    window.share = in.F64(), window.sum = in.Doubles(), window.count = in.F64(), window.drift_sum = in.F64();
    window.drift_count = in.U64();
  }
  state.previous_move = in.Doubles(), state.previous_round_start = in.U64();
  return state;
}

TailAverage::TailAverage(std::optional<double> share, std::uint64_t budget, TailAverageState& state)
    : share_(share), budget_(budget), state_(state) {
  if (!state_.windows.empty()) return;  // resumed
  if (!share_) {
    for (double s : kAutoShares) state_.windows.emplace_back().share = s;
  } else if (*share_ > 0.0) {
    state_.windows.emplace_back().share = *share_;
  }
}

std::uint64_t TailAverage::WindowStart(const TailWindow& window) const {
  return static_cast<std::uint64_t>(std::ceil((1.0 - window.share) * static_cast<double>(budget_)));
}

void TailAverage::AddIterate(std::uint64_t step_start, std::span<const double> x) {
  // The shortest window that has started: its segment holds the iterate.
  for (auto w = state_.windows.rbegin(); w != state_.windows.rend(); ++w) {
    if (step_start < WindowStart(*w)) continue;
    if (w->sum.empty()) w->sum.assign(x.size(), 0.0);
    w->count += 1.0;
    for (std::size_t j = 0; j < x.size(); ++j) w->sum[j] += x[j];
    return;
  }
}

std::span<const TailWindow> TailAverage::From(const TailWindow& window) const {
  const std::span<const TailWindow> all(state_.windows);
  return all.subspan(static_cast<std::size_t>(&window - all.data()));
}

double TailAverage::Iterates(const TailWindow& window) const {
  double count = 0.0;
  for (const TailWindow& w : From(window)) count += w.count;
  return count;
}

void TailAverage::MeanOver(const TailWindow& window, std::span<double> x) const {
  std::fill(x.begin(), x.end(), 0.0);
  for (const TailWindow& w : From(window)) {  // its own segment and the shorter windows'
    if (w.sum.empty()) continue;
    for (std::size_t j = 0; j < x.size(); ++j) x[j] += w.sum[j];
  }
  const double count = Iterates(window);
  for (double& v : x) v /= count;
}

std::optional<double> TailAverage::AfterRound(std::uint64_t round_start, std::span<const double> round_start_x,
                                              std::span<const double> x) {
  std::vector<double> move(x.size());
  for (std::size_t j = 0; j < x.size(); ++j) move[j] = x[j] - round_start_x[j];
  std::optional<double> cosine;
  if (state_.previous_move.size() == move.size()) {
    double dot = 0.0, now2 = 0.0, before2 = 0.0;
    for (std::size_t j = 0; j < move.size(); ++j) {
      dot += move[j] * state_.previous_move[j];
      now2 += move[j] * move[j];
      before2 += state_.previous_move[j] * state_.previous_move[j];
    }
    if (now2 > 0.0 && before2 > 0.0) cosine = dot / std::sqrt(now2 * before2);
  }
  // Both moves inside a window: the previous round began in it.
  if (cosine) {
    for (TailWindow& w : state_.windows) {
      if (state_.previous_round_start < WindowStart(w)) continue;
      w.drift_sum += *cosine;
      ++w.drift_count;
    }
  }
  state_.previous_move = std::move(move);
  state_.previous_round_start = round_start;
  return cosine;
}

const TailWindow* TailAverage::Chosen() const {
  for (const TailWindow& w : state_.windows) {  // longest first
    if (Iterates(w) == 0.0) continue;
    if (share_) return &w;
    if (w.drift_count >= 2 && w.drift_sum / static_cast<double>(w.drift_count) <= kStationaryDrift) return &w;
  }
  return nullptr;
}

}  // namespace crpsgd::internal
