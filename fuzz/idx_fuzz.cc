// libFuzzer harness: an IDX images file and an IDX labels file. The first
// byte says where the input splits into the two.
#include <algorithm>

#include "crpsgd/dataset.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::size_t split = std::min<std::size_t>(size - 1, std::size_t{data[0]} * 4);
  const auto images = crpsgd::fuzz::WriteInput(".images-idx", data + 1, split);
  const auto labels = crpsgd::fuzz::WriteInput(".labels-idx", data + 1 + split, size - 1 - split);
  crpsgd::IdxOptions options;
  options.positive_class = -1;  // keep the class numbers: every label value is accepted
  (void)crpsgd::ReadIdx(images, labels, options);
  return 0;
}
