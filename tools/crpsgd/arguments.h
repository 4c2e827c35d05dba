// Checks of a subcommand's arguments before CLI11 parses them, so that the
// commonest mistakes get a message that helps: a typo'd flag names the typo
// and the nearest flag (CLI11 would first complain that a required flag is
// missing), and a bare word says which flag it may have meant.
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "crpsgd/status.h"

namespace crpsgd::cli {

// The candidate closest to `name` by edit distance, or "" when none is close
// enough to be a plausible typo (at most a third of the name's letters, and
// at most 3, differ).
std::string NearestName(const std::string& name, const std::vector<std::string>& candidates);

// A setting's name in the spelling of config keys ("sync_period") or of flags
// ("sync-period"): every reader takes both and compares them in one of these.
std::string WithUnderscores(std::string name);
std::string WithHyphens(std::string name);

// The long flags of `subcommand` ("--budget", ...), --help and --version included.
std::vector<std::string> LongFlags(const CLI::App& subcommand);

// Every "--name" in `args` must be a flag of `subcommand`, and every other
// word must be the value of the flag before it. The error names the word,
// and the nearest flag or the flag the word is likely meant for.
Status CheckArguments(const CLI::App& subcommand, const std::vector<std::string>& args);

}  // namespace crpsgd::cli
