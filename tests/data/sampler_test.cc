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

// A saved state resumes the same draws, mid-pass and across passes, in a
// sampler made with another seed (as a resumed run's is before it loads).
TEST(SamplerTest, SavedStateResumesTheSameDraws) {
  for (Sampling sampling : {Sampling::kWithReplacement, Sampling::kReshuffle}) {
    auto original = MakeSampler(sampling, 10, 3, 1);
    std::vector<std::size_t> draws, expected, resumed;
    original->Next(7, &draws);  // mid-pass
    const std::string state = original->SaveState();
    original->Next(25, &expected);  // across two pass boundaries
    auto other = MakeSampler(sampling, 10, 99, 4);
    ASSERT_TRUE(other->LoadState(state).ok()) << SamplingName(sampling);
    other->Next(25, &resumed);
    EXPECT_EQ(resumed, expected) << SamplingName(sampling);
  }
}

// A state that is not one is refused, and the sampler keeps its own.
TEST(SamplerTest, ABadStateIsRefused) {
  for (Sampling sampling : {Sampling::kWithReplacement, Sampling::kReshuffle}) {
    auto sampler = MakeSampler(sampling, 4, 3, 0);
    for (const char* bad : {"", "not a state", "12 34"}) {
      EXPECT_EQ(sampler->LoadState(bad).code(), StatusCode::kCorruption) << SamplingName(sampling) << ": " << bad;
    }
  }
  auto reshuffle = MakeSampler(Sampling::kReshuffle, 4, 3, 0);
  const std::string good = reshuffle->SaveState();
  std::vector<std::size_t> before, after;
  MakeSampler(Sampling::kReshuffle, 4, 3, 0)->Next(6, &before);
  // The same engine and position with an index past the 4 samples, or one named twice.
  const std::string engine_and_position = good.substr(0, good.size() - std::string(" 0 1 2 3").size());
  for (const char* order : {" 0 1 2 9", " 0 1 1 3"}) {
    EXPECT_EQ(reshuffle->LoadState(engine_and_position + order).code(), StatusCode::kCorruption) << order;
  }
  reshuffle->Next(6, &after);
  EXPECT_EQ(after, before);  // the refused states changed nothing
}

TEST(SamplerTest, ParseNames) {
  EXPECT_EQ(*ParseSampling("with-replacement"), Sampling::kWithReplacement);
  EXPECT_EQ(*ParseSampling("reshuffle"), Sampling::kReshuffle);
  EXPECT_EQ(*ParseSampling("without-replacement"), Sampling::kReshuffle);
  EXPECT_EQ(ParseSampling("random").status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace crpsgd
