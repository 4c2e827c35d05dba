// What a run reports after each round, and who listens: the one interface
// between the algorithms and everything that watches them (metrics.jsonl,
// progress lines, checkpoints, the tool's fault injection).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "crpsgd/status.h"

namespace crpsgd {

// A value an algorithm reports of its own, in metrics.jsonl and
// summary.json: a count, a number, a word ("auto"), or null (not known).
using FieldValue = std::variant<std::nullptr_t, std::uint64_t, double, std::string>;

// An algorithm's own fields of a round or a run, by name: the generic code
// writes them without knowing them, so a new algorithm reports what it likes
// without a change here.
class AlgorithmFields {
 public:
  void Set(const std::string& name, FieldValue value);  // replaces a field of that name
  // Each kind exactly, and literals: Set("b1", 16) is a count (a negative int a
  // number), Set("rho", 1.2) a number, Set("rho", "auto") a word.
  void Set(const std::string& name, double value) { Set(name, FieldValue(value)); }
  void Set(const std::string& name, std::uint64_t value) { Set(name, FieldValue(value)); }
  void Set(const std::string& name, int value) {
    Set(name, value >= 0 ? FieldValue(static_cast<std::uint64_t>(value)) : FieldValue(static_cast<double>(value)));
  }
  void Set(const std::string& name, std::string word) { Set(name, FieldValue(std::move(word))); }
  void Set(const std::string& name, const char* word) { Set(name, FieldValue(std::string(word))); }
  const FieldValue* Find(std::string_view name) const;  // null: not reported
  // The field as a number: a count or a number; nullopt when absent, null or a word.
  std::optional<double> Number(std::string_view name) const;
  // The field as reported, or null when it was not.
  FieldValue ValueOr(std::string_view name, FieldValue otherwise = nullptr) const;
  const std::vector<std::pair<std::string, FieldValue>>& entries() const { return entries_; }
  bool empty() const { return entries_.empty(); }

 private:
  std::vector<std::pair<std::string, FieldValue>> entries_;
};

// What an algorithm reports after each round; Train fills in the measurements.
struct RoundRecord {
  std::uint64_t round = 0;           // 1, 2, ...; 0 is the starting point
  std::uint64_t batch = 0;           // B_t: per-worker samples in this round's gradient
  std::uint64_t local_steps = 0;     // SGD steps in this round (1 except local-sgd)
  std::uint64_t sfo_per_worker = 0;  // cumulative
  // Per-worker samples of the round when not batch × local_steps (auto's
  // uneven steps); 0 otherwise.
  std::uint64_t samples = 0;
  bool last = false;  // the final round of the run
  // The algorithm's own, after this round. The built-in ones report:
  // cr-psgd-catalyst outer_iteration (k); --rho auto and auto the norm test's
  // smoothed noise_trace V (tr Σ per sample) and grad_norm2 G² (the estimate
  // of ‖∇f‖², null before it has one); auto the drift test's cosine (drift)
  // and, on the last round, tail_average: the share of the budget whose
  // iterates the final model averages (0: the last iterate).
  AlgorithmFields fields;
  // Filled in by Train:
  std::uint64_t sfo_total = 0;
  std::optional<double> loss;           // f(x) on all training data, when evaluated
  std::optional<double> test_accuracy;  // on the test data, when evaluated and given
  double wall_s = 0, comm_s = 0;        // cumulative training time (evaluation excluded)
  std::uint64_t bytes = 0;              // cumulative training payload bytes per worker
  std::optional<double> net_model_s;    // cumulative modelled network time (--net-model)
};

class RoundObserver {
 public:
  virtual ~RoundObserver() = default;
  // Called on every worker after each round with the shared iterate. A
  // non-OK Status stops the run with that Status.
  virtual Status OnRound(const RoundRecord& record, std::span<const double> x) = 0;
};

// A part of a run that saves itself in every checkpoint (e.g. how much of a
// file it has written) and returns to that state when the run resumes. An
// observer that is also Checkpointed (MetricsWriter) is saved with the run.
class Checkpointed {
 public:
  virtual ~Checkpointed() = default;
  virtual std::string CheckpointState() const = 0;
  virtual Status RestoreCheckpointState(const std::string& state) = 0;
};

}  // namespace crpsgd
