// --overlap: a round's exchange on a thread of its own, while the worker's
// next local steps compute (the delayed outer step of Streaming DiLoCo,
// Douillard et al. 2025, and of Kale et al. 2025, arXiv 2502.12996).
//
// The communicator is used by the exchange's thread alone between Start and
// Finish: the caller makes no collective call in between (the contract of a
// Communicator, which is not thread safe, holds because the thread's start
// and join order every use). Under mpirun that thread calls MPI, which the
// session initialises for (MPI_THREAD_SERIALIZED).
#pragma once

#include <chrono>
#include <exception>
#include <string>
#include <span>
#include <thread>
#include <vector>

#include "algorithms/round_exchange.h"
#include "crpsgd/communicator.h"
#include "crpsgd/objective.h"
#include "crpsgd/status.h"

namespace crpsgd::internal {

// f's model state as the round averages it (empty where it has none).
inline std::vector<double> AveragedStateOf(const Objective& f) {
  const ModelState* state = f.model_state();
  return state != nullptr ? state->AveragedValues() : std::vector<double>();
}

// out <- a − b: a round's step, start − x.
inline void Difference(std::span<const double> a, std::span<const double> b, std::vector<double>& out) {
  out.resize(a.size());
  for (std::size_t j = 0; j < a.size(); ++j) out[j] = a[j] - b[j];
}

class BackgroundExchange {
 public:
  BackgroundExchange(RoundExchange& exchange, Communicator& comm) : exchange_(exchange), comm_(comm) {}
  ~BackgroundExchange() {
    if (thread_.joinable()) thread_.join();  // an early return: the exchange ends before its buffers do
  }
  BackgroundExchange(const BackgroundExchange&) = delete;
  BackgroundExchange& operator=(const BackgroundExchange&) = delete;

  // Starts averaging copies of `values` and `state` (RoundExchange::AverageApart).
  void Start(std::span<const double> values, std::span<const double> state) {
    values_.assign(values.begin(), values.end());
    state_.assign(state.begin(), state.end());
    thread_ = std::thread([this] {
      try {
        status_ = exchange_.AverageApart(comm_, values_, state_);
      } catch (const std::exception& e) {  // as a worker's own throw: its error, not the process's end
        status_ = Status::Internal(std::string("the round's exchange threw: ") + e.what());
      }
    });
  }
  bool pending() const { return thread_.joinable(); }

  // Waits for the exchange Start began; the means, or its error. The wait is
  // the communication the local steps did not hide (exposed_s).
  Status Finish(std::vector<double>& values, std::vector<double>& state) {
    const auto t0 = std::chrono::steady_clock::now();
    thread_.join();
    last_exposed_s_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    exposed_s_ += last_exposed_s_;
    CRPSGD_RETURN_IF_ERROR(status_);
    values.swap(values_);
    state.swap(state_);
    return Status::OK();
  }
  double last_exposed_s() const { return last_exposed_s_; }  // the last Finish's wait
  double exposed_s() const { return exposed_s_; }            // every Finish's

 private:
  RoundExchange& exchange_;
  Communicator& comm_;
  std::vector<double> values_, state_;
  Status status_;
  std::thread thread_;
  double last_exposed_s_ = 0.0, exposed_s_ = 0.0;
};

}  // namespace crpsgd::internal
