// The metrics writer, summary.json and atomic writes, on their own (the CLI
// tests see them only through whole runs).
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "crpsgd/metrics.h"
#include "testing/temp_dir.h"

namespace crpsgd {
namespace {

std::string Read(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

RoundRecord Record(std::uint64_t round, std::optional<double> loss) {
  RoundRecord r;
  r.round = round;
  r.batch = 4 * round;
  r.sfo_per_worker = 10 * round;
  r.sfo_total = 20 * round;
  r.loss = loss;
  return r;
}

TEST(MetricsWriterTest, WritesOneLinePerRoundWithTheGapToFStar) {
  testing::TempDir dir;
  auto writer = MetricsWriter::Open(dir / "metrics.jsonl", /*f_star=*/0.25);
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  ASSERT_TRUE((*writer)->OnRound(Record(0, 1.0), {}).ok());
  ASSERT_TRUE((*writer)->OnRound(Record(1, std::nullopt), {}).ok());
  const std::string text = Read(dir / "metrics.jsonl");
  std::istringstream lines(text);
  std::string first, second, third;
  std::getline(lines, first);
  std::getline(lines, second);
  EXPECT_FALSE(std::getline(lines, third));
  EXPECT_NE(first.find("\"round\":0"), std::string::npos) << first;
  EXPECT_NE(first.find("\"loss\":1.0"), std::string::npos) << first;
  EXPECT_NE(first.find("\"f_gap\":0.75"), std::string::npos) << first;
  EXPECT_NE(second.find("\"round\":1"), std::string::npos) << second;
  EXPECT_NE(second.find("\"loss\":null"), std::string::npos) << second;  // not evaluated this round
  EXPECT_EQ(first, FormatRoundRecord(Record(0, 1.0), 0.25));
}

TEST(MetricsWriterTest, ARestoredStateCutsTheFileBackToTheCheckpoint) {
  testing::TempDir dir;
  const auto path = dir / "metrics.jsonl";
  std::string state;
  {
    auto writer = MetricsWriter::Open(path, std::nullopt);
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE((*writer)->OnRound(Record(1, 0.5), {}).ok());
    state = (*writer)->CheckpointState();                      // the checkpoint after round 1
    ASSERT_TRUE((*writer)->OnRound(Record(2, 0.4), {}).ok());  // written, then the run died
  }
  const std::string at_checkpoint = FormatRoundRecord(Record(1, 0.5), std::nullopt) + "\n";
  EXPECT_EQ(state, std::to_string(at_checkpoint.size()));
  auto resumed = MetricsWriter::Open(path, std::nullopt, /*append=*/true);
  ASSERT_TRUE(resumed.ok());
  ASSERT_TRUE((*resumed)->RestoreCheckpointState(state).ok());
  ASSERT_TRUE((*resumed)->OnRound(Record(2, 0.4), {}).ok());
  EXPECT_EQ(Read(path), at_checkpoint + FormatRoundRecord(Record(2, 0.4), std::nullopt) + "\n");
  // A state that is no length is refused, not guessed at.
  EXPECT_FALSE((*resumed)->RestoreCheckpointState("twelve").ok());
}

TEST(MetricsWriterTest, AFolderThatIsNotThereIsAnErrorNamingTheFile) {
  testing::TempDir dir;
  auto writer = MetricsWriter::Open(dir / "missing" / "metrics.jsonl", std::nullopt);
  ASSERT_FALSE(writer.ok());
  EXPECT_NE(writer.status().message().find("missing/metrics.jsonl"), std::string::npos);
}

TEST(RunSummaryTest, FormatsTheSummaryWithTheCallersFields) {
  RunSummary s;
  s.workers = 4;
  s.rounds = 12;
  s.sfo_per_worker = 600;
  s.sfo_total = 2400;
  s.final_loss = 0.125;
  s.x = {1.0, 2.0};
  const std::string text = FormatRunSummary(s, R"({"problem": "logreg", "lambda": 0.0001})");
  EXPECT_EQ(text.back(), '\n');
  EXPECT_NE(text.find("\"rounds\": 12"), std::string::npos) << text;
  EXPECT_NE(text.find("\"sfo_total\": 2400"), std::string::npos) << text;
  EXPECT_NE(text.find("\"final_loss\": 0.125"), std::string::npos) << text;
  EXPECT_NE(text.find("\"problem\": \"logreg\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"lambda\": 0.0001"), std::string::npos) << text;
  EXPECT_EQ(text.find("\"x\""), std::string::npos) << "the model is not part of summary.json";
  EXPECT_EQ(FormatRunSummary(s), FormatRunSummary(s, "not json")) << "a malformed extra adds nothing";
}

TEST(WriteFileAtomicTest, ReplacesTheWholeFileAndLeavesNoTemporary) {
  testing::TempDir dir;
  const auto path = dir / "summary.json";
  ASSERT_TRUE(WriteFileAtomic(path, "first, longer content\n").ok());
  ASSERT_TRUE(WriteFileAtomic(path, "second\n").ok());
  EXPECT_EQ(Read(path), "second\n");
  EXPECT_FALSE(std::filesystem::exists(path.string() + ".tmp"));
  const Status missing = WriteFileAtomic(dir / "no" / "such" / "folder.json", "x");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.code(), StatusCode::kIOError);
  EXPECT_NE(missing.message().find("folder.json.tmp"), std::string::npos) << missing.message();
}

TEST(ExactNumberTest, RoundTripsEveryDouble) {
  for (double v : {0.1, 1.0 / 3.0, 1e-300, -2.5e17, 6.02214076e23}) {
    EXPECT_EQ(std::stod(ExactNumber(v)), v) << ExactNumber(v);
  }
}

}  // namespace
}  // namespace crpsgd
