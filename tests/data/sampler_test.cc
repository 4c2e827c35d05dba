#include "crpsgd/sampler.h"

#include <algorithm>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace crpsgd {
namespace {

TEST(SamplerTest, ReshufflePassesVisitEverySampleOncePerPass) {
  auto sampler = MakeSampler(Sampling::kReshuffle, 10, 3, {0, 1});
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
  auto sampler = MakeSampler(Sampling::kWithReplacement, 5, 3, {1, 2});
  std::vector<std::size_t> draws;
  sampler->Next(50000, &draws);
  std::vector<int> counts(5, 0);
  for (std::size_t i : draws) counts.at(i)++;
  for (int c : counts) EXPECT_NEAR(c, 10000, 500);
}

TEST(SamplerTest, SeededByRunSeedAndRank) {
  std::vector<std::size_t> a, b, c, d;
  MakeSampler(Sampling::kWithReplacement, 1000, 7, {2, 4})->Next(20, &a);
  MakeSampler(Sampling::kWithReplacement, 1000, 7, {2, 4})->Next(20, &b);
  MakeSampler(Sampling::kWithReplacement, 1000, 7, {3, 4})->Next(20, &c);
  MakeSampler(Sampling::kWithReplacement, 1000, 8, {2, 4})->Next(20, &d);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_NE(a, d);
}

// A saved state resumes the same draws, mid-pass and across passes, in a
// sampler made with another seed (as a resumed run's is before it loads).
TEST(SamplerTest, SavedStateResumesTheSameDraws) {
  for (Sampling sampling : {Sampling::kWithReplacement, Sampling::kReshuffle}) {
    auto original = MakeSampler(sampling, 10, 3, {1, 2});
    std::vector<std::size_t> draws, expected, resumed;
    original->Next(7, &draws);  // mid-pass
    const std::string state = original->SaveState();
    original->Next(25, &expected);  // across two pass boundaries
    auto other = MakeSampler(sampling, 10, 99, {4, 5});
    ASSERT_TRUE(other->LoadState(state).ok()) << SamplingName(sampling);
    other->Next(25, &resumed);
    EXPECT_EQ(resumed, expected) << SamplingName(sampling);
  }
}

// A state that is not one is refused, and the sampler keeps its own.
TEST(SamplerTest, ABadStateIsRefused) {
  for (Sampling sampling : {Sampling::kWithReplacement, Sampling::kReshuffle}) {
    auto sampler = MakeSampler(sampling, 4, 3, {0, 1});
    for (const char* bad : {"", "not a state", "12 34"}) {
      EXPECT_EQ(sampler->LoadState(bad).code(), StatusCode::kCorruption) << SamplingName(sampling) << ": " << bad;
    }
  }
  auto reshuffle = MakeSampler(Sampling::kReshuffle, 4, 3, {0, 1});
  const std::string good = reshuffle->SaveState();
  std::vector<std::size_t> before, after;
  MakeSampler(Sampling::kReshuffle, 4, 3, {0, 1})->Next(6, &before);
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

// --sampling global: what N workers draw in a step, the N·B next positions of
// one stream, concatenated in rank order.
std::vector<std::size_t> GlobalStep(std::vector<std::unique_ptr<Sampler>>& workers, std::size_t batch) {
  std::vector<std::size_t> step, mine;
  for (auto& worker : workers) {
    worker->Next(worker->Claim(batch), &mine);
    step.insert(step.end(), mine.begin(), mine.end());
  }
  return step;
}

std::vector<std::unique_ptr<Sampler>> GlobalWorkers(std::size_t n, int workers, int plan_workers) {
  std::vector<std::unique_ptr<Sampler>> samplers;
  for (int r = 0; r < workers; ++r)
    samplers.push_back(MakeSampler(Sampling::kGlobal, n, 5, {r, workers, plan_workers}));
  return samplers;
}

// Each epoch the workers together read every sample once, in a new order.
TEST(SamplerTest, GlobalSamplingReadsEverySampleOnceAnEpoch) {
  auto workers = GlobalWorkers(60, 3, 3);
  std::vector<std::size_t> epochs[2];
  for (auto& epoch : epochs) {
    for (int step = 0; step < 5; ++step) {  // 5 steps of 3·4 samples: one epoch
      const std::vector<std::size_t> drawn = GlobalStep(workers, 4);
      epoch.insert(epoch.end(), drawn.begin(), drawn.end());
    }
  }
  EXPECT_NE(epochs[0], epochs[1]);  // reshuffled
  for (auto& epoch : epochs) {
    std::sort(epoch.begin(), epoch.end());
    std::vector<std::size_t> all(60);
    std::iota(all.begin(), all.end(), std::size_t{0});
    EXPECT_EQ(epoch, all);
  }
}

// A run resumed on 2 or 5 workers from a 3-worker run's state reads the very
// samples the 3 workers would have, in the same order: each step's 3·B split
// into shares that differ by at most one (a share may be empty).
TEST(SamplerTest, GlobalSamplingGoesOnOnAnotherNumberOfWorkers) {
  auto three = GlobalWorkers(50, 3, 3);
  for (int step = 0; step < 4; ++step) GlobalStep(three, 3);  // mid-epoch
  const std::string state = three[0]->SaveState();
  for (auto& w : three) EXPECT_EQ(w->SaveState(), state);  // one cursor, alike everywhere
  std::vector<std::vector<std::size_t>> expected;
  for (int step = 0; step < 7; ++step) expected.push_back(GlobalStep(three, 3));  // across the epoch's end
  for (int others : {2, 5, 10}) {
    auto resumed = GlobalWorkers(50, others, 3);
    for (auto& w : resumed) ASSERT_TRUE(w->ContinueOnOtherWorkers(state, 4).ok());
    for (int step = 0; step < 7; ++step) {
      std::vector<std::size_t> shares;
      for (auto& w : resumed) shares.push_back(w->Claim(3));
      EXPECT_EQ(std::accumulate(shares.begin(), shares.end(), std::size_t{0}), 9u);
      EXPECT_LE(*std::max_element(shares.begin(), shares.end()) - *std::min_element(shares.begin(), shares.end()), 1u);
      std::vector<std::size_t> drawn, mine;
      for (std::size_t r = 0; r < resumed.size(); ++r) {
        resumed[r]->Next(shares[r], &mine);
        drawn.insert(drawn.end(), mine.begin(), mine.end());
      }
      EXPECT_EQ(drawn, expected[static_cast<std::size_t>(step)]) << others << " workers, step " << step;
    }
  }
}

// Resuming elsewhere: with replacement each new rank gets a stream of its own;
// reshuffle refuses, naming the way out; a global state that is not one is refused.
TEST(SamplerTest, OnlyReshuffleCannotGoOnOnOtherWorkers) {
  auto reshuffle = MakeSampler(Sampling::kReshuffle, 10, 3, {0, 2});
  const Status refused = reshuffle->ContinueOnOtherWorkers(reshuffle->SaveState(), 4);
  EXPECT_EQ(refused.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(refused.message().find("--sampling global"), std::string::npos) << refused.message();
  std::vector<std::size_t> a, b, c;
  auto first = MakeSampler(Sampling::kWithReplacement, 1000, 3, {0, 2});
  auto second = MakeSampler(Sampling::kWithReplacement, 1000, 3, {1, 2});
  const std::string state = first->SaveState();
  ASSERT_TRUE(first->ContinueOnOtherWorkers(state, 4).ok());
  ASSERT_TRUE(second->ContinueOnOtherWorkers(state, 4).ok());
  first->Next(20, &a), second->Next(20, &b);
  MakeSampler(Sampling::kWithReplacement, 1000, 3, {0, 2})->Next(20, &c);
  EXPECT_NE(a, b);
  EXPECT_NE(a, c);  // not the stream the run began with
  auto global = MakeSampler(Sampling::kGlobal, 10, 3, {0, 1});
  for (const char* bad : {"", "global", "12", "reshuffle 3"}) {
    EXPECT_EQ(global->LoadState(bad).code(), StatusCode::kCorruption) << bad;
  }
}

}  // namespace
}  // namespace crpsgd
