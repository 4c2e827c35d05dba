// Objective: a worker's view of f(x) = E[F(x; ζ)] on its own shard.
//
// The algorithms only ever ask for sums over a batch of local sample indices,
// so micro-batches accumulate with no rescaling and a batch of any size still
// costs exactly one communication round. Every index in `samples` is one SFO
// call (one stochastic gradient evaluation ∇F(x; ζ_i)).
//
// Implementations must be safe to call concurrently from several threads on
// one const object (workers of the inproc backend each own their own object,
// but evaluation may share one).
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <vector>

#include "crpsgd/communicator.h"
#include "crpsgd/status.h"

namespace crpsgd {

class Objective {
 public:
  virtual ~Objective() = default;

  virtual std::size_t dim() const = 0;          // m, the length of x
  virtual std::size_t num_samples() const = 0;  // samples in the local shard

  // Adds Σ_{i ∈ samples} ∇F(x; ζ_i) to grad_sum and returns Σ F(x; ζ_i).
  // Costs |samples| SFO calls. grad_sum has dim() entries.
  virtual double AccumulateGradient(std::span<const double> x, std::span<const std::size_t> samples,
                                    std::span<double> grad_sum) const = 0;

  // Adds Σ ∇F(x; ζ_i) to grad_sum and nothing more: what training needs, so
  // an objective may skip computing F. Costs |samples| SFO calls, as above.
  // Default: AccumulateGradient, its loss dropped.
  virtual void AddGradient(std::span<const double> x, std::span<const std::size_t> samples,
                           std::span<double> grad_sum) const {
    (void)AccumulateGradient(x, samples, grad_sum);
  }

  // Σ_{i ∈ samples} F(x; ζ_i). Default: through AccumulateGradient.
  virtual double Loss(std::span<const double> x, std::span<const std::size_t> samples) const;

  // True when f is convex, so that a full-batch solver finds f* and runs can
  // report f − f*.
  virtual bool convex() const { return false; }

  // An upper bound on the smoothness constant L of this shard's average loss,
  // when the objective knows one cheaply (used by --lr auto when no better
  // estimate is available).
  virtual std::optional<double> SmoothnessBound() const { return std::nullopt; }

  // The starting point x₁ when the user gives none (a network's random
  // initialisation, seeded); empty = zeros. Train takes rank 0's and
  // broadcasts it, so every worker starts from the same point.
  virtual std::vector<double> InitialPoint() const { return {}; }

  // Puts state outside x (batch-norm statistics) back as it was when the
  // objective was made, so that each Train() call starts afresh. Train calls it first.
  virtual void RestoreInitialState() const {}

  // State outside x that workers must agree on before evaluations (batch-norm
  // running statistics): averaged over workers as evaluation traffic. Collective.
  virtual Status SynchronizeState(Communicator& /*comm*/) const { return Status::OK(); }

  // Before an evaluation at x: recomputes state outside x from `samples` of
  // this shard (batch-norm statistics of x itself, where the running averages
  // lag behind a moving x), then agrees on it like SynchronizeState. Not
  // counted as SFO or rounds: it is part of the measurement. Collective.
  virtual Status RecalibrateState(std::span<const double> /*x*/, std::span<const std::size_t> /*samples*/,
                                  Communicator& comm) const {
    return SynchronizeState(comm);
  }

  // True when the objective keeps state outside x that a checkpoint would have
  // to save (batch-norm statistics, augmentation streams): such objectives
  // cannot be checkpointed yet.
  virtual bool has_external_state() const { return false; }

  // For classifiers: how many of `samples` x classifies correctly.
  virtual std::optional<std::size_t> CountCorrect(std::span<const double> /*x*/,
                                                  std::span<const std::size_t> /*samples*/) const {
    return std::nullopt;
  }
};

// The proximal objective of Algorithm 2: h(x) = f(x) + θ/2 ‖x − y‖², y fixed.
// Its stochastic gradient adds θ(x − y) per sample: no extra SFO beyond f's,
// no extra communication. `base` and `center` must outlive this object.
class ProximalObjective final : public Objective {
 public:
  ProximalObjective(const Objective& base, double theta, std::span<const double> center)
      : base_(base), theta_(theta), center_(center) {}
  std::size_t dim() const override { return base_.dim(); }
  std::size_t num_samples() const override { return base_.num_samples(); }
  double AccumulateGradient(std::span<const double> x, std::span<const std::size_t> samples,
                            std::span<double> grad_sum) const override;
  void AddGradient(std::span<const double> x, std::span<const std::size_t> samples,
                   std::span<double> grad_sum) const override;
  bool convex() const override { return base_.convex(); }
  std::optional<double> SmoothnessBound() const override;

 private:
  // grad_sum += Σ_i θ(x − y) over `count` samples; returns Σ_i θ/2 ‖x − y‖².
  double AddProximalTerm(std::span<const double> x, std::size_t count, std::span<double> grad_sum) const;

  const Objective& base_;
  double theta_;
  std::span<const double> center_;
};

}  // namespace crpsgd
