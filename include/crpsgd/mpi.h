// The mpi backend (OpenMPI). Declared without <mpi.h> so that users of the
// core library need no MPI headers; defined in the crpsgd_mpi target.
#pragma once

#include <chrono>
#include <memory>

#include "crpsgd/communicator.h"

namespace crpsgd {

enum class MpiReduction {
  // Alltoall of chunks, each rank sums its chunk in rank order, then allgather:
  // bandwidth-optimal like a ring, and bit-identical to the inproc backend.
  kOrdered,
  // MPI_Allreduce: whatever order the MPI library picks (fastest, not
  // bit-identical to inproc).
  kNative,
};

// True when this process was started by mpirun/mpiexec (OpenMPI or PMIx).
bool LaunchedByMpirun();

// Initialises MPI on construction and finalises it on destruction. One per process.
class MpiSession {
 public:
  MpiSession(int* argc, char*** argv);
  ~MpiSession();
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;
  int world_rank() const;
  int world_size() const;
  // Ends every rank of the job with `exit_code`, for a failure seen by one rank only.
  [[noreturn]] static void AbortJob(int exit_code);
  // Whether the library granted MPI_THREAD_SERIALIZED or more (asked for at
  // start): --overlap's exchange thread calls MPI while the main one computes.
  static bool ThreadsSerialized();
};

// A Communicator over a duplicate of MPI_COMM_WORLD with MPI_ERRORS_RETURN.
// Requires a live MpiSession; collective over MPI_COMM_WORLD (it gathers every
// rank's host name). A collective that waits longer than `timeout` for the
// other ranks (one of them died, hung or became unreachable) returns
// Status::Unavailable naming the ranks, and their hosts, whose data never came;
// the caller then ends the job (MpiSession::AbortJob): never a hang.
// Zero = wait forever.
// How long a collective may wait for the other ranks before the job ends.
inline constexpr std::chrono::seconds kDefaultMpiTimeout{600};

Result<std::unique_ptr<Communicator>> MakeMpiCommunicator(MpiReduction reduction = MpiReduction::kOrdered,
                                                          std::chrono::seconds timeout = kDefaultMpiTimeout);

}  // namespace crpsgd
