// A fixed set of helper threads for fork-join loops: the linear models split
// each large batch into chunks, and starting threads for every micro-batch
// cost more than the chunks saved.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace crpsgd {

class ForkJoinPool {
 public:
  // `helpers` threads besides the caller's (0: Run does everything itself).
  explicit ForkJoinPool(int helpers);
  ~ForkJoinPool();
  ForkJoinPool(const ForkJoinPool&) = delete;
  ForkJoinPool& operator=(const ForkJoinPool&) = delete;

  std::size_t helpers() const { return threads_.size(); }

  // Runs task(k) for every k in [0, chunks) and returns when all are done:
  // chunk 0 on the calling thread, chunk k ≥ 1 on helper k − 1. chunks − 1
  // must not exceed helpers(). Callers that find the pool busy (another
  // thread's Run in progress) run every chunk themselves, in order: the same
  // chunks, so the same results.
  void Run(std::size_t chunks, const std::function<void(std::size_t)>& task);

 private:
  void Serve(std::size_t chunk);

  std::mutex busy_;  // one Run at a time uses the helpers
  std::mutex mu_;
  std::condition_variable start_, done_;
  const std::function<void(std::size_t)>* task_ = nullptr;
  std::size_t chunks_ = 0, pending_ = 0;
  std::uint64_t generation_ = 0;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace crpsgd
