#include <algorithm>
#include <set>

#include <gtest/gtest.h>

#include "crpsgd/dataset.h"
#include "testing/problems.h"

namespace crpsgd {
namespace {

TEST(ShardIndicesTest, ShardsPartitionTheDataIntoNearEqualSortedParts) {
  for (int size : {1, 3, 10}) {
    std::set<std::size_t> seen;
    std::size_t smallest = 1000, largest = 0;
    for (int rank = 0; rank < size; ++rank) {
      const auto shard = ShardIndices(103, rank, size, 5);
      EXPECT_TRUE(std::is_sorted(shard.begin(), shard.end()));
      smallest = std::min(smallest, shard.size());
      largest = std::max(largest, shard.size());
      for (std::size_t i : shard) EXPECT_TRUE(seen.insert(i).second) << "index " << i << " in two shards";
    }
    EXPECT_EQ(seen.size(), 103u);
    EXPECT_LE(largest - smallest, 1u);
  }
}

TEST(ShardIndicesTest, PartitionDependsOnTheSeedOnly) {
  EXPECT_EQ(ShardIndices(1000, 2, 4, 9), ShardIndices(1000, 2, 4, 9));
  EXPECT_NE(ShardIndices(1000, 2, 4, 9), ShardIndices(1000, 2, 4, 10));
  // A random partition, not contiguous blocks.
  const auto shard = ShardIndices(1000, 0, 4, 9);
  EXPECT_GT(shard.back() - shard.front(), 500u);
}

TEST(DatasetTest, SelectRowsKeepsOrderForDenseAndSparse) {
  const Dataset dense = testing::SmallDense(10, 4, SyntheticTask::kBinary);
  const Dataset sparse = testing::ToSparse(dense);
  const std::vector<std::size_t> rows = {7, 2, 2};
  const Dataset d = SelectRows(dense, rows);
  const Dataset s = SelectRows(sparse, rows);
  ASSERT_EQ(d.num_samples(), 3u);
  ASSERT_EQ(s.num_samples(), 3u);
  EXPECT_EQ(s.num_features(), 4u);
  for (std::size_t k = 0; k < rows.size(); ++k) {
    EXPECT_EQ(d.labels[k], dense.labels[rows[k]]);
    EXPECT_EQ(s.labels[k], dense.labels[rows[k]]);
    for (int j = 0; j < 4; ++j) {
      EXPECT_EQ(d.dense(k, j), dense.dense(rows[k], j));
      EXPECT_EQ(s.sparse.coeff(k, j), sparse.sparse.coeff(rows[k], j));
    }
  }
}

TEST(DatasetTest, AppendBiasFeatureAddsAConstantColumn) {
  Dataset dense = testing::SmallDense(5, 3, SyntheticTask::kRegression);
  Dataset sparse = testing::ToSparse(dense);
  AppendBiasFeature(dense, 1.5);
  AppendBiasFeature(sparse, 1.5);
  ASSERT_EQ(dense.num_features(), 4u);
  ASSERT_EQ(sparse.num_features(), 4u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(dense.dense(i, 3), 1.5);
    EXPECT_EQ(sparse.sparse.coeff(i, 3), 1.5);
  }
}

TEST(SyntheticTest, DeterministicAndValidated) {
  SyntheticOptions options;
  options.samples = 50;
  options.features = 4;
  const Dataset a = MakeSynthetic(options).value(), b = MakeSynthetic(options).value();
  EXPECT_EQ(a.dense, b.dense);
  EXPECT_EQ(a.labels, b.labels);
  options.seed = 2;
  EXPECT_NE(MakeSynthetic(options)->dense, a.dense);
  options.samples = 0;
  EXPECT_EQ(MakeSynthetic(options).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace crpsgd
