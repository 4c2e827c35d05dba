// Objective: a worker's view of f(x) = E[F(x; ζ)] on its own shard.
//
// The algorithms only ever ask for sums over a batch of local sample indices,
// so micro-batches accumulate with no rescaling and a batch of any size still
// costs exactly one communication round. Every index in `samples` is one SFO
// call (one stochastic gradient evaluation ∇F(x; ζ_i)).
//
// An Objective is the math: losses and gradients, const. State a model keeps
// outside x (a network's batch-norm statistics) is not part of it but of an
// optional ModelState it hands out. Objectives without one must be safe to
// call concurrently from several threads on one const object; with one, each
// worker owns its object (the inproc backend's workers are threads, and each
// builds its own objectives).
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "crpsgd/communicator.h"
#include "crpsgd/status.h"

namespace crpsgd {

// State outside x that training changes (a network's batch-norm running
// statistics): workers must agree on it before evaluations, and each run
// starts from the state the objective was made with.
class ModelState {
 public:
  virtual ~ModelState() = default;
  // Back to the state the objective was made with. Train calls it first.
  virtual void RestoreInitial() = 0;
  // Averaged over workers as evaluation traffic, before evaluations. Collective.
  virtual Status Synchronize(Communicator& comm) = 0;
  // The values that are averaged (batch-norm statistics), flattened in a
  // fixed order, and their return: local SGD appends them to the model in
  // its round's one all-reduce, so that a round is one message.
  virtual std::vector<double> AveragedValues() const = 0;
  virtual void SetAveragedValues(std::span<const double> values) = 0;
  // Before an evaluation at x: recomputed from `samples` of this shard
  // (batch-norm statistics of x itself, where the running averages lag behind
  // a moving x), then synchronised. Not counted as SFO or rounds: it is part
  // of the measurement. Collective.
  virtual Status Recalibrate(std::span<const double> x, std::span<const std::size_t> samples, Communicator& comm) = 0;
  // This worker's state as bytes for a checkpoint, and the return to it on
  // --resume (bit-identical continuation). Every part that a later round
  // reads must be in it: statistics, random streams. LoadState of bytes that
  // do not fit (another network) refuses with kCorruption and changes nothing.
  virtual std::string SaveState() const = 0;
  virtual Status LoadState(std::string_view saved) = 0;
};

// L̂ of the global f and L̄, its mean per-sample smoothness (Objective::GlobalSmoothness).
struct SmoothnessConstants {
  double smoothness = 0.0;
  std::optional<double> mean_sample;
  const char* method = "";  // how L̂ was found, e.g. "power-iteration"
};

// The minimiser of the global f in closed form (Objective::SolveExactly).
struct ExactMinimizer {
  std::vector<double> x;
  const char* method = "";  // e.g. "normal-equations"
};

// The smallest batch one gradient call may be given, and why: a network's
// batch norm in training mode needs two samples to normalise.
struct BatchFloor {
  std::size_t samples = 1;
  std::string reason;  // names the layer; empty when any batch will do
};

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

  // State outside x that training changes, or null (the default: most
  // objectives have none). Its SaveState/LoadState go into checkpoints.
  virtual ModelState* model_state() const { return nullptr; }

  // The precision of the model's parameters, which a round's all-reduce
  // carries: a float32 network sends 4 bytes per parameter, as PyTorch's DDP
  // does; x itself stays float64 on every worker. Default: float64.
  virtual DataType wire_type() const { return DataType::kFloat64; }

  // x's matrix-shaped parameters (a network's weights: `rows` their first
  // dimension, `cols` the rest), which --compress powersgd sends as low-rank
  // factors. Default (linear models): none.
  struct MatrixBlock {
    std::size_t offset = 0, rows = 0, cols = 0;
  };
  virtual std::vector<MatrixBlock> matrix_blocks() const { return {}; }

  // Hooks for the generic code, which knows nothing of the objective's kind;
  // an objective that knows better overrides them. Collectives: every worker
  // calls them and gets the same answer.
  //
  // L̂ (and L̄) of the global f over all workers' shards, computed from the
  // data (the linear models' power iteration). Default: unknown, and
  // EstimateLipschitz takes the largest SmoothnessBound() instead.
  virtual Result<std::optional<SmoothnessConstants>> GlobalSmoothness(Communicator& /*comm*/) const {
    return std::optional<SmoothnessConstants>();
  }
  // The minimiser of the global f when it has a closed form (least squares);
  // `total_samples` over all shards. Default: none, and ComputeOptimum runs L-BFGS.
  virtual Result<std::optional<ExactMinimizer>> SolveExactly(Communicator& /*comm*/,
                                                             std::size_t /*total_samples*/) const {
    return std::optional<ExactMinimizer>();
  }

  // The smallest batch a gradient call takes (default: 1, any).
  virtual BatchFloor MinimumBatch() const { return {}; }

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
  ModelState* model_state() const override { return base_.model_state(); }  // the model is f's
  DataType wire_type() const override { return base_.wire_type(); }
  BatchFloor MinimumBatch() const override { return base_.MinimumBatch(); }

 private:
  // grad_sum += Σ_i θ(x − y) over `count` samples; returns Σ_i θ/2 ‖x − y‖².
  double AddProximalTerm(std::span<const double> x, std::size_t count, std::span<double> grad_sum) const;

  const Objective& base_;
  double theta_;
  std::span<const double> center_;
};

}  // namespace crpsgd
