// A communication round's one all-reduce: the workers' gradients (PSGD,
// CR-PSGD) or models (local SGD) averaged in the model's own precision, with
// the model's averaged state (batch-norm statistics) in the same message; or,
// with --compress, the gradient or the model's step sent compressed, with
// error feedback.
#pragma once

#include <span>
#include <vector>

#include "crpsgd/communicator.h"
#include "crpsgd/compression.h"
#include "crpsgd/objective.h"

namespace crpsgd::internal {

class RoundExchange {
 public:
  // `with_state`: f's model state rides along (local SGD averages it with
  // the models; a gradient round leaves it to the evaluations).
  // `residual`: with compression, what this worker's messages have lost so
  // far (error feedback; the algorithm's state, so that a checkpoint keeps it).
  RoundExchange(const Objective& f, bool with_state, Compression compression = Compression::kNone,
                std::vector<double>* residual = nullptr)
      : wire_(f.wire_type()),
        state_(with_state ? f.model_state() : nullptr),
        compression_(compression),
        residual_(residual != nullptr ? residual : &own_residual_) {}

  // values <- their mean over workers, summed in rank order (Communicator's
  // contract), sent as Objective::wire_type: float64 passes `values` as they
  // are (a linear model's bits are those of a plain AllreduceMean); float32
  // rounds them once and the mean comes back widened. Counted as one round.
  // Compressed: each worker sends values + its residual and keeps what the
  // wire lost of that as its next residual.
  Status Average(Communicator& comm, std::span<double> values);
  // Models: x <- the workers' mean model. Compressed, the message is the
  // step since the round began, start − x (what error feedback corrects is
  // a step, not a model), and x = start − its mean.
  Status AverageModels(Communicator& comm, std::span<double> x, std::span<const double> start);

 private:
  template <class T>
  Status AverageAs(Communicator& comm, std::span<double> values, std::span<const double> state, std::vector<T>& wire);
  Status AverageCompressed(Communicator& comm, std::span<double> values, std::span<const double> state);
  // values <- the mean's first values.size(); the model's state <- the rest.
  template <class T>
  void TakeMean(std::span<const T> mean, std::span<double> values);

  DataType wire_;
  ModelState* state_;
  Compression compression_;
  std::vector<double>* residual_;
  std::vector<double> own_residual_;  // where the caller keeps none
  std::vector<float> wire32_;         // reused from round to round
  std::vector<double> wire64_, message_, sent_, step_;
};

}  // namespace crpsgd::internal
