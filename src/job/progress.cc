#include "progress.h"

#include <algorithm>
#include <cstdio>

namespace crpsgd {

// "12/79", or "12" when the rounds are not known in advance (--rho auto).
std::string ProgressReporter::RoundOf(std::uint64_t round) const {
  return rounds_ == 0 ? std::to_string(round) : std::to_string(round) + "/" + std::to_string(rounds_);
}

ProgressReporter::ProgressReporter(std::string label, std::uint64_t budget, std::uint64_t rounds, bool terminal,
                                   bool verbose, std::uint64_t shard)
    : label_(std::move(label)),
      budget_(budget == 0 ? 1 : budget),
      rounds_(rounds),
      terminal_(terminal && !verbose),
      verbose_(verbose),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_),
      shard_(shard) {}

Status ProgressReporter::OnRound(const RoundRecord& record, std::span<const double>) {
  if (record.loss) {
    char loss[32];
    std::snprintf(loss, sizeof loss, "%.5g", *record.loss);
    last_loss_ = loss;
  }
  if (record.test_accuracy) {
    char accuracy[48];
    std::snprintf(accuracy, sizeof accuracy, ", test accuracy %.4g", *record.test_accuracy);
    last_accuracy_ = accuracy;
  }
  if (shard_ > 0 && record.batch > shard_ && !warned_shard_) {
    warned_shard_ = true;
    std::fprintf(stderr,
                 "%scrpsgd: warning: round %llu's batch of %llu samples per worker exceeds the worker's %llu: "
                 "sampling with replacement repeats samples within a batch (fewer workers, or a smaller "
                 "budget or batch, keep batches within the shard)\n",
                 terminal_ ? "\n" : "", static_cast<unsigned long long>(record.round),
                 static_cast<unsigned long long>(record.batch), static_cast<unsigned long long>(shard_));
  }
  if (verbose_ && record.round > 0 && last_batch_ > 0 && record.batch != last_batch_) {
    std::fprintf(stderr, "crpsgd: %s: the batch goes from %llu to %llu per worker at round %s\n", label_.c_str(),
                 static_cast<unsigned long long>(last_batch_), static_cast<unsigned long long>(record.batch),
                 RoundOf(record.round).c_str());
  }
  if (record.round > 0) last_batch_ = record.batch;
  const auto now = std::chrono::steady_clock::now();
  const double fraction = static_cast<double>(record.sfo_per_worker) / static_cast<double>(budget_);
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double eta = fraction > 0 ? elapsed * (1 - fraction) / fraction : 0.0;
  char line[512];
  if (verbose_) {
    if (!record.loss) return Status::OK();
    std::snprintf(line, sizeof line, "crpsgd: %s: round %s, batch %llu, SFO %llu/%llu, loss %s%s, %.3fs\n",
                  label_.c_str(), RoundOf(record.round).c_str(), static_cast<unsigned long long>(record.batch),
                  static_cast<unsigned long long>(record.sfo_per_worker), static_cast<unsigned long long>(budget_),
                  last_loss_.c_str(), last_accuracy_.c_str(), elapsed);
    std::fputs(line, stderr);
    return Status::OK();
  }
  if (terminal_) {
    if (!record.last && now - last_draw_ < std::chrono::milliseconds(100)) return Status::OK();
    last_draw_ = now;
    constexpr int kWidth = 24;
    const int filled = static_cast<int>(fraction * kWidth + 0.5);
    std::string bar(static_cast<std::size_t>(std::max(0, std::min(kWidth, filled))), '#');
    bar.resize(kWidth, '.');
    std::snprintf(line, sizeof line, "\r%s [%s] %3.0f%%  round %s  SFO %llu/%llu  loss %s%s  ETA %.0fs\033[K",
                  label_.c_str(), bar.c_str(), 100 * fraction, RoundOf(record.round).c_str(),
                  static_cast<unsigned long long>(record.sfo_per_worker), static_cast<unsigned long long>(budget_),
                  last_loss_.c_str(), last_accuracy_.c_str(), eta);
    std::fputs(line, stderr);
    if (record.last) std::fputc('\n', stderr);
    std::fflush(stderr);
    return Status::OK();
  }
  if (!record.last && fraction * 10 < next_decile_) return Status::OK();
  while (next_decile_ <= fraction * 10) ++next_decile_;
  // The ETA once a run is long enough for one to matter.
  char eta_text[48] = "";
  if (!record.last && elapsed >= 10.0) std::snprintf(eta_text, sizeof eta_text, ", ETA %.0fs", eta);
  std::snprintf(line, sizeof line, "crpsgd: %s: %3.0f%% round %s, SFO %llu/%llu, loss %s%s, %.1fs elapsed%s\n",
                label_.c_str(), 100 * fraction, RoundOf(record.round).c_str(),
                static_cast<unsigned long long>(record.sfo_per_worker), static_cast<unsigned long long>(budget_),
                last_loss_.c_str(), last_accuracy_.c_str(), elapsed, eta_text);
  std::fputs(line, stderr);
  return Status::OK();
}

}  // namespace crpsgd
