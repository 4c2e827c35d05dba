#include "util/fork_join_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace crpsgd {
namespace {

TEST(ForkJoinPoolTest, RunsEveryChunkOnceAndWaitsForAll) {
  ForkJoinPool pool(3);
  EXPECT_EQ(pool.helpers(), 3u);
  for (std::size_t chunks : {0, 1, 2, 4, 3, 4}) {  // fewer chunks than helpers too, and again after
    std::vector<int> runs(chunks, 0);
    pool.Run(chunks, [&](std::size_t k) { ++runs[k]; });
    EXPECT_EQ(runs, std::vector<int>(chunks, 1)) << chunks;
  }
}

TEST(ForkJoinPoolTest, ChunkZeroRunsOnTheCallerAndOthersOnHelpers) {
  ForkJoinPool pool(2);
  std::vector<std::thread::id> where(3);
  pool.Run(3, [&](std::size_t k) { where[k] = std::this_thread::get_id(); });
  EXPECT_EQ(where[0], std::this_thread::get_id());
  EXPECT_NE(where[1], std::this_thread::get_id());
  EXPECT_NE(where[2], std::this_thread::get_id());
  EXPECT_NE(where[1], where[2]);
}

TEST(ForkJoinPoolTest, ConcurrentCallersAllFinish) {
  ForkJoinPool pool(2);
  std::atomic<int> total{0};
  std::vector<std::thread> callers;
  for (int c = 0; c < 4; ++c) {
    callers.emplace_back([&] {
      for (int i = 0; i < 200; ++i) pool.Run(3, [&](std::size_t k) { total += static_cast<int>(k) + 1; });
    });
  }
  for (std::thread& t : callers) t.join();
  EXPECT_EQ(total.load(), 4 * 200 * (1 + 2 + 3));
}

}  // namespace
}  // namespace crpsgd
