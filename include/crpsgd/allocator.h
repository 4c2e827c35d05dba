// How the process's memory allocator treats what LibTorch frees.
#pragma once

namespace crpsgd {

// Process-wide, and before any thread allocates: glibc's allocator keeps
// freed memory in one heap for reuse (one arena; no mmap below 1 GiB; no trim
// below 1 GiB) instead of returning it to the system. A network's activations
// at a large batch are tens of MB each (ResNet-20 at 1024 samples: 51 MB);
// glibc maps each such tensor afresh and unmaps it when freed, so every step
// faults its pages in again, and in-process workers (threads) map even
// smaller ones from their own arenas. On the 2-core development machine that
// made a sample at a batch of 1024 cost 5x one at 16; kept, 1.2x
// (bench/torch_step_bench, bench/results.md). Nothing computed changes: the
// same bits, in less time; the peak memory stays the same, and is held until
// the process ends. crpsgd train and the benchmarks call it; a program that
// trains networks through the library may. Returns false where the allocator
// refused a setting (not glibc: then nothing is changed).
bool KeepFreedMemoryForReuse();

}  // namespace crpsgd
