// What a run reports after each round, and who listens: the one interface
// between the algorithms and everything that watches them (metrics.jsonl,
// progress lines, checkpoints, the tool's fault injection).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "crpsgd/status.h"

namespace crpsgd {

// What an algorithm reports after each round; Train fills in the measurements.
struct RoundRecord {
  std::uint64_t round = 0;            // 1, 2, ...; 0 is the starting point
  std::uint64_t batch = 0;            // B_t: per-worker samples in this round's gradient
  std::uint64_t local_steps = 0;      // SGD steps in this round (1 except local-sgd)
  std::uint64_t outer_iteration = 0;  // k of cr-psgd-catalyst (0 for the other algorithms)
  std::uint64_t sfo_per_worker = 0;   // cumulative
  // Per-worker samples of the round when not batch × local_steps (auto's
  // uneven steps); 0 otherwise.
  std::uint64_t samples = 0;
  bool last = false;  // the final round of the run
  // Filled in by Train:
  std::uint64_t sfo_total = 0;
  std::optional<double> loss;           // f(x) on all training data, when evaluated
  std::optional<double> test_accuracy;  // on the test data, when evaluated and given
  double wall_s = 0, comm_s = 0;        // cumulative training time (evaluation excluded)
  std::uint64_t bytes = 0;              // cumulative training payload bytes per worker
  std::optional<double> net_model_s;    // cumulative modelled network time (--net-model)
  // --rho auto and auto: the norm test's smoothed noise V (tr Σ per sample)
  // and G² (the estimate of ‖∇f‖²) after this round.
  std::optional<double> noise_trace, grad_norm2;
  // auto: the cosine between this round's and the previous round's move of
  // the averaged model (the drift test); on the last round, the share of the
  // budget whose iterates the final model averages (0: the last iterate).
  std::optional<double> drift, tail_average;
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
