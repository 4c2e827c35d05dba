// Every setting of train, sweep and compare as one row of a table, one table
// per flags struct (DataFlags, RunFlags, AlgoFlags, SweepFlags). A row is the
// setting's name, where it may be given, its help, a valid example and the
// check of its value; its type is its field's and its default the field's
// initial value (most taken from the library's options). Every door reads the
// same rows:
//
//   --help and the flags        CommandSettings::Bind (CLI11 parses text only)
//   --config FILE.toml          ExpandConfigFile, over the flags Bind made
//   compare's JSON or TOML      ReadCompareSettings
//   sweep --run ALGO:key=value  SetRunKey
//   the config.toml a run writes CommandSettings::EffectiveConfig
//
// and every value is typed and checked in one pass that reports every bad
// value, before any data is read. Which values make sense together (--b1
// against --budget, --rho auto with psgd) the library decides.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include <CLI/CLI.hpp>

#include "crpsgd/status.h"
#include "flags.h"

namespace crpsgd::cli {

// Where a setting may be given, and how it is read.
enum SettingScope : unsigned {
  kTrain = 1u << 0,         // a flag of crpsgd train (and a key of its --config file)
  kSweep = 1u << 1,         // a flag of crpsgd sweep (and a key of its --config file)
  kCompare = 1u << 2,       // a top-level key of a compare config
  kRunKey = 1u << 3,        // a key of one run: sweep's --run ALGO:key=value, a compare config's runs[]
  kPredict = 1u << 4,       // a flag of crpsgd predict
  kCompareFlag = 1u << 5,   // a flag of crpsgd compare itself (beside its --config)
  kRequired = 1u << 6,      // train and sweep refuse to run without it
  kNotReplayed = 1u << 7,   // not a setting of the run: left out of the config.toml it writes
  kOptionalWord = 1u << 8,  // a flag that may take a word: --standardize (yes), --standardize=no
};

// A setting's field in its flags struct.
using SettingField = std::variant<std::string*, std::uint64_t*, int*, double*, bool*, std::vector<std::string>*>;

template <class Flags>
struct Setting {
  const char* name;     // "sync-period": the flag --sync-period; sync_period or sync-period in files
  unsigned scope;       // SettingScope bits
  const char* help;     // --help's line
  const char* example;  // a valid value other than the default ("" for a flag: given means true)
  SettingField (*field)(Flags&);
  Status (*check)(const std::string& flag, const std::string& text) = nullptr;  // beyond its type
  const char* short_name = nullptr;                                             // "q" for -q
};

std::span<const Setting<DataFlags>> DataSettings();
std::span<const Setting<RunFlags>> RunSettings();
std::span<const Setting<AlgoFlags>> AlgoSettings();
std::span<const Setting<SweepFlags>> SweepSettings();

// One row bound to its field in one flags struct.
struct BoundSetting {
  const char* name;
  unsigned scope;
  const char* help;
  const char* example;
  SettingField field;
  Status (*check)(const std::string& flag, const std::string& text);
  const char* short_name;
};
template <class Flags>
std::vector<BoundSetting> BindSettings(std::span<const Setting<Flags>> table, Flags& flags, unsigned door) {
  std::vector<BoundSetting> bound;
  for (const Setting<Flags>& s : table) {
    if (s.scope & door) bound.push_back({s.name, s.scope, s.help, s.example, s.field(flags), s.check, s.short_name});
  }
  return bound;
}

// The field's value as the text a flag takes (numbers shortest, exact).
std::string SettingText(const BoundSetting& setting);
// Types and checks `text` into the field; the error names the flag.
Status SetSetting(const BoundSetting& setting, const std::string& text);

// One command's settings as CLI11 flags. CLI11 reads every value as text;
// Apply types and checks them all after parsing.
class CommandSettings {
 public:
  // `door`: the scope bit of this command (kTrain, kSweep, kPredict, kCompareFlag).
  template <class Flags>
  void Add(CLI::App& app, std::span<const Setting<Flags>> table, Flags& flags, unsigned door) {
    for (BoundSetting& s : BindSettings(table, flags, door)) Bind(app, std::move(s), door);
  }
  // Every value given into its field; every bad one in one message, named by
  // the --config line it came from (`origins`: flag -> "FILE:LINE").
  Status Apply(const std::map<std::string, std::string>& origins = {}) const;
  // The effective configuration as TOML that --config reads back: every
  // setting with its value (after Apply).
  std::string EffectiveConfig(const std::string& command) const;

 private:
  struct Entry {
    BoundSetting setting;
    std::string text;  // what CLI11 read
    CLI::Option* option = nullptr;
  };
  void Bind(CLI::App& app, BoundSetting setting, unsigned door);
  std::deque<Entry> entries_;  // CLI11 holds pointers to the texts
};

// A key of one run (sweep's --run, a compare config's runs[]) into `flags`;
// `what` names the run in errors. Unknown keys name the nearest known one.
Status SetRunKey(AlgoFlags& flags, const std::string& key, const std::string& text, const std::string& what,
                 bool sweep);
// The run keys in the spelling of `sweep` (--run: hyphens) or of compare configs.
std::vector<std::string> RunKeyNames(bool sweep);

}  // namespace crpsgd::cli
