#include "crpsgd/allocator.h"

#include <cstdlib>
#include <cstring>

#include <gtest/gtest.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace crpsgd {
namespace {

#if defined(__GLIBC__)
// Bytes the allocator holds in blocks mapped on their own.
std::size_t MappedBytes() { return mallinfo2().hblkhd; }

TEST(AllocatorTest, ALargeBlockIsTakenFromTheHeapAndKeptForReuse) {
  ASSERT_TRUE(KeepFreedMemoryForReuse());
  // 64 MiB: glibc's default maps any block above 32 MiB on its own, and
  // unmaps it on free, so that the next one faults its pages in again.
  constexpr std::size_t kBlock = std::size_t{64} << 20;
  const std::size_t mapped_before = MappedBytes();
  char* block = static_cast<char*>(std::malloc(kBlock));
  ASSERT_NE(block, nullptr);
  std::memset(block, 1, kBlock);
  EXPECT_EQ(MappedBytes(), mapped_before) << "the block was mapped on its own";
  const std::size_t heap_with_block = mallinfo2().arena;
  std::free(block);
  EXPECT_GE(mallinfo2().arena, heap_with_block) << "the heap was trimmed: the next block would fault in again";
}
#endif

}  // namespace
}  // namespace crpsgd
