#include "util/rng.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

namespace crpsgd {
namespace {

TEST(RngTest, SameSeedSameSequenceDifferentStreamsDiffer) {
  Rng a(DeriveSeed(42, RngStream::kSampler, 3)), b(DeriveSeed(42, RngStream::kSampler, 3));
  Rng c(DeriveSeed(42, RngStream::kSampler, 4)), d(DeriveSeed(42, RngStream::kShard, 3));
  int equal_c = 0, equal_d = 0;
  for (int i = 0; i < 100; ++i) {
    const auto va = a.NextU64();
    EXPECT_EQ(va, b.NextU64());
    equal_c += va == c.NextU64();
    equal_d += va == d.NextU64();
  }
  EXPECT_EQ(equal_c, 0);
  EXPECT_EQ(equal_d, 0);
}

TEST(RngTest, UniformIndexCoversRangeEvenly) {
  Rng rng(1);
  std::vector<int> counts(7, 0);
  for (int i = 0; i < 70000; ++i) counts[rng.UniformIndex(7)]++;
  for (int c : counts) EXPECT_NEAR(c, 10000, 500);  // ~5 sigma
}

TEST(RngTest, NormalHasUnitMomentsAndShuffleIsAPermutation) {
  Rng rng(2);
  double sum = 0, sq = 0;
  const int n = 200000;
  for (int i = 0; i < n; ++i) {
    const double z = rng.Normal();
    sum += z;
    sq += z * z;
  }
  EXPECT_NEAR(sum / n, 0.0, 0.01);
  EXPECT_NEAR(sq / n, 1.0, 0.02);
  std::vector<int> v(50);
  std::iota(v.begin(), v.end(), 0);
  rng.Shuffle(v);
  EXPECT_FALSE(std::is_sorted(v.begin(), v.end()));
  std::sort(v.begin(), v.end());
  for (int i = 0; i < 50; ++i) EXPECT_EQ(v[i], i);
}

}  // namespace
}  // namespace crpsgd
