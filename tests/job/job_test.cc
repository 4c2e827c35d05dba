// A library user's job (examples/train_job.cc: JobSpec and Launch) equals
// `crpsgd train` with the same settings, bit for bit: summary, metrics and
// model, for every algorithm and for --rho auto.
#include <gtest/gtest.h>

#include <string>

#include "cli/cli_testing.h"
#include "testing/temp_dir.h"

namespace crpsgd {
namespace {

using cli_testing::Execute;
using cli_testing::kHeartScale;
using cli_testing::ReadJson;
using cli_testing::ReadJsonLines;
using cli_testing::ReadText;

// Every field but what is measured, not computed: times (wall_s, comm_s,
// eval_s, ...) and memory (peak_rss_bytes...).
nlohmann::json WithoutTimes(nlohmann::json j) {
  for (auto it = j.begin(); it != j.end();) {
    const bool measured = it.key().ends_with("_s") || it.key().starts_with("peak_rss");
    it = measured ? j.erase(it) : std::next(it);
  }
  return j;
}

struct Case {
  const char* algo;
  const char* rho;
};

class LibraryJobTest : public ::testing::TestWithParam<Case> {};

TEST_P(LibraryJobTest, EqualsCrpsgdTrainBitForBit) {
  if (!cli_testing::HaveLiblinear()) GTEST_SKIP() << "needs liblinear-tools' heart_scale";
  const Case c = GetParam();
  crpsgd::testing::TempDir dir;
  const std::string tool_out = (dir.path() / "tool").string(), library_out = (dir.path() / "library").string();
  const std::string common = std::string(" --algo ") + c.algo + " --budget 2000 --workers 4 --rho " + c.rho +
                             " --rounds 0";  // auto: its S1 and rho, as the library's job, not a measured plan
  const auto tool = Execute("train --data " + kHeartScale + " --out " + tool_out + common + " --save-model -q");
  ASSERT_EQ(tool.exit_code, 0) << tool.output;
  const std::string example = std::string("timeout 120 ") + CRPSGD_TRAIN_JOB_EXAMPLE + " " + kHeartScale + " " +
                              library_out + " " + c.algo + " 2000 4 " + c.rho + " 2>&1";
  ASSERT_EQ(std::system(example.c_str()), 0) << example;

  const nlohmann::json tool_summary = ReadJson(dir.path() / "tool" / "summary.json");
  const nlohmann::json library_summary = ReadJson(dir.path() / "library" / "summary.json");
  EXPECT_EQ(WithoutTimes(library_summary), WithoutTimes(tool_summary));
  EXPECT_GT(tool_summary.at("rounds").get<int>(), 1);
  const auto tool_rounds = ReadJsonLines(dir.path() / "tool" / "metrics.jsonl");
  const auto library_rounds = ReadJsonLines(dir.path() / "library" / "metrics.jsonl");
  ASSERT_EQ(library_rounds.size(), tool_rounds.size());
  for (std::size_t i = 0; i < tool_rounds.size(); ++i) {
    EXPECT_EQ(WithoutTimes(library_rounds[i]), WithoutTimes(tool_rounds[i])) << "line " << i + 1;
  }
  EXPECT_EQ(ReadText(dir.path() / "library" / "model.liblinear"), ReadText(dir.path() / "tool" / "model.liblinear"));
}

INSTANTIATE_TEST_SUITE_P(EveryAlgorithm, LibraryJobTest,
                         ::testing::Values(Case{"psgd", "1.1"}, Case{"cr-psgd", "1.1"}, Case{"cr-psgd", "auto"},
                                           Case{"local-sgd", "1.1"}, Case{"cr-psgd-catalyst", "1.1"},
                                           Case{"auto", "1.1"}),
                         [](const ::testing::TestParamInfo<Case>& test) {
                           std::string name = std::string(test.param.algo) + "_rho_" + test.param.rho;
                           for (char& ch : name) {
                             if (ch == '-' || ch == '.') ch = '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace crpsgd
