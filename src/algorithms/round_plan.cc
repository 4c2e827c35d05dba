#include "crpsgd/round_plan.h"

#include "algorithms/round_exchange.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <sstream>
#include <vector>

namespace crpsgd {
namespace {

// The largest of 1, 1.5, 2, 3, 5, 7 × 10^k at most `value` (≥ 1): a measured
// bound that moves by a few percent between runs mostly gives the same plan.
std::uint64_t RoundDownToSeries(double value) {
  if (!(value >= 1.0)) return 1;
  if (value >= 1e15) return static_cast<std::uint64_t>(1e15);
  double decade = std::pow(10.0, std::floor(std::log10(value)));
  double best = decade;
  for (double step : {1.0, 1.5, 2.0, 3.0, 5.0, 7.0, 10.0}) {
    if (step * decade <= value * (1.0 + 1e-12)) best = step * decade;
  }
  return static_cast<std::uint64_t>(std::llround(best));
}

using Clock = std::chrono::steady_clock;
double SecondsSince(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

}  // namespace

RoundPlan PlanRounds(const RoundCosts& costs, std::uint64_t budget, std::uint64_t smallest_batch, double comm_share) {
  RoundPlan plan;
  const std::uint64_t most =
      std::max<std::uint64_t>(1, std::min(kMostPlannedRounds, budget / std::max<std::uint64_t>(1, smallest_batch)));
  const double compute_s = static_cast<double>(budget) * costs.sample_s;
  const double allowed_s = std::max(comm_share / (1.0 - comm_share) * compute_s, kFreeCommSeconds);
  const double bound = costs.round_s > 0.0 ? allowed_s / costs.round_s : static_cast<double>(most);
  const std::uint64_t wanted = bound >= static_cast<double>(most) ? most : RoundDownToSeries(bound);
  plan.rounds = std::clamp(wanted, std::min(kFewestPlannedRounds, most), most);
  const double comm_s = static_cast<double>(plan.rounds) * costs.round_s;
  plan.comm_share = comm_s + compute_s > 0.0 ? comm_s / (comm_s + compute_s) : 0.0;
  std::ostringstream os;
  os.precision(3);
  os << "plan: " << plan.rounds << " rounds (--rounds " << plan.rounds << " repeats it): a round costs "
     << costs.round_s << " s (" << costs.bytes << " bytes: ";
  if (costs.one_machine) {
    os << "free within one machine";
  } else {
    os << costs.measured_s << " s measured";
  }
  if (costs.modelled_s > 0.0) os << " + " << costs.modelled_s << " s on --net-model's link";
  os << "), a sample's gradient " << costs.sample_s << " s, so " << budget << " samples a worker compute for "
     << compute_s << " s; communication within " << 100.0 * comm_share << "% of the wall time (--comm-share), or "
     << kFreeCommSeconds << " s in all, allows " << std::floor(bound) << " rounds";
  if (plan.rounds == most && bound > static_cast<double>(most)) {
    os << "; " << most << " is the most this budget can use (" << kMostPlannedRounds
       << " at most, or one local step of " << smallest_batch << " samples a round)";
  } else if (bound < static_cast<double>(plan.rounds)) {
    os << "; " << plan.rounds << " is the fewest auto takes, so communication takes about " << 100.0 * plan.comm_share
       << "% (a slow link: consider a larger --comm-share or fewer workers)";
  }
  plan.why = os.str();
  return plan;
}

std::uint64_t RoundMessageBytes(const Objective& f, const AlgorithmOptions& options) {
  return internal::RoundExchange::MessageBytes(f, /*with_state=*/true, options);
}

Result<RoundCosts> MeasureRoundCosts(const Objective& f, Communicator& comm, std::uint64_t batch,
                                     std::uint64_t message_bytes, const std::optional<NetworkModel>& net_model) {
  RoundCosts costs;
  const std::size_t dim = f.dim();
  const ModelState* state = f.model_state();
  costs.bytes = message_bytes;

  // A sample's gradient: batches of this run's local step, from x = 0 (the
  // cost of a linear model's or a network's gradient barely depends on x).
  std::vector<double> x(dim, 0.0), grad(dim, 0.0);
  const std::vector<double> start = f.InitialPoint();
  if (start.size() == dim) x = start;
  std::vector<std::size_t> samples(std::min<std::size_t>(std::max<std::uint64_t>(1, batch), f.num_samples()));
  std::iota(samples.begin(), samples.end(), std::size_t{0});
  const bool network = state != nullptr;
  std::uint64_t computed = 0;
  const Clock::time_point t0 = Clock::now();
  do {
    if (network) {
      for (int pass = 0; pass < 3; ++pass) f.Loss(x, samples);  // forward ×3 ≈ forward + backward
    } else {
      f.AddGradient(x, samples, grad);
    }
    computed += samples.size();
  } while (SecondsSince(t0) < 0.05 && computed < 1'000'000);
  const double sample_s = SecondsSince(t0) / static_cast<double>(computed);

  // A round: the all-reduce of a model-sized message, the median of five.
  // Within one machine it is counted free: there it costs microseconds to a
  // few milliseconds (noise, on a busy machine), far below any share of a
  // run's compute, and a plan from noise would make the same command give
  // different rounds, and so different models, from run to run.
  const bool one_machine = comm.machines() == 1;
  double round_s = 0.0;
  if (!one_machine) {
    std::vector<double> message((message_bytes + sizeof(double) - 1) / sizeof(double), 0.0);
    std::vector<double> times;
    CRPSGD_RETURN_IF_ERROR(comm.Barrier());
    for (int k = 0; k < 5; ++k) {
      const Clock::time_point a = Clock::now();
      CRPSGD_RETURN_IF_ERROR(comm.AllreduceMean(std::span<double>(message), Traffic::kEvaluation));
      times.push_back(SecondsSince(a));
    }
    std::nth_element(times.begin(), times.begin() + 2, times.end());
    round_s = times[2];
  }
  // Rank 0's numbers everywhere: every worker must plan the same rounds.
  double measured[2] = {sample_s, round_s};
  CRPSGD_RETURN_IF_ERROR(comm.Broadcast(std::span<double>(measured, 2), 0));
  costs.sample_s = measured[0];
  costs.measured_s = measured[1];
  costs.one_machine = one_machine;
  if (net_model) costs.modelled_s = net_model->AllreduceSeconds(costs.bytes, comm.size());
  costs.round_s = costs.measured_s + costs.modelled_s;
  return costs;
}

}  // namespace crpsgd
