// SliceObjective: a shard as a view of the whole set's objective gives the
// shard objective's numbers, and shares the whole objective's state.
#include <gtest/gtest.h>

#include "crpsgd/linear_models.h"
#include "crpsgd/slice_objective.h"
#include "testing/problems.h"

namespace crpsgd {
namespace {

TEST(SliceObjectiveTest, ASliceComputesWhatTheShardObjectiveComputes) {
  const Dataset data = testing::SmallDense(60, 5, SyntheticTask::kBinary);
  const std::vector<std::size_t> shard = ShardIndices(data.num_samples(), 1, 3, 7);
  const LinearModelObjective whole(Problem::kLogistic, data, 1e-2);
  const LinearModelObjective own(Problem::kLogistic, SelectRows(data, shard), 1e-2);
  const SliceObjective slice(whole, shard);
  ASSERT_EQ(slice.num_samples(), own.num_samples());
  EXPECT_EQ(slice.dim(), own.dim());
  const std::vector<double> x = {0.3, -0.2, 0.1, 0.5, -0.4};
  const std::vector<std::size_t> samples = {0, 3, 3, 7, slice.num_samples() - 1};
  std::vector<double> from_slice(x.size()), from_own(x.size());
  EXPECT_EQ(slice.AccumulateGradient(x, samples, from_slice), own.AccumulateGradient(x, samples, from_own));
  EXPECT_EQ(from_slice, from_own);
  EXPECT_EQ(slice.Loss(x, samples), own.Loss(x, samples));
  EXPECT_EQ(slice.CountCorrect(x, samples), own.CountCorrect(x, samples));
  EXPECT_EQ(slice.WholeIndices(samples),
            (std::vector<std::size_t>{shard[0], shard[3], shard[3], shard[7], shard.back()}));
  EXPECT_EQ(slice.model_state(), nullptr);  // the whole objective has none to share
}

}  // namespace
}  // namespace crpsgd
