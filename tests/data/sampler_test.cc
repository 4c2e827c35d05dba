#include "crpsgd/sampler.h"

#include <algorithm>
#include <vector>

#include <gtest/gtest.h>

namespace crpsgd {
namespace {

TEST(SamplerTest, ReshufflePassesVisitEverySampleOncePerPass) {
  auto sampler = MakeSampler(Sampling::kReshuffle, 10, 3, 0);
  std::vector<std::size_t> a, b, c;
  sampler->Next(4, &a);
  sampler->Next(6, &b);  // completes the first pass
  a.insert(a.end(), b.begin(), b.end());
  std::vector<std::size_t> sorted = a;
  std::sort(sorted.begin(), sorted.end());
  for (std::size_t i = 0; i < 10; ++i) EXPECT_EQ(sorted[i], i);
  sampler->Next(10, &c);  // the second pass is another permutation
  EXPECT_NE(c, a);
  std::sort(c.begin(), c.end());
  EXPECT_EQ(c, sorted);
}

TEST(SamplerTest, WithReplacementIsUniformAndRepeats) {
  auto sampler = MakeSampler(Sampling::kWithReplacement, 5, 3, 1);
  std::vector<std::size_t> draws;
  sampler->Next(50000, &draws);
  std::vector<int> counts(5, 0);
  for (std::size_t i : draws) counts.at(i)++;
  for (int c : counts) EXPECT_NEAR(c, 10000, 500);
}

TEST(SamplerTest, SeededByRunSeedAndRank) {
  std::vector<std::size_t> a, b, c, d;
  MakeSampler(Sampling::kWithReplacement, 1000, 7, 2)->Next(20, &a);
  MakeSampler(Sampling::kWithReplacement, 1000, 7, 2)->Next(20, &b);
  MakeSampler(Sampling::kWithReplacement, 1000, 7, 3)->Next(20, &c);
  MakeSampler(Sampling::kWithReplacement, 1000, 8, 2)->Next(20, &d);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_NE(a, d);
}

TEST(SamplerTest, ParseNames) {
  EXPECT_EQ(*ParseSampling("with-replacement"), Sampling::kWithReplacement);
  EXPECT_EQ(*ParseSampling("reshuffle"), Sampling::kReshuffle);
  EXPECT_EQ(*ParseSampling("without-replacement"), Sampling::kReshuffle);
  EXPECT_EQ(ParseSampling("random").status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace crpsgd
