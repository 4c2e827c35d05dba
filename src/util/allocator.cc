#include "crpsgd/allocator.h"

#include <cstdlib>  // defines __GLIBC__ on glibc systems

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace crpsgd {

bool KeepFreedMemoryForReuse() {
#if defined(__GLIBC__) && defined(M_ARENA_MAX)
  constexpr int kOneGiB = 1 << 30;
  // One arena: threads' arenas are heaps of at most 64 MiB, which map any
  // larger block on their own whatever the threshold.
  const bool arena = mallopt(M_ARENA_MAX, 1) == 1;
  const bool mmap = mallopt(M_MMAP_THRESHOLD, kOneGiB) == 1;
  const bool trim = mallopt(M_TRIM_THRESHOLD, kOneGiB) == 1;
  return arena && mmap && trim;
#else
  return false;
#endif
}

}  // namespace crpsgd
