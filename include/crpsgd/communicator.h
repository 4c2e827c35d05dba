// Communicator: the only way workers talk to each other.
//
// One Communicator object belongs to one worker (a thread of the inproc backend
// or an MPI rank) and is not thread safe. Every collective must be called by
// all workers in the same order with buffers of the same length.
//
// Contract shared by every backend:
//  * Sums are taken in the fixed rank order 0, 1, ..., N-1, element by element,
//    and the mean is that sum divided by N. Results are therefore bit-identical
//    run to run, and the inproc and mpi (ordered) backends agree bit for bit.
//  * Traffic::kTraining all-reduces are the paper's communication rounds; loss
//    evaluations, the reference solver and setup use Traffic::kEvaluation and
//    never count as rounds.
//  * A peer that failed or aborted makes the call return Status::Unavailable.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "crpsgd/status.h"

namespace crpsgd {

// kRoundPart: a round's second (or later) all-reduce (--compress powersgd's
// Q): its bytes and seconds are the round's, under the round's deadline, but
// it is not another round.
enum class Traffic { kTraining, kEvaluation, kRoundPart };
// kBf16 and int8 blocks are --compress's wires (compression.h): their chunks
// reduce to the encoded mean, not a sum (a sum would not fit). An int8 block
// of L values is the type kInt8Blocks + L (Int8BlocksOf), so that a message
// chooses L to fit its length and the backends still see one element size.
// kBytes: raw bytes that reduce by bitwise or, for buffers whose parts are
// disjoint (zero elsewhere): an exact gather on the all-reduce's path (hosted.h).
enum class DataType : std::uint32_t { kFloat32, kFloat64, kBf16, kBytes, kInt8Blocks };
enum class Compression;  // compression.h

struct TrafficStats {
  std::uint64_t calls = 0;  // collectives; for kTraining these are the rounds
  std::uint64_t bytes = 0;  // payload bytes this worker contributed
  double seconds = 0.0;     // wall time inside the collectives, waiting included
};

struct CommStats {
  TrafficStats training;
  TrafficStats evaluation;
};

// --round-timeout: how long a round (a training all-reduce) may wait for the
// other workers before it fails with Unavailable naming the silent ones and
// the last round every worker completed. Evaluation traffic keeps the
// backend's own limit (--mpi-timeout).
struct RoundTimeout {
  std::chrono::milliseconds fixed{0};  // > 0: this deadline for every round
  // Or, when set: kMultiple × the median of the last 255 rounds (compute and
  // exchange, start to start), at least `floor`, once kAutoAfter are measured.
  bool automatic = false;
  std::chrono::milliseconds floor{std::chrono::seconds(60)};
  static constexpr double kMultiple = 10.0;
  static constexpr std::size_t kAutoAfter = 5;
};
// The deadline of the next round given the rounds measured so far (seconds,
// start to start); 0: none. Pure.
std::chrono::milliseconds RoundDeadline(const RoundTimeout& timeout, std::vector<double> round_seconds);

class Communicator {
 public:
  virtual ~Communicator() = default;
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  virtual const char* backend_name() const = 0;
  // The machines the workers run on: ranks with the same host name and
  // network namespace share one (they can talk through memory). 1 for the
  // inproc backend. auto's round plan counts a link within one machine free.
  virtual int machines() const { return 1; }

  // In place: data <- (1/N) Σ_ranks data, summed in rank order.
  Status AllreduceMean(std::span<double> data, Traffic traffic = Traffic::kTraining);
  Status AllreduceMean(std::span<float> data, Traffic traffic = Traffic::kTraining);
  // In place: data <- the workers' mean, sent compressed (compression.h:
  // each worker's data encoded, the chunks' means encoded again on the way
  // back); counted as the encoded bytes. kNone: AllreduceMean's bits.
  // `sent` (data's length, or empty): what the wire made of this worker's
  // data, decoded from the one encoding it sent (error feedback's need).
  Status AllreduceMeanCompressed(std::span<double> data, Compression compression, Traffic traffic = Traffic::kTraining,
                                 std::span<double> sent = {});
  // In place: data <- Σ_ranks data, summed in rank order.
  Status AllreduceSum(std::span<double> data, Traffic traffic = Traffic::kEvaluation);
  // Every rank's `mine` (the same length on every rank), in rank order, on
  // every rank: [rank 0's ..., rank 1's ..., ...]. Built on one all-reduce of
  // a zero-padded buffer (adding zeros is exact), counted as such.
  Result<std::vector<double>> Allgather(std::span<const double> mine, Traffic traffic = Traffic::kEvaluation);
  // Copies root's data into every rank's buffer. Counted as evaluation traffic.
  Status Broadcast(std::span<double> data, int root);
  Status Barrier();

  const CommStats& stats() const { return stats_; }

  // With `on`, every training all-reduce is preceded by a barrier whose time
  // is not counted: training seconds are then the transfer alone, not the
  // wait for the slowest worker that they otherwise include (for measuring
  // communication cost; one barrier a round more, counted in no traffic).
  void set_barrier_before_rounds(bool on) { barrier_before_rounds_ = on; }
  void set_round_timeout(const RoundTimeout& timeout) { round_timeout_ = timeout; }
  // The run's number of the next training all-reduce (Train: 1, or the round
  // after a resumed checkpoint's), for --round-timeout's message.
  void NumberRoundsFrom(std::uint64_t next_round);

 protected:
  Communicator(int rank, int size) : rank_(rank), size_(size) {}
  // For a communicator that wraps another (FaultInjectingCommunicator): the
  // other's backend calls, uncounted there (the wrapper's public methods count).
  Status ForwardAllreduceSum(Communicator& to, std::span<std::byte> data, DataType type) {
    to.round_deadline_ = round_deadline_, to.round_in_progress_ = round_in_progress_;
    const Status status = to.DoAllreduceSum(data, type);
    to.round_deadline_ = {};
    return status;
  }
  static Status ForwardBroadcast(Communicator& to, std::span<std::byte> data, int root) {
    return to.DoBroadcast(data, root);
  }
  static Status ForwardBarrier(Communicator& to) { return to.DoBarrier(); }
  // For a backend, during DoAllreduceSum: the deadline of the round in
  // progress (--round-timeout; 0: not a round, or none) and its number.
  std::chrono::milliseconds round_deadline() const { return round_deadline_; }
  std::uint64_t round_in_progress() const { return round_in_progress_; }

 private:
  // Backends implement these; the public methods above do the accounting, so
  // no backend can forget to count a round.
  virtual Status DoAllreduceSum(std::span<std::byte> data, DataType type) = 0;
  virtual Status DoBroadcast(std::span<std::byte> data, int root) = 0;
  virtual Status DoBarrier() = 0;
  // Called as a training all-reduce starts, with its round (1, 2, ...): a
  // wrapper's place to act between rounds. The backends do nothing.
  virtual Status BeforeTrainingRound(std::uint64_t /*round*/) { return Status::OK(); }

  // WaitForAll, DoAllreduceSum, then the round's deadline cleared and the
  // call counted (its bytes and time): every public all-reduce goes through it.
  Status CountedAllreduce(std::span<std::byte> data, DataType type, Traffic traffic);
  template <class T>
  Status AllreduceMeanImpl(std::span<T> data, DataType type, Traffic traffic);
  Status Account(Traffic traffic, std::size_t bytes, double seconds, Status status);

  // Before every all-reduce: for training traffic, BeforeTrainingRound and
  // the barrier of set_barrier_before_rounds.
  Status WaitForAll(Traffic traffic);

  int rank_;
  int size_;
  CommStats stats_;
  bool barrier_before_rounds_ = false;
  RoundTimeout round_timeout_;
  static constexpr std::size_t kRoundWindow = 255;  // the rounds whose median sets an automatic deadline
  std::vector<double> round_seconds_;               // their times, start to start
  std::chrono::steady_clock::time_point last_round_start_;
  std::chrono::milliseconds round_deadline_{0};
  std::uint64_t round_in_progress_ = 0;
  std::int64_t round_base_ = 0;  // a round's number less this process's training calls
};

std::size_t DataTypeSize(DataType type);

// Adds `src` into `acc` element-wise (count elements of kFloat32 or kFloat64).
void AddInto(std::byte* acc, const std::byte* src, std::size_t count, DataType type);
// The one reduction kernel every backend uses for a chunk, so that all of
// them round identically: out <- the sum of `count` elements of each source
// in rank order (floats), their encoded mean (kBf16, kInt8Blocks), or their
// bitwise or (kBytes). `out` may be sources[0].
void ReduceChunk(std::byte* out, std::span<const std::byte* const> sources, std::size_t count, DataType type);

}  // namespace crpsgd
