#include "util/fork_join_pool.h"

#include "util/check.h"

namespace crpsgd {

ForkJoinPool::ForkJoinPool(int helpers) {
  for (int k = 1; k <= helpers; ++k) threads_.emplace_back([this, k] { Serve(static_cast<std::size_t>(k)); });
}

ForkJoinPool::~ForkJoinPool() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  start_.notify_all();
  for (std::thread& t : threads_) t.join();
}

void ForkJoinPool::Serve(std::size_t chunk) {
  std::uint64_t seen = 0;
  std::unique_lock lock(mu_);
  for (;;) {
    start_.wait(lock, [&] { return stop_ || generation_ != seen; });
    if (stop_) return;
    seen = generation_;
    if (chunk >= chunks_) continue;  // this loop has fewer chunks than helpers
    const auto* task = task_;
    lock.unlock();
    (*task)(chunk);
    lock.lock();
    if (--pending_ == 0) done_.notify_one();
  }
}

void ForkJoinPool::Run(std::size_t chunks, const std::function<void(std::size_t)>& task) {
  CRPSGD_CHECK(chunks == 0 || chunks - 1 <= threads_.size());
  std::unique_lock busy(busy_, std::try_to_lock);
  if (!busy.owns_lock() || chunks <= 1) {
    for (std::size_t k = 0; k < chunks; ++k) task(k);
    return;
  }
  {
    std::lock_guard lock(mu_);
    task_ = &task;
    chunks_ = chunks;
    pending_ = chunks - 1;
    ++generation_;
  }
  start_.notify_all();
  task(0);
  std::unique_lock lock(mu_);
  done_.wait(lock, [&] { return pending_ == 0; });
}

}  // namespace crpsgd
