// The settings' tables (tools/crpsgd/settings.h): every row reaches its field
// through every door that admits it (the flags and --help, a --config TOML
// file, the config.toml a run writes, a compare config's top level and runs,
// sweep's --run), and no door admits a row that is not its.
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <nlohmann/json.hpp>

#include "compare.h"
#include "arguments.h"
#include "config_file.h"
#include "settings.h"
#include "testing/temp_dir.h"

namespace crpsgd::cli {
namespace {

using nlohmann::json;

// One command's flags bound as main.cc binds them.
struct Command {
  explicit Command(unsigned command_door) : door(command_door) {
    settings.Add(app, DataSettings(), data, command_door);
    settings.Add(app, AlgoSettings(), algo, command_door);
    settings.Add(app, SweepSettings(), sweep, command_door);
    settings.Add(app, RunSettings(), run, command_door);
  }
  // Parses `args` (after --config's file is read), then types every value.
  Status Parse(const std::vector<std::string>& args) {
    CRPSGD_ASSIGN_OR_RETURN(std::vector<std::string> expanded, ExpandConfigFile(app, args));
    std::vector<char*> argv = {const_cast<char*>("crpsgd")};
    for (std::string& a : expanded) argv.push_back(a.data());
    try {
      app.parse(static_cast<int>(argv.size()), argv.data());
    } catch (const CLI::ParseError& e) {
      return Status::InvalidArgument(e.what());
    }
    return settings.Apply();
  }
  // Every setting of the command: name -> value as text.
  std::map<std::string, std::string> Values() {
    std::map<std::string, std::string> values;
    auto add = [&](const std::vector<BoundSetting>& bound) {
      for (const BoundSetting& s : bound) values[s.name] = SettingText(s);
    };
    add(BindSettings(DataSettings(), data, door));
    add(BindSettings(AlgoSettings(), algo, door));
    add(BindSettings(SweepSettings(), sweep, door));
    add(BindSettings(RunSettings(), run, door));
    return values;
  }

  unsigned door;
  CLI::App app;
  DataFlags data;
  RunFlags run;
  AlgoFlags algo;
  SweepFlags sweep;
  CommandSettings settings;
};

// A row with its table's type: what the doors need to write its example.
struct Row {
  std::string name;
  unsigned scope;
  bool is_switch, is_list, is_text;
  std::string example, default_text;
};

template <class Flags>
void AddRows(std::span<const Setting<Flags>> table, std::vector<Row>& rows) {
  Flags defaults;
  for (const BoundSetting& s : BindSettings(table, defaults, ~0u)) {
    rows.push_back({s.name, s.scope, std::holds_alternative<bool*>(s.field),
                    std::holds_alternative<std::vector<std::string>*>(s.field),
                    std::holds_alternative<std::string*>(s.field), s.example, SettingText(s)});
  }
}

std::vector<Row> AllRows() {
  std::vector<Row> rows;
  AddRows(DataSettings(), rows);
  AddRows(RunSettings(), rows);
  AddRows(AlgoSettings(), rows);
  AddRows(SweepSettings(), rows);
  return rows;
}

// The value a row holds once its example is set: switches hold true.
std::string Expected(const Row& row) { return row.is_switch ? "true" : row.example; }

std::string TomlLine(const Row& row) {
  std::string value = row.is_switch ? "true" : row.is_text || row.is_list ? "\"" + row.example + "\"" : row.example;
  if (row.is_list) value = "[" + value + "]";
  return row.name + " = " + value + "\n";
}

json JsonValue(const Row& row) {
  if (row.is_switch) return true;
  if (row.is_text || row.is_list) return row.example;
  return json::parse(row.example);
}

// The flags `door` requires (--budget, sweep's --run), but `row`'s own.
std::vector<std::string> RequiredFlags(unsigned door, const Row& row) {
  std::vector<std::string> args;
  if ((door & (kTrain | kSweep)) && row.name != "budget") args.push_back("--budget=500");
  if ((door & kSweep) && row.name != "run") args.push_back("--run=psgd");
  return args;
}
std::string RequiredToml(unsigned door, const Row& row) {
  std::string toml;
  for (const std::string& flag : RequiredFlags(door, row)) {
    const auto eq = flag.find('=');
    const std::string name = flag.substr(2, eq - 2), value = flag.substr(eq + 1);
    toml += name + " = " + (name == "run" ? "[\"" + value + "\"]" : value) + "\n";
  }
  return toml;
}

std::vector<std::string> FlagArgs(unsigned door, const Row& row) {
  std::vector<std::string> args = RequiredFlags(door, row);
  args.push_back(row.is_switch ? "--" + row.name : "--" + row.name + "=" + row.example);
  return args;
}

TEST(SettingsTest, EveryRowIsCompleteAndItsExampleIsValid) {
  std::set<std::string> names;
  for (const Row& row : AllRows()) {
    SCOPED_TRACE(row.name);
    EXPECT_TRUE(names.insert(row.name).second) << "a name used twice";
    EXPECT_NE(row.scope & (kTrain | kSweep | kCompare | kRunKey | kPredict | kCompareFlag), 0u) << "no door";
    EXPECT_EQ(row.name.find('_'), std::string::npos) << "names are spelled with hyphens";
    if (row.is_switch) {
      EXPECT_EQ(row.example, "");
      EXPECT_EQ(row.default_text, "false");
    } else {
      EXPECT_NE(row.example, "");
      EXPECT_NE(row.example, row.default_text) << "an example must differ from the default";
    }
  }
}

// One door at a time, for every row it admits; and the rows it does not
// admit are refused there.
TEST(SettingsTest, EveryRowRoundTripsThroughTheFlagsAndATomlFile) {
  testing::TempDir dir;
  for (const Row& row : AllRows()) {
    for (unsigned door : {kTrain, kSweep, kPredict, kCompareFlag}) {
      SCOPED_TRACE(row.name + " in door " + std::to_string(door));
      Command by_flag(door);
      if (!(row.scope & door)) {
        EXPECT_EQ(by_flag.app.get_option_no_throw("--" + row.name), nullptr);
        continue;
      }
      // --help names it, with its default.
      const std::string help = by_flag.app.help();
      EXPECT_NE(help.find("--" + row.name), std::string::npos);
      if (!row.is_switch && !row.default_text.empty()) {
        EXPECT_NE(help.find("=" + row.default_text), std::string::npos) << help;
      }
      const Status parsed = by_flag.Parse(FlagArgs(door, row));
      ASSERT_TRUE(parsed.ok()) << parsed.message();
      const std::string got = by_flag.Values()[row.name];
      if (row.is_list) {
        EXPECT_NE(got.find(row.example), std::string::npos) << got;
      } else {
        EXPECT_EQ(got, Expected(row));
      }
      if (door == kCompareFlag || door == kPredict) continue;  // no --config file
      // A --config file.
      const auto file = dir.Write("flags.toml", RequiredToml(door, row) + TomlLine(row));
      Command by_file(door);
      ASSERT_TRUE(by_file.Parse({"--config", file.string()}).ok()) << TomlLine(row);
      EXPECT_EQ(by_file.Values()[row.name], got);
      // The config.toml a run writes repeats every setting but those that
      // are not the run's (kNotReplayed), which keep their defaults.
      const auto written = dir.Write("config.toml", by_flag.settings.EffectiveConfig("train"));
      Command replayed(door);
      const Status replay = replayed.Parse({"--config", written.string()});
      ASSERT_TRUE(replay.ok()) << replay.message();
      std::map<std::string, std::string> expected = by_flag.Values();
      if (row.scope & kNotReplayed) expected[row.name] = row.default_text;
      EXPECT_EQ(replayed.Values(), expected);
    }
  }
}

// The value a compare config's settings hold for `row`: the shared ones from
// the job, the algorithm's from the first run.
std::string CompareValue(Job& job, std::vector<AlgoFlags>& runs, const std::string& name) {
  for (const BoundSetting& s : BindSettings(DataSettings(), job.data, kCompare)) {
    if (s.name == name) return SettingText(s);
  }
  for (const BoundSetting& s : BindSettings(RunSettings(), job.run, kCompare)) {
    if (s.name == name) return SettingText(s);
  }
  for (const BoundSetting& s : BindSettings(AlgoSettings(), runs.front(), kCompare | kRunKey)) {
    if (s.name == name) return SettingText(s);
  }
  return "(not found)";
}

TEST(SettingsTest, EveryRowRoundTripsThroughCompareConfigsAndRunSpecs) {
  for (const Row& row : AllRows()) {
    SCOPED_TRACE(row.name);
    const std::string key = WithUnderscores(row.name);
    // A compare config's own keys: its list of seeds, and each run's algo.
    if (row.name == "seeds" || row.name == "algo") continue;
    // The top level of a compare config.
    json top = {{"budget", 500}, {"runs", json::array({{{"algo", "psgd"}}})}};
    top[key] = JsonValue(row);
    Job job;
    Result<std::vector<AlgoFlags>> runs = ReadCompareConfig(top, "c.json", job);
    if (row.scope & kCompare) {
      ASSERT_TRUE(runs.ok()) << runs.status().message();
      EXPECT_EQ(CompareValue(job, *runs, row.name), Expected(row));
    } else {
      ASSERT_FALSE(runs.ok());
      EXPECT_NE(runs.status().message().find("unknown key"), std::string::npos) << runs.status().message();
    }
    // One run of a compare config, and sweep's --run in both spellings.
    json one_run = {{"budget", 500}, {"runs", json::array({{{"algo", "local-sgd"}, {key, JsonValue(row)}}})}};
    Job run_job;
    runs = ReadCompareConfig(one_run, "c.json", run_job);
    AlgoFlags by_run_key;
    const Status set = SetRunKey(by_run_key, key, row.is_switch ? "true" : row.example, "--run", true);
    if (row.scope & kRunKey) {
      ASSERT_TRUE(runs.ok()) << runs.status().message();
      EXPECT_EQ(CompareValue(run_job, *runs, row.name), Expected(row));
      ASSERT_TRUE(set.ok()) << set.message();
      AlgoFlags by_hyphens;
      ASSERT_TRUE(SetRunKey(by_hyphens, row.name, row.example, "--run", true).ok());
      for (AlgoFlags* flags : {&by_run_key, &by_hyphens}) {
        std::vector<AlgoFlags> one = {*flags};
        EXPECT_EQ(CompareValue(run_job, one, row.name), Expected(row));
      }
    } else {
      EXPECT_FALSE(runs.ok());
      EXPECT_FALSE(set.ok());
      EXPECT_NE(set.message().find("unknown key"), std::string::npos) << set.message();
    }
  }
}

// Every bad value is reported at once, each named by its flag, and a value
// from a --config file by its line.
TEST(SettingsTest, EveryBadValueIsReportedAtOnce) {
  Command train(kTrain);
  const Status bad =
      train.Parse({"--budget=10", "--rho=fast", "--lr=quick", "--workers=0", "--backend=gpu", "--lambda=x"});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.code(), StatusCode::kInvalidArgument);
  for (const char* fragment :
       {"5 settings are wrong", "--rho must be a number > 1 or auto, got 'fast'", "--lr must be a number, got 'quick'",
        "--workers must be >= 1, got '0'", "--backend must be auto, inproc or mpi, got 'gpu'",
        "--lambda must be a number, got 'x'"}) {
    EXPECT_NE(bad.message().find(fragment), std::string::npos) << bad.message();
  }
  // A compare config: every bad value of the file, named by its key's flag.
  Job job;
  const json config = {{"budget", 10}, {"workers", "two"}, {"format", "tiff"}, {"runs", {{{"algo", "psgd"}}}}};
  const auto runs = ReadCompareConfig(config, "c.json", job);
  ASSERT_FALSE(runs.ok());
  EXPECT_NE(runs.status().message().find("\"workers\" has the wrong type"), std::string::npos)
      << runs.status().message();
  EXPECT_NE(runs.status().message().find("c.json: --format must be"), std::string::npos) << runs.status().message();
}

}  // namespace
}  // namespace crpsgd::cli
