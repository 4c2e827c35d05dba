// auto's tail average: a window holds the mean of its iterates, the drift
// test averages a stationary iterate over the longest window and a drifting
// one not at all, and in a run the average beats the last iterate where the
// noise decides the result and changes no bit where the iterate still drifts.
#include "algorithms/tail_average.h"

#include <functional>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "crpsgd/crpsgd.h"
#include "testing/problems.h"

namespace crpsgd::internal {
namespace {

TEST(TailAverageTest, AWindowHoldsTheMeanOfTheIteratesFromItsStart) {
  TailAverageState state;
  TailAverage tail(0.25, 100, state);  // the steps that begin at sample 75 or later
  for (std::uint64_t s = 0; s < 100; s += 2) tail.AddIterate(s, std::vector<double>{double(s), -double(s)});
  const TailWindow* window = tail.Chosen();  // a given share is always taken
  ASSERT_NE(window, nullptr);
  EXPECT_EQ(window->count, 12.0);  // s = 76, 78, ..., 98
  std::vector<double> mean(2);
  tail.MeanOver(*window, mean);
  EXPECT_DOUBLE_EQ(mean[0], 87.0);  // their mean
  EXPECT_DOUBLE_EQ(mean[1], -87.0);

  // Nested windows (auto's): each holds the mean from its own start.
  TailAverageState nested_state;
  TailAverage nested(std::nullopt, 800, nested_state);  // starts 100, 200, 400, 600
  for (std::uint64_t s = 0; s < 800; ++s) nested.AddIterate(s, std::vector<double>{double(s)});
  ASSERT_EQ(nested_state.windows.size(), 4u);
  for (const auto& [index, expected] : {std::pair{0, 449.5}, {1, 499.5}, {2, 599.5}, {3, 699.5}}) {
    std::vector<double> got(1);
    nested.MeanOver(nested_state.windows[static_cast<std::size_t>(index)], got);
    EXPECT_DOUBLE_EQ(got[0], expected) << "window " << index;
  }

  TailAverageState off_state;
  TailAverage off(0.0, 100, off_state);
  EXPECT_FALSE(off.active());
  EXPECT_EQ(off.Chosen(), nullptr);
}

TEST(TailAverageTest, TheDriftIsTheCosineOfConsecutiveMovesOfTheAveragedModel) {
  TailAverageState state;
  TailAverage tail(std::nullopt, 40, state);
  const std::vector<double> x0{0, 0}, x1{1, 0}, x2{0, 0}, x3{0, 2};
  EXPECT_FALSE(tail.AfterRound(0, x0, x1).has_value());   // no move before the first
  EXPECT_DOUBLE_EQ(*tail.AfterRound(10, x1, x2), -1.0);   // back where it was
  EXPECT_DOUBLE_EQ(*tail.AfterRound(20, x2, x3), 0.0);    // at a right angle
  EXPECT_FALSE(tail.AfterRound(30, x3, x3).has_value());  // no move: no cosine
}

// The averaged model of `rounds` rounds of 10 samples follows `path`; the
// share auto's drift test averages (0: the last iterate).
double ChosenShare(const std::function<std::vector<double>(int)>& path, int rounds) {
  TailAverageState state;
  TailAverage tail(std::nullopt, 10 * static_cast<std::uint64_t>(rounds), state);
  std::vector<double> before = path(0);
  for (int r = 1; r <= rounds; ++r) {
    const std::vector<double> now = path(r);
    const std::uint64_t start = 10 * static_cast<std::uint64_t>(r - 1);
    for (std::uint64_t s = start; s < start + 10; s += 2) tail.AddIterate(s, now);
    tail.AfterRound(start, before, now);
    before = now;
  }
  const TailWindow* chosen = tail.Chosen();
  return chosen ? chosen->share : 0.0;
}

TEST(TailAverageTest, TheDriftTestAveragesWhereTheIterateHasStoppedTravelling) {
  std::mt19937_64 engine(3);
  std::normal_distribution<double> normal;
  const auto noise = [&](double scale) {
    std::vector<double> x(40);
    for (double& v : x) v = scale * normal(engine);
    return x;
  };
  const std::vector<double> direction = noise(1.0);
  const auto drifting = [&](int r) {
    std::vector<double> x = noise(0.1);
    for (std::size_t j = 0; j < x.size(); ++j) x[j] += r * direction[j];
    return x;
  };
  // Independent draws around a fixed point: moves correlate at −1/2, the longest window.
  EXPECT_EQ(ChosenShare([&](int) { return noise(1.0); }, 80), TailAverage::kAutoShares[0]);
  // Still on its way: moves correlate at about +1, no average.
  EXPECT_EQ(ChosenShare(drifting, 80), 0.0);
  // On its way for the first half, then settled: the windows that reach back
  // into the travel (7/8, 3/4) mean about 0; the last half is averaged.
  EXPECT_EQ(ChosenShare(
                [&](int r) {
                  if (r < 40) return drifting(r);
                  std::vector<double> x = noise(1.0);
                  for (std::size_t j = 0; j < x.size(); ++j) x[j] += 40 * direction[j];
                  return x;
                },
                80),
            0.5);
}

struct TrainedRun {
  Status status;
  RunSummary summary;  // rank 0's
};

TrainedRun TrainOn(const Dataset& data, Problem problem, const TrainOptions& options) {
  TrainedRun run;
  run.status = RunInProcess(4, [&](Communicator& comm) -> Status {
    const LinearModelObjective f(
        problem, SelectRows(data, ShardIndices(data.num_samples(), comm.rank(), 4, options.seed)), 1e-4);
    CRPSGD_ASSIGN_OR_RETURN(RunSummary summary, Train(options, f, comm));
    if (comm.rank() == 0) run.summary = std::move(summary);
    return Status::OK();
  });
  return run;
}

TrainOptions AutoOptions(std::uint64_t seed, double lr, std::optional<double> tail_average) {
  TrainOptions o;
  o.algorithm.kind = AlgorithmKind::kAuto;
  o.algorithm.budget = 2000;
  o.algorithm.rounds = 20;
  o.algorithm.lr = lr;
  if (tail_average) o.algorithm.params.Set("tail_average", *tail_average);
  o.seed = seed;
  return o;
}

// Least squares at a constant step ends in a noise cloud: auto averages it,
// and its f is below the last iterate's at every seed.
TEST(AutoTailAverageTest, TheAverageBeatsTheLastIterateWhereTheNoiseDecides) {
  const Dataset data = testing::SmallDense(4000, 10, SyntheticTask::kRegression);
  for (std::uint64_t seed : {1, 2, 3}) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    const TrainedRun averaged = TrainOn(data, Problem::kLeastSquares, AutoOptions(seed, 0.05, std::nullopt));
    const TrainedRun last = TrainOn(data, Problem::kLeastSquares, AutoOptions(seed, 0.05, 0.0));
    ASSERT_TRUE(averaged.status.ok() && last.status.ok()) << averaged.status.ToString() << last.status.ToString();
    EXPECT_GT(averaged.summary.fields.Number("tail_averaged").value_or(0.0), 0.0);
    EXPECT_EQ(last.summary.fields.Number("tail_averaged"), 0.0);
    EXPECT_LT(averaged.summary.final_loss, last.summary.final_loss);
    EXPECT_EQ(averaged.summary.rounds, last.summary.rounds);    // no round more
    EXPECT_EQ(averaged.summary.bytes + 8, last.summary.bytes);  // the last round sends no noise scalar
  }
}

// Logistic regression at a small step is still travelling at the end: auto
// keeps the last iterate, bit for bit the run without the average.
TEST(AutoTailAverageTest, ADriftingRunKeepsItsLastIterateBitForBit) {
  const Dataset data = testing::SmallDense(400, 6, SyntheticTask::kBinary);
  const TrainedRun chosen = TrainOn(data, Problem::kLogistic, AutoOptions(5, 0.002, std::nullopt));
  const TrainedRun last = TrainOn(data, Problem::kLogistic, AutoOptions(5, 0.002, 0.0));
  ASSERT_TRUE(chosen.status.ok() && last.status.ok()) << chosen.status.ToString() << last.status.ToString();
  EXPECT_EQ(chosen.summary.fields.Number("tail_averaged"), 0.0);
  EXPECT_EQ(chosen.summary.x, last.summary.x);
  EXPECT_EQ(chosen.summary.final_loss, last.summary.final_loss);
}

}  // namespace
}  // namespace crpsgd::internal
