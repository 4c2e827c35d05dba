// The learning-rate range test (step_search.h) on a problem whose best step
// is known: least squares, where SGD is stable below 2/L and fastest near 1/L.
#include <gtest/gtest.h>

#include "crpsgd/crpsgd.h"
#include "testing/problems.h"

namespace crpsgd {
namespace {

TEST(StepSearchTest, FindsAStepBelowTheStabilityLimitOfAKnownQuadratic) {
  const Dataset data = testing::SmallDense(2000, 10, SyntheticTask::kRegression);
  double smoothness = 0.0;
  std::vector<StepSearchResult> found(2);
  ASSERT_TRUE(RunInProcess(2, [&](Communicator& comm) -> Status {
                const LinearModelObjective f(Problem::kLeastSquares,
                                             SelectRows(data, ShardIndices(data.num_samples(), comm.rank(), 2, 1)),
                                             1e-3);
                CRPSGD_ASSIGN_OR_RETURN(const SmoothnessEstimate l, EstimateLipschitz(f, comm));
                if (comm.rank() == 0) smoothness = l.value;
                StepSearchOptions options;
                options.batch = 16;  // little noise: the limit is the curvature's
                CRPSGD_ASSIGN_OR_RETURN(found[comm.rank()], SearchStep(f, comm, options));
                return Status::OK();
              }).ok());
  const StepSearchResult& r = found[0];
  EXPECT_EQ(r.lr, found[1].lr);  // every worker takes the same step
  // The loss is lowest below 2/L (past it SGD on a quadratic diverges) and
  // near 1/L (smaller steps are slower): the step is a tenth of it, stable.
  EXPECT_LT(r.lowest_loss_lr, 2.0 / smoothness) << "L = " << smoothness;
  EXPECT_GT(r.lowest_loss_lr, 0.1 / smoothness) << "L = " << smoothness;
  EXPECT_DOUBLE_EQ(r.lr, r.lowest_loss_lr / 10.0);
  EXPECT_LT(r.lr, 1.0 / smoothness);
  // It stopped once the loss blew up, well before the largest step.
  EXPECT_LT(r.lrs.back(), 10.0);
  EXPECT_GE(r.samples, 16u * r.lrs.size());  // the steps taken, and the one whose loss was not finite
  EXPECT_LE(r.samples, 16u * (r.lrs.size() + 1));
  EXPECT_NE(r.why.find("range test"), std::string::npos);
}

TEST(StepSearchTest, ALossThatDoesNotFallGrowsTheBatchThenNamesLr) {
  // Labels independent of the features: no step lowers the loss by a tenth.
  Dataset data = testing::SmallDense(3000, 5, SyntheticTask::kRegression);
  for (std::size_t i = 0; i < data.labels.size(); ++i) data.labels[i] = (i % 2 == 0 ? 1.0 : -1.0);
  ASSERT_TRUE(RunInProcess(1, [&](Communicator& comm) -> Status {
                const LinearModelObjective f(Problem::kLeastSquares, data, 1e-3);
                StepSearchOptions options;
                options.batch = 4;
                options.largest_batch = 64;  // tests at 4, 16 and 64 samples
                const Result<StepSearchResult> r = SearchStep(f, comm, options);
                EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
                EXPECT_NE(r.status().message().find("found no step that lowers the loss"), std::string::npos)
                    << r.status().message();
                EXPECT_NE(r.status().message().find("up to 64 samples"), std::string::npos) << r.status().message();
                EXPECT_NE(r.status().message().find("pass --lr"), std::string::npos);
                return Status::OK();
              }).ok());
}

TEST(StepSearchTest, RefusesAnEmptyRangeOfSteps) {
  const Dataset data = testing::SmallDense(50, 3, SyntheticTask::kRegression);
  ASSERT_TRUE(RunInProcess(1, [&](Communicator& comm) -> Status {
                const LinearModelObjective f(Problem::kLeastSquares, data, 1e-3);
                StepSearchOptions bad;
                bad.largest = bad.smallest;
                EXPECT_EQ(SearchStep(f, comm, bad).status().code(), StatusCode::kInvalidArgument);
                return Status::OK();
              }).ok());
}

}  // namespace
}  // namespace crpsgd
