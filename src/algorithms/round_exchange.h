// A communication round's one all-reduce: the workers' gradients (PSGD,
// CR-PSGD) or models (local SGD) averaged in the model's own precision, with
// the model's averaged state (batch-norm statistics) in the same message; or,
// with --compress, the gradient or the model's step sent compressed, with
// error feedback: encoded (bf16, int8), or as PowerSGD's low-rank factors.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "crpsgd/algorithm.h"
#include "crpsgd/communicator.h"
#include "crpsgd/compression.h"
#include "crpsgd/objective.h"

namespace crpsgd::internal {

class RoundExchange {
 public:
  // `with_state`: f's model state rides along (local SGD averages it with
  // the models; a gradient round leaves it to the evaluations).
  RoundExchange(const Objective& f, bool with_state)
      : wire_(f.wire_type()), state_(with_state ? f.model_state() : nullptr), residual_(&own_residual_) {}
  // With options.compression. `residual`: what this worker's messages have
  // lost so far (error feedback), and for powersgd the factors Q of the last
  // round behind it (its warm start): the algorithm's state, so that a
  // checkpoint keeps it.
  RoundExchange(const Objective& f, bool with_state, const AlgorithmOptions& options, std::vector<double>* residual)
      : wire_(f.wire_type()),
        state_(with_state ? f.model_state() : nullptr),
        compression_(options.compression),
        rank_(static_cast<std::size_t>(std::max(options.compression_rank, 0))),
        factor_wire_(options.compression_bf16_factors ? Compression::kBf16 : Compression::kNone),
        seed_(options.seed),
        residual_(residual),
        factored_(FactoredBlocks(f, options)) {}

  // values <- their mean over workers, summed in rank order (Communicator's
  // contract), sent as Objective::wire_type: float64 passes `values` as they
  // are (a linear model's bits are those of a plain AllreduceMean); float32
  // rounds them once and the mean comes back widened. Counted as one round.
  // Compressed: each worker sends values + its residual and keeps what the
  // wire lost of that as its next residual; the model's state, which is no
  // step, goes whole in a second all-reduce (powersgd: beside its P).
  Status Average(Communicator& comm, std::span<double> values);
  // Models: x <- the workers' mean model. Compressed, the message is the
  // step since the round began, start − x (what error feedback corrects is
  // a step, not a model), and x = start − its mean.
  Status AverageModels(Communicator& comm, std::span<double> x, std::span<const double> start);
  // Average with the model's state given apart, not read from or written to
  // the model: `state` (empty where none rides along) <- its mean. For an
  // exchange that runs on another thread while the model takes its next
  // steps (--overlap, BackgroundExchange). The same messages and bits.
  Status AverageApart(Communicator& comm, std::span<double> values, std::span<double> state);

  // The bytes a worker sends in a round of f's values (and its state, with
  // `with_state`) with options.compression: what Average puts on the wire.
  static std::uint64_t MessageBytes(const Objective& f, bool with_state, const AlgorithmOptions& options);

 private:
  template <class T>
  Status AverageAs(Communicator& comm, std::span<double> values, std::span<double> state, std::vector<T>& wire,
                   Traffic traffic = Traffic::kTraining);
  Status AverageCompressed(Communicator& comm, std::span<double> values, std::span<double> state);
  // PowerSGD (Vogels et al. 2019): each matrix M (message + residual) as
  // P = M·Q, averaged with the uncompressed values and the state in one
  // all-reduce; P orthonormalised; Q = Mᵀ·P averaged in a second; the mean is
  // P·Qᵀ; Q stays for the next round.
  Status AveragePowerSgd(Communicator& comm, std::span<double> values, std::span<double> state);
  // powersgd: f's matrices whose factors are at most half their size (none otherwise).
  static std::vector<Objective::MatrixBlock> FactoredBlocks(const Objective& f, const AlgorithmOptions& options);
  // On the first round: the residual, and Q's random start.
  void StartPowerSgd(std::size_t n);
  // Means of `values` over the workers on the model's wire, widened back;
  // `sent` (optional): this worker's values as the wire carried them.
  Status MeanOnWire(Communicator& comm, std::span<double> values, Traffic traffic, std::vector<double>* sent);
  // PowerSGD's messages: on the model's wire, or as bf16 (powersgd:R:bf16).
  Status MeanOfFactors(Communicator& comm, std::span<double> values, Traffic traffic, std::vector<double>* sent);
  // values <- the mean's first values.size(); state <- the rest.
  template <class T>
  static void TakeMean(std::span<const T> mean, std::span<double> values, std::span<double> state);

  DataType wire_;
  ModelState* state_;
  Compression compression_ = Compression::kNone;
  std::size_t rank_ = 0;  // powersgd's R
  // powersgd's factors, whole values and state: kNone (the model's wire) or kBf16.
  Compression factor_wire_ = Compression::kNone;
  std::uint64_t seed_ = 0;
  std::vector<double>* residual_;
  std::vector<double> own_residual_;              // where the caller keeps none
  std::vector<Objective::MatrixBlock> factored_;  // powersgd: the matrices it factors
  std::vector<float> wire32_;                     // reused from round to round
  std::vector<double> wire64_, message_, sent_, step_, factors_;
};

}  // namespace crpsgd::internal
