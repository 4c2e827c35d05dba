// libFuzzer harness: any bytes as a LIBSVM file, read whole and as the
// byte-range parts of 3 workers. The reader must return a Status, never
// crash, hang or allocate without bound, and the parts must hold exactly the
// samples of the whole file.
#include <cstdlib>

#include "crpsgd/dataset.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = crpsgd::fuzz::WriteInput(".libsvm", data, size);
  const auto whole = crpsgd::ReadLibsvm(path);
  std::size_t samples = 0;
  bool parts_ok = true;
  for (int k = 0; k < 3; ++k) {
    const auto part = crpsgd::ReadLibsvm(path, {}, {k, 3});
    parts_ok = parts_ok && part.ok();
    if (part.ok()) samples += part->num_samples();
  }
  // A file that reads whole reads in parts, sample for sample (not the other
  // way round: an empty file is an error whole, three empty parts are not);
  // gzip is read whole only (a stream has no byte ranges).
  const bool gzip = size >= 2 && data[0] == 0x1f && data[1] == 0x8b;
  if (whole.ok() && !gzip && (!parts_ok || samples != whole->num_samples())) std::abort();
  return 0;
}
