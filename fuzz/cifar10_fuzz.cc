// libFuzzer harness: any bytes as a CIFAR-10 binary batch file.
#include "crpsgd/dataset.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = crpsgd::fuzz::WriteInput(".bin", data, size);
  (void)crpsgd::ReadCifar10({path});
  return 0;
}
