#include "crpsgd/step_search.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <sstream>

namespace crpsgd {

namespace {

// One range test at `batch` samples a worker; `result` gets its curve and samples.
Status RangeTest(const Objective& f, Communicator& comm, const StepSearchOptions& o, std::uint64_t batch_size,
                 StepSearchResult& result) {
  std::vector<double> x = f.InitialPoint();
  if (x.size() != f.dim()) {
    x.assign(f.dim(), 0.0);
  } else {
    CRPSGD_RETURN_IF_ERROR(comm.Broadcast(x, 0));  // one starting point, as Train's
  }
  std::vector<double> grad(f.dim()), velocity(o.momentum > 0.0 ? f.dim() : 0);
  const std::size_t shard = f.num_samples();
  const std::size_t batch = std::min<std::size_t>(batch_size, shard);
  std::vector<std::size_t> samples(batch);
  std::size_t cursor = 0;  // samples in order, wrapping around the shard
  result.lrs.clear();
  result.losses.clear();
  result.batch = batch;
  const double growth = std::pow(o.largest / o.smallest, 1.0 / (o.steps - 1));
  double average = 0.0, lowest = INFINITY;
  for (int k = 0; k < o.steps; ++k) {
    const double lr = o.smallest * std::pow(growth, k);
    for (std::size_t& i : samples) i = cursor++ % shard;
    std::fill(grad.begin(), grad.end(), 0.0);
    double loss = f.AccumulateGradient(x, samples, grad) / static_cast<double>(batch);
    result.samples += batch;
    CRPSGD_RETURN_IF_ERROR(comm.AllreduceMean(std::span(&loss, 1), Traffic::kEvaluation));
    if (!std::isfinite(loss)) break;
    average = 0.98 * average + 0.02 * loss;
    const double smoothed = average / (1.0 - std::pow(0.98, k + 1));
    result.lrs.push_back(lr);
    result.losses.push_back(smoothed);
    if (smoothed < lowest) {
      lowest = smoothed;
      result.lowest_loss_lr = lr;
    }
    if (k > 0 && smoothed > 4.0 * lowest) break;  // past the stable range
    for (std::size_t j = 0; j < x.size(); ++j) {  // the step, with the run's momentum
      double d = grad[j] / static_cast<double>(batch);
      if (!velocity.empty()) d = velocity[j] = o.momentum * velocity[j] + d;
      x[j] -= lr * d;
    }
  }
  return Status::OK();
}

// The share by which the smoothed loss fell from the test's first step to its lowest.
double Fall(const StepSearchResult& r) {
  if (r.losses.empty() || !(r.losses.front() > 0.0)) return 0.0;
  return 1.0 - *std::min_element(r.losses.begin(), r.losses.end()) / r.losses.front();
}

}  // namespace

Result<StepSearchResult> SearchStep(const Objective& f, Communicator& comm, const StepSearchOptions& o) {
  if (!(o.smallest > 0.0 && o.largest > o.smallest && o.steps >= 2 && o.divisor >= 1.0 && o.batch >= 1 &&
        o.largest_batch >= o.batch && o.least_fall >= 0.0 && o.least_fall < 1.0)) {
    return Status::InvalidArgument(
        "SearchStep: needs 0 < smallest < largest, steps >= 2, divisor >= 1, 1 <= batch <= largest_batch, "
        "least_fall in [0, 1)");
  }
  StepSearchResult result;
  // Noisy batches can hide the fall of the loss over the test's few steps:
  // the test is repeated with 4x the batch until the loss falls by least_fall.
  for (std::uint64_t batch = o.batch;; batch *= 4) {
    CRPSGD_RETURN_IF_ERROR(RangeTest(f, comm, o, batch, result));
    if (result.losses.empty()) {
      return Status::Diverged("--lr auto: the range test's loss is not finite even at step " +
                              std::to_string(o.smallest) + "; pass --lr");
    }
    if (Fall(result) >= o.least_fall) break;
    if (4 * batch > o.largest_batch || result.batch < batch) {  // the largest batch, or the whole shard
      std::ostringstream os;
      os.precision(3);
      os << "--lr auto: the range test found no step that lowers the loss (it fell by " << 100.0 * Fall(result)
         << "% at most, with batches of up to " << result.batch << " samples a worker and steps from " << o.smallest
         << " to " << o.largest << "); pass --lr (for auto, the step tuned at its local batch, --batch)";
      return Status::InvalidArgument(os.str());
    }
  }
  result.lr = result.lowest_loss_lr / o.divisor;
  std::ostringstream os;
  os.precision(3);
  os << "step " << result.lr << " from a range test (" << result.losses.size() << " steps of " << result.batch
     << " samples a worker from " << o.smallest << " up: the smoothed loss fell by " << 100.0 * Fall(result)
     << "% and was lowest, " << *std::min_element(result.losses.begin(), result.losses.end()) << ", at "
     << result.lowest_loss_lr << "; its 1/" << o.divisor << "; " << result.samples
     << " samples a worker, outside the budget)";
  result.why = os.str();
  return result;
}

}  // namespace crpsgd
