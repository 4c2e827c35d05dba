// `--config FILE.toml` for `crpsgd train` and `crpsgd sweep`: every flag can
// come from a TOML file, and flags on the command line override it.
//
//   # run.toml
//   problem = "logreg"
//   data = "/usr/share/doc/liblinear-tools/examples/heart_scale"
//   budget = 2000
//   rho = 1.1
//   quiet = true               # a flag: true sets it
//   run = ["psgd:batch=1", "cr-psgd:b1=1,rho=1.1"]   # a repeatable flag
//
// Keys are the long flag names without "--" ("_" may stand for "-"). The
// effective configuration of a run (file, flags and defaults together) is
// written to its output folder as config.toml (CommandSettings::EffectiveConfig),
// and `--config` of that file repeats the run.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "crpsgd/status.h"

namespace crpsgd::cli {

// The arguments after the subcommand's name with `--config FILE` replaced by
// the file's settings, less those the arguments set themselves. Errors name
// the file, and the line of a bad key or value. `origins`, when given, gets
// "FILE:LINE" for every flag that came from the file, so that a value CLI11
// refuses later can be traced back to its line.
Result<std::vector<std::string>> ExpandConfigFile(const CLI::App& subcommand, const std::vector<std::string>& args,
                                                  std::map<std::string, std::string>* origins = nullptr);

}  // namespace crpsgd::cli
