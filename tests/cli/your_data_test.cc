// Your data as it is (issue 29): multi-class and 0/1 labels, CSV, gzip and
// NumPy files, --standardize, each through the real binary and scored by
// liblinear-predict where a model is saved.
#include <zlib.h>

#include <cmath>
#include <sstream>

#include <gtest/gtest.h>

#include "cli/cli_testing.h"
#include "testing/temp_dir.h"

namespace crpsgd {
namespace {

using testing::TempDir;
using namespace cli_testing;

// 90 samples of 3 classes labelled 1, 2 and 7 around three centres in 4
// features (one of them on a scale of thousands), deterministic.
struct Table {
  std::vector<std::vector<double>> x;
  std::vector<int> y;
};

Table ThreeClasses(std::size_t n = 90) {
  Table t;
  const int labels[3] = {1, 2, 7};
  for (std::size_t i = 0; i < n; ++i) {
    const int k = static_cast<int>(i % 3);
    const double u = std::sin(12.9898 * static_cast<double>(i) + 1.0), v = std::cos(78.233 * static_cast<double>(i));
    t.x.push_back({1.5 * k + 0.9 * u, 2.0 - k + 0.9 * v, 1000.0 + 300.0 * k + 400.0 * u * v, 0.3 * u});
    t.y.push_back(labels[k]);
  }
  return t;
}

std::string AsLibsvm(const Table& t) {
  std::ostringstream os;
  os.precision(17);
  for (std::size_t i = 0; i < t.y.size(); ++i) {
    os << t.y[i];
    for (std::size_t j = 0; j < t.x[i].size(); ++j) os << " " << j + 1 << ":" << t.x[i][j];
    os << "\n";
  }
  return os.str();
}

std::string AsCsv(const Table& t) {
  std::ostringstream os;
  os.precision(17);
  os << "f0,f1,label,f2,f3\n";  // the label in the middle, picked by name
  for (std::size_t i = 0; i < t.y.size(); ++i) {
    os << t.x[i][0] << "," << t.x[i][1] << "," << t.y[i] << "," << t.x[i][2] << "," << t.x[i][3] << "\n";
  }
  return os.str();
}

std::filesystem::path WriteGzip(const TempDir& dir, const std::string& name, const std::string& text) {
  const auto path = dir / name;
  gzFile f = gzopen(path.c_str(), "wb");
  gzwrite(f, text.data(), static_cast<unsigned>(text.size()));
  gzclose(f);
  return path;
}

// "(correct/total)" of a predict line.
std::string Count(const std::string& output) {
  const auto open = output.find('('), close = output.find(')', open);
  return open == std::string::npos || close == std::string::npos ? "?" : output.substr(open + 1, close - open - 1);
}

TEST(CliYourDataTest, MultiClassLogregSavesALiblinearModelThatPredictsTheSame) {
  if (!HaveLiblinear()) GTEST_SKIP() << "liblinear-tools is not installed";
  TempDir dir;
  const auto data = dir.Write("three.libsvm", AsLibsvm(ThreeClasses()));
  const auto out = dir / "run";
  CommandResult run = Execute("train -q --algo local-sgd --data " + data.string() +
                              " --budget 4000 --workers 2 --standardize --bias 1 --save-model --out " + out.string());
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const std::string model = ReadText(out / "model.liblinear");
  EXPECT_NE(model.find("nr_class 3\nlabel 1 2 7\nnr_feature 4\nbias 1\n"), std::string::npos) << model;
  const double accuracy = ReadJson(out / "summary.json")["train_accuracy"].get<double>();
  EXPECT_GT(accuracy, 0.9);
  // The model is of the raw features: LIBLINEAR scores the unscaled file the same.
  const CommandResult theirs = Execute("", "liblinear-predict " + data.string() + " " +
                                               (out / "model.liblinear").string() + " " + (dir / "p1").string() + " #");
  const CommandResult ours = Execute("predict --model " + (out / "model.liblinear").string() + " --data " +
                                     data.string() + " --out " + (dir / "p2").string());
  ASSERT_EQ(ours.exit_code, 0) << ours.output;
  EXPECT_EQ(Count(theirs.output), Count(ours.output)) << theirs.output << ours.output;
  EXPECT_EQ(Count(ours.output), std::to_string(static_cast<int>(std::lround(accuracy * 90))) + "/90");
  EXPECT_EQ(ReadText(dir / "p1"), ReadText(dir / "p2")) << "the same predictions, in the data's labels";
  // A binary-only problem says how to train the classes instead.
  run = Execute("train --problem ncvx-logreg --data " + data.string() + " --budget 100");
  EXPECT_EQ(run.exit_code, 2) << run.output;
  EXPECT_NE(run.output.find("3 labels (1, 2, 7): this --problem is binary; --problem logreg (multinomial)"),
            std::string::npos)
      << run.output;
}

// 0/1 data: the model keeps "label 1 0", so LIBLINEAR compares its
// predictions with the file's own labels and agrees with crpsgd.
TEST(CliYourDataTest, ZeroOneLabelsScoreTheSameInBothTools) {
  if (!HaveLiblinear()) GTEST_SKIP() << "liblinear-tools is not installed";
  TempDir dir;
  std::istringstream in(ReadText(kHeartScale));
  std::string text, line;
  while (std::getline(in, line)) {  // +1 -> 1, -1 -> 0
    const std::string label = line.substr(0, line.find(' '));
    text += label == "+1" || label == "1" ? '1' : '0';
    text.append(line, label.size());
    text += '\n';
  }
  const auto data = dir.Write("heart01", text);
  const auto out = dir / "run";
  ASSERT_EQ(Execute("train -q --data " + data.string() + " --budget 3000 --save-model --out " + out.string()).exit_code,
            0);
  EXPECT_NE(ReadText(out / "model.liblinear").find("label 1 0\n"), std::string::npos);
  const CommandResult theirs = Execute("", "liblinear-predict " + data.string() + " " +
                                               (out / "model.liblinear").string() + " " + (dir / "p1").string() + " #");
  const CommandResult ours = Execute("predict --model " + (out / "model.liblinear").string() + " --data " +
                                     data.string() + " --out " + (dir / "p2").string());
  EXPECT_EQ(Count(theirs.output), Count(ours.output)) << theirs.output << ours.output;
  const double accuracy = ReadJson(out / "summary.json")["train_accuracy"].get<double>();
  EXPECT_EQ(Count(ours.output), std::to_string(static_cast<int>(std::lround(accuracy * 270))) + "/270");
}

// The same table as LIBSVM, CSV (label column by name) and gzip LIBSVM
// trains to the same bits.
TEST(CliYourDataTest, CsvAndGzipTrainLikeLibsvm) {
  TempDir dir;
  const Table table = ThreeClasses();
  const auto libsvm = dir.Write("t.libsvm", AsLibsvm(table));
  const auto csv = dir.Write("t.txt", AsCsv(table));
  const auto gz = WriteGzip(dir, "t.libsvm.gz", AsLibsvm(table));
  std::vector<double> losses;
  for (const std::string& data : {libsvm.string(), csv.string() + " --label-column label", gz.string()}) {
    const auto out = dir / ("run" + std::to_string(losses.size()));
    const CommandResult run =
        Execute("train -q --data " + data + " --budget 500 --workers 2 --standardize --out " + out.string());
    ASSERT_EQ(run.exit_code, 0) << data << "\n" << run.output;
    losses.push_back(ReadJson(out / "summary.json")["final_loss"].get<double>());
  }
  // LIBSVM is sparse (scaled only), the CSV dense: the same values, so the same loss up to the kernels' sums.
  EXPECT_NEAR(losses[1], losses[0], 1e-9 * losses[0]);
  EXPECT_EQ(losses[2], losses[0]) << "gzip changes nothing";
}

TEST(CliYourDataTest, UsefulRefusalsAndProgressLines) {
  TempDir dir;
  const auto data = dir.Write("t.libsvm", AsLibsvm(ThreeClasses()));
  // --save-model without --out would write nothing: refused before any work.
  CommandResult run = Execute("train --data " + data.string() + " --budget 100 --save-model");
  EXPECT_EQ(run.exit_code, 2) << run.output;
  EXPECT_NE(run.output.find("--save-model needs --out"), std::string::npos) << run.output;
  // A binary file named as text: what it looks like, never its bytes.
  const auto npy = dir.Write("x.libsvm", std::string("\x93NUMPY\x01\x00v\x00{'descr': '<f8'}", 24));
  run = Execute("train --format libsvm --data " + npy.string() + " --budget 100");
  EXPECT_EQ(run.exit_code, 2) << run.output;
  EXPECT_NE(run.output.find("looks like a NumPy array (.npy), not LIBSVM text"), std::string::npos) << run.output;
  EXPECT_EQ(run.output.find("\x93"), std::string::npos) << run.output;
  // predict's help lists its own flags only, with its own words for --data.
  run = Execute("predict --help");
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("The data file to score"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("--loss"), std::string::npos) << run.output;
  for (const char* other : {"--lambda", "--sharding", "--synthetic-samples", "--test-data", "Training data file"}) {
    EXPECT_EQ(run.output.find(other), std::string::npos) << other << " in\n" << run.output;
  }
  // --normalize on a table points to --standardize.
  run = Execute("train --data " + data.string() + " --budget 100 --normalize");
  EXPECT_NE(run.output.find("tables (LIBSVM, CSV, .npy) take --standardize"), std::string::npos) << run.output;
  // Raw features a thousand times apart, kept as they are: the exit names --standardize.
  run = Execute("train --data " + data.string() + " --budget 100 --standardize=no --bias 0");
  EXPECT_EQ(run.exit_code, 3) << run.output;
  EXPECT_NE(run.output.find("--standardize"), std::string::npos) << run.output;
  // f* and L are announced before they are computed, with how to skip f*.
  run = Execute("train --data " + data.string() + " --budget 100 --standardize");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const auto announced = run.output.find(
      "computing f* (the optimum, for the f - f* column) on the full data; "
      "--no-f-star skips it");
  ASSERT_NE(announced, std::string::npos) << run.output;
  EXPECT_LT(announced, run.output.find("f* = ")) << run.output;
  EXPECT_NE(run.output.find("estimating L"), std::string::npos) << run.output;
  // A batch beyond the shard is said once; test accuracy rides on the progress lines.
  run = Execute("train --data " + data.string() + " --test-data " + data.string() +
                " --standardize --workers 3 --algo psgd --batch 50 --budget 500");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("warning: round 1's batch of 50 samples per worker exceeds the worker's 30"),
            std::string::npos)
      << run.output;
  EXPECT_NE(run.output.find(", test accuracy "), std::string::npos) << run.output;
  // -v: --rho auto's decisions, each change of the batch.
  run = Execute("train -v --data " + data.string() + " --standardize --algo cr-psgd --rho auto --budget 2000");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find(": the batch goes from "), std::string::npos) << run.output;
}

}  // namespace
}  // namespace crpsgd

namespace crpsgd {
namespace {

using testing::TempDir;
using namespace cli_testing;

// The run folder is enough: after kill -9, `train --resume --out DIR` alone
// finishes the run (the flags, the checkpoint interval among them, come from
// its config.toml, written before training), to the bits of a run never
// stopped; a resume that differs from the checkpoint says every difference
// at once, before L and f* are computed; on another number of workers the
// run's plan goes on.
TEST(CliYourDataTest, ResumeNeedsOnlyTheRunFolder) {
  if (!std::filesystem::exists(kHeartScale)) GTEST_SKIP() << "liblinear-tools is not installed";
  TempDir dir;
  const std::string flags = "train -q --data " + kHeartScale + " --workers 2 --algo psgd --batch 4 --budget 400 ";
  ASSERT_EQ(Execute(flags + "--out " + (dir / "reference").string()).exit_code, 0);
  const auto out = dir / "killed";
  CommandResult run =
      Execute(flags + "--checkpoint-every 20 --inject-fault kill:rank=0,round=50 --out " + out.string());
  ASSERT_NE(run.exit_code, 0) << run.output;
  ASSERT_TRUE(std::filesystem::exists(out / "config.toml")) << "written before training";
  // A resume with two differences names both, before any work.
  run = Execute("train --resume --out " + out.string() + " --seed 7 --budget 800");
  EXPECT_EQ(run.exit_code, 2) << run.output;
  EXPECT_NE(run.output.find("seed is 1 there, 7 here"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("budget is 400 there, 800 here"), std::string::npos) << run.output;
  EXPECT_EQ(run.output.find("computing f*"), std::string::npos) << run.output;
  // On another number of workers (a copy of the folder): the plan of 2 goes on, on 3.
  const auto elsewhere = dir / "on-3";
  std::filesystem::copy(out, elsewhere, std::filesystem::copy_options::recursive);
  run = Execute("train -q --resume --out " + elsewhere.string() + " --workers 3");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const auto on_three = ReadJson(elsewhere / "summary.json");
  EXPECT_EQ(on_three["workers"], 3);
  EXPECT_EQ(on_three["plan_workers"], 2);
  EXPECT_EQ(on_three["rounds"], 100);
  EXPECT_EQ(on_three["sfo_total"], 800);  // the plan's 2 x 400 samples
  // The folder alone.
  run = Execute("train -q --resume --out " + out.string());
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const auto summary = ReadJson(out / "summary.json"), reference = ReadJson(dir / "reference" / "summary.json");
  EXPECT_EQ(summary["final_loss"], reference["final_loss"]);
  EXPECT_EQ(ReadJsonLines(out / "metrics.jsonl").size(), ReadJsonLines(dir / "reference" / "metrics.jsonl").size());
  // The interval came from config.toml: checkpoints went on after the resume.
  EXPECT_GT(ReadJson(out / "checkpoint" / "LATEST")["round"].get<int>(), 50);
}

#if CRPSGD_HAVE_TORCH
// A network cannot fold --standardize into its weights: the statistics go
// beside model.pt, and predict scores the raw file with them.
TEST(CliYourDataTest, AStandardizedNetworkPredictsOnTheRawFile) {
  TempDir dir;
  const auto data = dir.Write("t.libsvm", AsLibsvm(ThreeClasses()));
  const auto out = dir / "mlp";
  CommandResult run =
      Execute("train -q --problem mlp --hidden 16 --data " + data.string() +
              " --standardize --lr 0.1 --algo psgd --batch 4 --budget 2000 --save-model --out " + out.string());
  ASSERT_EQ(run.exit_code, 0) << run.output;
  ASSERT_TRUE(std::filesystem::exists(out / "feature_scaling.json"));
  const double accuracy = ReadJson(out / "summary.json")["train_accuracy"].get<double>();
  run =
      Execute("predict --model " + (out / "model.pt").string() + " --problem mlp --hidden 16 --data " + data.string());
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(Count(run.output), std::to_string(static_cast<int>(std::lround(accuracy * 90))) + "/90") << run.output;
}
#endif

#if CRPSGD_HAVE_TORCH
// A network on a raw CSV table with nothing chosen (issue 40): the features are
// standardized, the step comes from the range test, and predict scores the raw
// file with the statistics saved beside model.pt.
TEST(CliYourDataTest, ANetworkOnARawTableNeedsNoFlags) {
  TempDir dir;
  const auto data = dir.Write("t.csv", AsCsv(ThreeClasses()));
  const auto out = dir / "mlp";
  CommandResult run = Execute("train --problem mlp --hidden 16 --data " + data.string() +
                              " --label-column label --workers 2 --save-model --out " + out.string());
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("standardizing the features (feature "), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("from a range test"), std::string::npos) << run.output;
  const auto summary = ReadJson(out / "summary.json");
  EXPECT_EQ(summary["algo"], "auto");
  EXPECT_EQ(summary["lr_rule"], "auto: range test");
  EXPECT_GT(summary["step_search_sfo_per_worker"].get<int>(), 0);
  EXPECT_GT(summary["train_accuracy"].get<double>(), 0.9);
  ASSERT_TRUE(std::filesystem::exists(out / "feature_scaling.json"));
  run = Execute("predict --model " + (out / "model.pt").string() + " --problem mlp --hidden 16 --data " +
                data.string() + " --label-column label");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const double accuracy = summary["train_accuracy"].get<double>();
  EXPECT_EQ(Count(run.output), std::to_string(static_cast<int>(std::lround(accuracy * 90))) + "/90") << run.output;
}

// --lr auto*K on a network: K times the range test's lowest-loss step, where
// --lr auto takes a tenth of it (the same test: same data and seed).
TEST(CliYourDataTest, AutoTimesKOnANetworkScalesTheRangeTestsLowestLossStep) {
  TempDir dir;
  const auto data = dir.Write("t.csv", AsCsv(ThreeClasses()));
  const std::string common =
      "train --problem mlp --hidden 16 --data " + data.string() + " --label-column label --workers 2 --epochs 2 ";
  CommandResult run = Execute(common + "--out " + (dir / "auto").string());
  ASSERT_EQ(run.exit_code, 0) << run.output;
  run = Execute(common + "--lr auto*0.5 --out " + (dir / "half").string());
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("of the range test's lowest-loss step"), std::string::npos) << run.output;
  const auto automatic = ReadJson(dir / "auto" / "summary.json"), half = ReadJson(dir / "half" / "summary.json");
  EXPECT_EQ(half["lr_rule"], "auto*K: K x the range test's lowest-loss step");
  EXPECT_NEAR(half["lr"].get<double>() / automatic["lr"].get<double>(), 5.0, 1e-12);
}
#endif

// A run that fails with no checkpoint leaves nothing that blocks the same
// command from running again.
TEST(CliYourDataTest, AFailedRunWithoutCheckpointLeavesNoBlockingFile) {
  if (!std::filesystem::exists(kHeartScale)) GTEST_SKIP() << "liblinear-tools is not installed";
  TempDir dir;
  const std::string flags = "train -q --data " + kHeartScale + " --budget 400 --out " + (dir / "run").string();
  CommandResult run = Execute(flags + " --inject-fault throw:rank=0,round=3");
  ASSERT_NE(run.exit_code, 0) << run.output;
  run = Execute(flags);
  EXPECT_EQ(run.exit_code, 0) << run.output;
}

// Defaults for a raw table (issue 29): --standardize auto and --bias auto
// standardize the features and fit an intercept, say so, write the word
// "auto" into config.toml, and train to the model --standardize --bias 1
// trains; svm-scaled data (heart_scale) are left as they are.
TEST(CliYourDataTest, RawTablesAreStandardizedWithAnInterceptByDefault) {
  TempDir dir;
  const auto data = dir.Write("t.csv", AsCsv(ThreeClasses()));
  const std::string common = "train --data " + data.string() + " --label-column label --budget 2000 --workers 2 ";
  CommandResult run = Execute(common + "--out " + (dir / "auto").string());
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("note: standardizing the features (feature 3 reaches "), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("and fitting an intercept (--bias 1)"), std::string::npos) << run.output;
  EXPECT_GT(ReadJson(dir / "auto" / "summary.json")["train_accuracy"].get<double>(), 0.9);
  const std::string config = ReadText(dir / "auto" / "config.toml");
  EXPECT_NE(config.find("standardize = \"auto\"\n"), std::string::npos) << config;
  EXPECT_NE(config.find("bias = \"auto\"\n"), std::string::npos) << config;
  ASSERT_EQ(Execute(common + "-q --standardize --bias 1 --out " + (dir / "explicit").string()).exit_code, 0);
  EXPECT_EQ(ReadJson(dir / "auto" / "summary.json")["final_loss"],
            ReadJson(dir / "explicit" / "summary.json")["final_loss"]);
  // --standardize=no is kept as its word, and a replay of config.toml honours it.
  run = Execute(common + "-q --standardize=no --bias 0 --lr 1e-7 --out " + (dir / "raw").string());
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(ReadText(dir / "raw" / "config.toml").find("standardize = \"no\"\n"), std::string::npos);
  run = Execute("train -q --config " + (dir / "raw" / "config.toml").string() + " --out " + (dir / "replay").string());
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(ReadJson(dir / "raw" / "summary.json")["final_loss"],
            ReadJson(dir / "replay" / "summary.json")["final_loss"]);
  // Bad words are refused, naming the flag.
  run = Execute(common + "--standardize=maybe");
  EXPECT_EQ(run.exit_code, 2) << run.output;
  EXPECT_NE(run.output.find("--standardize must be auto, yes or no, got 'maybe'"), std::string::npos) << run.output;
  run = Execute(common + "--bias one");
  EXPECT_EQ(run.exit_code, 2) << run.output;
  EXPECT_NE(run.output.find("--bias must be auto or a finite number, got 'one'"), std::string::npos) << run.output;
  // Scaled LIBSVM data stay as they are: no note, the same model as --standardize=no --bias 0.
  if (!std::filesystem::exists(kHeartScale)) return;
  run = Execute("train --data " + kHeartScale + " --budget 500 --save-model --out " + (dir / "hs").string());
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(run.output.find("note: standardizing"), std::string::npos) << run.output;
  ASSERT_EQ(Execute("train -q --data " + kHeartScale + " --budget 500 --standardize=no --bias 0 --save-model --out " +
                    (dir / "hs-raw").string())
                .exit_code,
            0);
  EXPECT_EQ(ReadText(dir / "hs" / "model.liblinear"), ReadText(dir / "hs-raw" / "model.liblinear"));
}

}  // namespace
}  // namespace crpsgd
