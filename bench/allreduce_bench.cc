// The communicator's all-reduce against a bare MPI_Allreduce on the same
// buffers, 1 KB to 64 MB. Run under mpirun (2 and 4 ranks in bench/run.sh).
// For each size: per-call time (median over repetitions of the slowest rank,
// the three kinds of call interleaved)
// of MPI_Allreduce, of crpsgd's native reduction (the same call behind the
// Communicator: the wrapper's cost) and of crpsgd's ordered reduction (the
// bit-identical default: reduce-scatter in rank order plus allgather).
// Prints a markdown table on rank 0. Plain MPI timing, not Google Benchmark:
// every rank must run the same number of collectives.
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "crpsgd/mpi.h"

namespace {

using Clock = std::chrono::steady_clock;

// The slowest rank's time of one call, in seconds.
template <class F>
double TimeCall(F&& call) {
  MPI_Barrier(MPI_COMM_WORLD);
  const auto t0 = Clock::now();
  call();
  double t = std::chrono::duration<double>(Clock::now() - t0).count();
  MPI_Allreduce(MPI_IN_PLACE, &t, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  return t;
}

double Median(std::vector<double> times) {
  std::nth_element(times.begin(), times.begin() + times.size() / 2, times.end());
  return times[times.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  crpsgd::MpiSession session(&argc, &argv);
  const int rank = session.world_rank(), size = session.world_size();
  auto ordered = crpsgd::MakeMpiCommunicator(crpsgd::MpiReduction::kOrdered).value();
  auto native = crpsgd::MakeMpiCommunicator(crpsgd::MpiReduction::kNative).value();
  if (rank == 0) {
    std::printf(
        "| bytes | MPI_Allreduce | crpsgd native | overhead | crpsgd ordered | vs MPI_Allreduce |\n"
        "|---|---|---|---|---|---|\n");
  }
  for (std::size_t bytes = 1024; bytes <= (std::size_t{64} << 20); bytes *= 4) {
    std::vector<double> buffer(bytes / sizeof(double));
    const auto refill = [&] { std::fill(buffer.begin(), buffer.end(), 1.0 / (rank + 1)); };  // no overflow
    const int reps = static_cast<int>(std::clamp<std::size_t>((std::size_t{512} << 20) / bytes, 7, 401));
    // The three take turns within every repetition, so that the machine's
    // slow and fast phases (a shared VM has both) fall on all of them alike.
    std::vector<double> bare_times, wrapped_times, ordered_times;
    for (int r = 0; r < reps; ++r) {
      refill();
      bare_times.push_back(TimeCall([&] {
        MPI_Allreduce(MPI_IN_PLACE, buffer.data(), static_cast<int>(buffer.size()), MPI_DOUBLE, MPI_SUM,
                      MPI_COMM_WORLD);
      }));
      refill();
      wrapped_times.push_back(TimeCall([&] { (void)native->AllreduceSum(buffer, crpsgd::Traffic::kTraining); }));
      refill();
      ordered_times.push_back(TimeCall([&] { (void)ordered->AllreduceSum(buffer, crpsgd::Traffic::kTraining); }));
    }
    const double bare = Median(bare_times), wrapped = Median(wrapped_times), ours = Median(ordered_times);
    if (rank == 0) {
      std::printf("| %zu | %.1f us | %.1f us | %+.1f%% | %.1f us | %.2fx |\n", bytes, bare * 1e6, wrapped * 1e6,
                  100 * (wrapped / bare - 1), ours * 1e6, ours / bare);
    }
  }
  if (rank == 0) std::printf("\n%d ranks, median of the slowest rank per call\n", size);
  return 0;
}
