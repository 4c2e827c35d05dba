// A communication round's one all-reduce: the workers' gradients (PSGD,
// CR-PSGD) or models (local SGD) averaged in the model's own precision, with
// the model's averaged state (batch-norm statistics) in the same message.
#pragma once

#include <span>
#include <vector>

#include "crpsgd/communicator.h"
#include "crpsgd/objective.h"

namespace crpsgd::internal {

class RoundExchange {
 public:
  // `with_state`: f's model state rides along (local SGD averages it with
  // the models; a gradient round leaves it to the evaluations).
  RoundExchange(const Objective& f, bool with_state)
      : wire_(f.wire_type()), state_(with_state ? f.model_state() : nullptr) {}

  // values <- their mean over workers, summed in rank order (Communicator's
  // contract), sent as Objective::wire_type: float64 passes `values` as they
  // are (a linear model's bits are those of a plain AllreduceMean); float32
  // rounds them once and the mean comes back widened. Counted as one round.
  Status Average(Communicator& comm, std::span<double> values);

 private:
  template <class T>
  Status AverageAs(Communicator& comm, std::span<double> values, std::span<const double> state, std::vector<T>& wire);

  DataType wire_;
  ModelState* state_;
  std::vector<float> wire32_;  // reused from round to round
  std::vector<double> wire64_;
};

}  // namespace crpsgd::internal
