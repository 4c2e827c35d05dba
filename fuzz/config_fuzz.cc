// libFuzzer harness: the config parsers. Odd first byte: the rest as a TOML
// flags file for `crpsgd train --config` and as a TOML compare config; even:
// as a JSON compare config.
#include <CLI/CLI.hpp>

#include "compare.h"
#include "config_file.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const bool toml = data[0] % 2 == 1;
  const auto path = crpsgd::fuzz::WriteInput(toml ? ".toml" : ".json", data + 1, size - 1);
  crpsgd::cli::Job job;
  (void)crpsgd::cli::LoadCompareConfig(path, job);
  if (toml) {
    CLI::App app;
    crpsgd::cli::DataFlags data_flags;
    crpsgd::cli::AlgoFlags algo_flags;
    crpsgd::cli::RunFlags run_flags;
    crpsgd::cli::AddDataFlags(app, data_flags);
    crpsgd::cli::AddAlgoFlags(app, algo_flags, true);
    crpsgd::cli::AddRunFlags(app, run_flags);
    (void)crpsgd::cli::ExpandConfigFile(app, {"--config", path.string()});
  }
  return 0;
}
