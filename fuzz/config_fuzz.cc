// libFuzzer harness: the config parsers. Odd first byte: the rest as a TOML
// flags file for `crpsgd train --config` and as a TOML compare config; even:
// as a JSON compare config.
#include <CLI/CLI.hpp>

#include "compare.h"
#include "config_file.h"
#include "fuzz_input.h"
#include "settings.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const bool toml = data[0] % 2 == 1;
  const auto path = crpsgd::fuzz::WriteInput(toml ? ".toml" : ".json", data + 1, size - 1);
  crpsgd::cli::Job job;
  (void)crpsgd::cli::LoadCompareConfig(path, job);
  if (toml) {
    using namespace crpsgd::cli;
    CLI::App app;
    DataFlags data_flags;
    AlgoFlags algo_flags;
    RunFlags run_flags;
    CommandSettings settings;
    settings.Add(app, DataSettings(), data_flags, kTrain);
    settings.Add(app, AlgoSettings(), algo_flags, kTrain);
    settings.Add(app, RunSettings(), run_flags, kTrain);
    (void)crpsgd::cli::ExpandConfigFile(app, {"--config", path.string()});
  }
  return 0;
}
