// libFuzzer harness: any bytes as a CSV file and as a NumPy .npy file. The
// readers must return a Status, never crash, hang or allocate without bound;
// what they read is a rectangle with one label per row.
#include <cstdlib>

#include "crpsgd/dataset.h"
#include "fuzz_input.h"

namespace {

void CheckShape(const crpsgd::Result<crpsgd::Dataset>& data) {
  if (!data.ok()) return;
  if (data->is_sparse || data->num_samples() == 0 ||
      static_cast<std::size_t>(data->dense.rows()) != data->num_samples()) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto csv = crpsgd::fuzz::WriteInput(".csv", data, size);
  CheckShape(crpsgd::ReadCsv(csv));
  CheckShape(crpsgd::ReadCsv(csv, {"-1"}));
  const auto npy = crpsgd::fuzz::WriteInput(".npy", data, size);
  CheckShape(crpsgd::ReadNpy(npy));
  return 0;
}
