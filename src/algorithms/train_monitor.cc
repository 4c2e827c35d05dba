#include "algorithms/train_monitor.h"

#include <cstdio>

namespace crpsgd::internal {

Status DivergencePolicy::Check(const RoundRecord& record, double loss) {
  if (record.round == 0) first_loss_ = loss;
  if (!(first_loss_ > 0.0)) return Status::OK();  // f(x₀) = 0: nothing to compare with
  char message[512];
  if (loss > options_.divergence_factor * first_loss_) {
    std::snprintf(message, sizeof message,
                  "round %llu: the loss %.6g grew past %g times its start %.6g (the step size is probably too large)",
                  static_cast<unsigned long long>(record.round), loss, options_.divergence_factor, first_loss_);
    return Status::Diverged(message);
  }
  // A warm start may begin at the optimum, where sampling noise alone ends above it.
  if (record.last && loss > first_loss_ && options_.end_below_start && options_.initial_x.empty()) {
    std::snprintf(message, sizeof message,
                  "the loss ended at %.6g, above its start %.6g, after %llu rounds (the step size is probably too "
                  "large for this batch, where --lr auto picks a stable one; or features of very different scales "
                  "leave too few rounds for any stable step: --standardize)",
                  loss, first_loss_, static_cast<unsigned long long>(record.round));
    return Status::Diverged(message);
  }
  return Status::OK();
}

}  // namespace crpsgd::internal
