// libFuzzer harness: any bytes as a LIBSVM file. The reader must return a
// Status, never crash, hang or allocate without bound.
#include "crpsgd/dataset.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = crpsgd::fuzz::WriteInput(".libsvm", data, size);
  (void)crpsgd::ReadLibsvm(path);
  return 0;
}
