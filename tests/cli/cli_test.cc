// The crpsgd command line as scripts use it: exit codes, one-line messages
// that name the flag or file:line, outputs, and inproc/mpi agreement.
#include <sys/wait.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <chrono>
#include <map>
#include <random>
#include <regex>
#include <sstream>
#include <string>
#include <tuple>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli/cli_testing.h"
#include "testing/temp_dir.h"

namespace crpsgd {
namespace {

using testing::TempDir;
using namespace cli_testing;

const std::string kSynthetic =
    " --format synthetic --synthetic-samples 2000 --synthetic-features 20 --problem logreg --lambda 1e-3 ";

TEST(CliTest, TrainWritesMetricsAndSummary) {
  TempDir dir;
  const CommandResult run = Execute("train" + kSynthetic +
                                    "--algo cr-psgd --b1 2 --rho 1.2 --budget 500 --workers 4 --backend inproc --out " +
                                    (dir / "out").string());
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const nlohmann::json s = ReadJson(dir / "out" / "summary.json");
  for (const char* key : {"algo", "workers", "backend", "rounds", "sfo_per_worker", "sfo_total", "budget_left",
                          "final_loss", "f_star", "lr", "lipschitz", "wall_s", "comm_s", "bytes"}) {
    EXPECT_TRUE(s.contains(key)) << key;
  }
  EXPECT_EQ(s["algo"], "cr-psgd");
  EXPECT_EQ(s["workers"], 4);
  EXPECT_EQ(s["backend"], "inproc");
  EXPECT_EQ(s["sfo_total"].get<int>(), 4 * s["sfo_per_worker"].get<int>());
  EXPECT_EQ(s["sfo_per_worker"].get<int>() + s["budget_left"].get<int>(), 500);
  // --lr auto = 1/(L + L̄/b), b = N·B₁ = 8 samples in the first step's average.
  EXPECT_NEAR(s["lr"].get<double>(),
              1.0 / (s["lipschitz"].get<double>() + s["mean_sample_smoothness"].get<double>() / 8), 1e-12);
  EXPECT_EQ(s["lr_rule"], "auto: 1/(L + Lbar/b)");
  EXPECT_GT(s["final_loss"].get<double>(), s["f_star"].get<double>());
  const auto lines = ReadJsonLines(dir / "out" / "metrics.jsonl");
  ASSERT_EQ(lines.size(), s["rounds"].get<std::size_t>() + 1);
  for (const auto& line : lines) {
    for (const char* key : {"round", "batch", "sfo_per_worker", "sfo_total", "loss", "wall_s", "comm_s", "bytes"}) {
      EXPECT_TRUE(line.contains(key)) << key;
    }
  }
  EXPECT_EQ(lines.back()["loss"], s["final_loss"]);
  EXPECT_EQ(lines.back()["sfo_per_worker"], s["sfo_per_worker"]);
  EXPECT_NE(run.output.find("| cr-psgd |"), std::string::npos) << run.output;
}

// --lr-max caps a step from L̂ (--lr auto) as it caps a step that grows with
// the batch; it used to be refused against a placeholder step of 1.
TEST(CliTest, LrMaxCapsTheStepFromL) {
  if (!std::filesystem::exists(kHeartScale)) GTEST_SKIP();
  TempDir dir;
  const std::string common = "train --data " + kHeartScale + " --algo psgd --batch 4 --budget 100 --lr auto --out ";
  CommandResult run = Execute(common + (dir / "free").string());
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const double free_step = ReadJson(dir / "free" / "summary.json")["lr"].get<double>();
  const double cap = std::stod(std::to_string(free_step / 4));  // as the flag reads it
  run = Execute(common + (dir / "capped").string() + " --lr-max " + std::to_string(cap));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(ReadJson(dir / "capped" / "summary.json")["lr"].get<double>(), cap);
  EXPECT_NE(run.output.find("caps the step from L"), std::string::npos) << run.output;
}

// auto's --batch auto: b_min = 1 under --lr auto (each step the safe step for
// its batch), 4 under a given step; a number given is kept; the folder names
// the rule, summary.json the number.
TEST(CliTest, AutosBatchFollowsTheStep) {
  TempDir dir;
  const auto batch_of = [&](const std::string& flags) {
    const CommandResult run =
        Execute("train" + kSynthetic + "--algo auto --rounds 5 --budget 200 --workers 2 " +
                "--backend inproc --quiet --overwrite --out " + (dir / "out").string() + " " + flags);
    EXPECT_EQ(run.exit_code, 0) << run.output;
    return ReadJson(dir / "out" / "summary.json")["batch"].get<int>();
  };
  EXPECT_EQ(batch_of(""), 1);
  EXPECT_EQ(batch_of("--lr 0.05"), 4);
  EXPECT_EQ(batch_of("--lr auto*0.5"), 4);
  EXPECT_EQ(batch_of("--lr 0.05 --batch 2"), 2);
  EXPECT_EQ(batch_of("--lr auto --batch auto"), 1);
  const CommandResult sweep = Execute("sweep" + kSynthetic + "--rounds 5 --budget 200 --workers 2 --backend inproc " +
                                      "--quiet --run auto:lr=0.05 --out " + (dir / "sweep").string());
  ASSERT_EQ(sweep.exit_code, 0) << sweep.output;
  EXPECT_TRUE(std::filesystem::exists(dir / "sweep" / "auto_b-auto_R-5_G-4_lr0.05" / "summary.json"));
  EXPECT_EQ(ReadJson(dir / "sweep" / "auto_b-auto_R-5_G-4_lr0.05" / "summary.json")["batch"], 4);
}

// A diverged run's row in results.csv keeps the step it was given, so that a
// report can average it with the same step's other seeds (as no result).
TEST(CliTest, SweepResultsKeepTheStepOfADivergedRun) {
  TempDir dir;
  const CommandResult sweep = Execute("sweep" + kSynthetic + "--budget 200 --workers 2 --backend inproc --quiet " +
                                      "--run psgd:lr=1000 --run psgd:lr=0.05 --out " + (dir / "sweep").string());
  ASSERT_EQ(sweep.exit_code, 3) << sweep.output;
  std::ifstream csv(dir / "sweep" / "results.csv");
  const std::string text((std::istreambuf_iterator<char>(csv)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("psgd,\"B=1\",1,,1000,diverged,"), std::string::npos) << text;
  EXPECT_NE(text.find("psgd,\"B=1\",1,,0.05,ok,"), std::string::npos) << text;
}

TEST(CliTest, SameSeedSameBackendIsBitIdentical) {
  TempDir dir;
  for (const char* name : {"a", "b"}) {
    const CommandResult run = Execute(
        "train" + kSynthetic + "--algo local-sgd --batch 2 --budget 300 --workers 3 --out " + (dir / name).string());
    ASSERT_EQ(run.exit_code, 0) << run.output;
  }
  const auto a = ReadJsonLines(dir / "a" / "metrics.jsonl"), b = ReadJsonLines(dir / "b" / "metrics.jsonl");
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i]["loss"], b[i]["loss"]) << i;  // JSON keeps all 17 digits
}

// --barrier-before-rounds changes what comm_s measures, never the result.
TEST(CliTest, BarrierBeforeRoundsLeavesTheResultAlone) {
  TempDir dir;
  for (const char* name : {"plain", "barrier"}) {
    const std::string extra = std::string(name) == "barrier" ? " --barrier-before-rounds" : "";
    const CommandResult run = Execute("train" + kSynthetic + "--algo cr-psgd --b1 2 --budget 400 --workers 3 --out " +
                                      (dir / name).string() + extra);
    ASSERT_EQ(run.exit_code, 0) << run.output;
  }
  const auto plain = ReadJson(dir / "plain" / "summary.json"), barrier = ReadJson(dir / "barrier" / "summary.json");
  EXPECT_EQ(barrier["final_loss"], plain["final_loss"]);
  EXPECT_EQ(barrier["rounds"], plain["rounds"]);
  EXPECT_EQ(barrier["bytes"], plain["bytes"]);
}

#if CRPSGD_HAVE_MPI
TEST(CliTest, MpiAndInprocAgree) {
  TempDir dir;
  for (const char* algo : {"psgd", "cr-psgd", "local-sgd", "cr-psgd-catalyst", "auto"}) {
    const std::string common = "train" + kSynthetic + "--algo " + algo + " --budget 400 --batch 4 --sync-period 3 ";
    const auto out = dir / algo;
    const CommandResult inproc = Execute(common + "--backend inproc --workers 4 --out " + (out / "inproc").string());
    ASSERT_EQ(inproc.exit_code, 0) << inproc.output;
    const CommandResult mpi = Execute(common + "--out " + (out / "mpi").string(), MpiPrefix(4));  // --backend auto
    ASSERT_EQ(mpi.exit_code, 0) << mpi.output;
    const CommandResult native =
        Execute(common + "--mpi-reduction native --out " + (out / "native").string(), MpiPrefix(4));
    ASSERT_EQ(native.exit_code, 0) << native.output;
    const auto si = ReadJson(out / "inproc" / "summary.json");
    const auto sm = ReadJson(out / "mpi" / "summary.json");
    const auto sn = ReadJson(out / "native" / "summary.json");
    EXPECT_EQ(sm["backend"], "mpi");
    for (const auto* s : {&sm, &sn}) {
      EXPECT_EQ((*s)["rounds"], si["rounds"]) << algo;
      EXPECT_EQ((*s)["sfo_per_worker"], si["sfo_per_worker"]) << algo;
      EXPECT_EQ((*s)["sfo_total"], si["sfo_total"]) << algo;
      EXPECT_EQ((*s)["bytes"], si["bytes"]) << algo;
      const double fi = si["final_loss"], fm = (*s)["final_loss"];
      EXPECT_LE(std::abs(fi - fm), 1e-9 * std::abs(fi)) << algo;
    }
    // The ordered reduction sums in rank order like inproc: bit-identical.
    EXPECT_EQ(sm["final_loss"], si["final_loss"]) << algo;
  }
}

// --sharding byte-range: every rank reads only its part of the file; the
// same parts in-process and under mpirun give the same bits, the ranks agree
// on the width (the widest index may be in one part only), and a bad line in
// one rank's part ends every rank with one message naming the line.
TEST(CliShardingTest, ByteRangePartsAgreeAcrossBackendsAndABadPartEndsEveryRank) {
  TempDir dir;
  std::string text;
  for (int i = 0; i < 400; ++i) {
    // The label follows the value's sign (mostly): a model to learn.
    const double value = (i % 7) * 0.25 - 0.5;
    text += (value > 0 || i % 11 == 0 ? "+1 " : "-1 ") + std::to_string(1 + i % 4) + ":" + std::to_string(value);
    text += i == 5 ? " 9:1\n" : "\n";  // feature 9 appears in rank 0's part alone
  }
  const auto data = dir.Write("shuffled.libsvm", text);
  const std::string common = "train --data " + data.string() + " --sharding byte-range --budget 300 --b1 2 ";
  const CommandResult inproc = Execute(common + "--backend inproc --workers 3 --out " + (dir / "inproc").string());
  ASSERT_EQ(inproc.exit_code, 0) << inproc.output;
  const CommandResult mpi = Execute(common + "--save-model --out " + (dir / "mpi").string(), MpiPrefix(3));
  ASSERT_EQ(mpi.exit_code, 0) << mpi.output;
  const auto si = ReadJson(dir / "inproc" / "summary.json"), sm = ReadJson(dir / "mpi" / "summary.json");
  EXPECT_EQ(sm["final_loss"], si["final_loss"]);
  std::ifstream model(dir / "mpi" / "model.liblinear");
  const std::string model_text((std::istreambuf_iterator<char>(model)), std::istreambuf_iterator<char>());
  EXPECT_NE(model_text.find("nr_feature 9\n"), std::string::npos) << model_text;
  EXPECT_EQ(si["rounds"], sm["rounds"]);
  // Random sharding of the same file is a different split, hence other bits.
  const CommandResult random =
      Execute("train --data " + data.string() + " --budget 300 --b1 2 --workers 3 --out " + (dir / "random").string());
  ASSERT_EQ(random.exit_code, 0) << random.output;
  EXPECT_NE(ReadJson(dir / "random" / "summary.json")["final_loss"], si["final_loss"]);

  std::string broken = text;
  broken.replace(broken.rfind("\n", broken.size() - 2) + 1, 1, "x");  // the last line: rank 2's part
  const auto bad = dir.Write("broken.libsvm", broken);
  const CommandResult failed =
      Execute("train --data " + bad.string() + " --sharding byte-range --budget 30 --out " + (dir / "bad").string(),
              MpiPrefix(3));
  EXPECT_EQ(failed.exit_code, 2) << failed.output;
  const std::string message = "broken.libsvm:400: label 'x";
  ASSERT_NE(failed.output.find(message), std::string::npos) << failed.output;
  EXPECT_EQ(failed.output.find(message), failed.output.rfind(message)) << "one message: " << failed.output;
  EXPECT_FALSE(std::filesystem::exists(dir / "bad" / "summary.json"));
  const CommandResult too_many = Execute(
      "train --data " + dir.Write("two.libsvm", "1 1:1\n-1 2:1\n").string() + " --sharding byte-range --budget 30",
      MpiPrefix(3));
  EXPECT_EQ(too_many.exit_code, 2) << too_many.output;
  EXPECT_NE(too_many.output.find("holds no sample: the file is too small for 3 workers"), std::string::npos)
      << too_many.output;
}

TEST(CliTest, MpiBadInputFailsOnEveryRankWithoutHanging) {
  TempDir dir;
  const auto bad = dir.Write("bad.libsvm", "1 1:0.5\n1 2:x\n");
  const CommandResult run = Execute("train --data " + bad.string() + " --budget 10", MpiPrefix(3));
  EXPECT_NE(run.exit_code, 0);
  EXPECT_NE(run.output.find("bad.libsvm:2: feature value 'x'"), std::string::npos) << run.output;
  const CommandResult mismatch = Execute("train" + kSynthetic + "--budget 10 --workers 5", MpiPrefix(2));
  EXPECT_NE(mismatch.exit_code, 0);
  EXPECT_NE(mismatch.output.find("--workers 5 does not match the 2 MPI ranks"), std::string::npos) << mismatch.output;
}
#endif

// The job checks and fits each run once, on the workers it has: a sweep's
// folders are named after the parameters --rounds chose, and a run that
// cannot take --rounds is refused naming the run, before anything is written.
TEST(CliTest, SweepFoldersNameTheFittedParametersAndABadRunIsNamed) {
  TempDir dir;
  CommandResult run = Execute("sweep" + kSynthetic + "--budget 200 --rounds 4 --workers 2 --lr-grid 0.1 --run psgd " +
                              "--run local-sgd:batch=2 --out " + (dir / "fitted").string());
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_TRUE(std::filesystem::exists(dir / "fitted" / "psgd_B-50_lr0.1overL" / "summary.json")) << run.output;
  EXPECT_TRUE(std::filesystem::exists(dir / "fitted" / "local-sgd_b-2_I-25_lr0.1overL" / "summary.json")) << run.output;
  run = Execute("sweep" + kSynthetic + "--budget 200 --rounds 4 --lr-grid 0.1 --run psgd --run cr-psgd-catalyst " +
                "--out " + (dir / "refused").string());
  EXPECT_EQ(run.exit_code, 2) << run.output;
  EXPECT_NE(run.output.find("--run 'cr-psgd-catalyst': --rounds: cr-psgd-catalyst cannot plan its rounds"),
            std::string::npos)
      << run.output;
  EXPECT_FALSE(std::filesystem::exists(dir / "refused" / "psgd_B-50_lr0.1overL")) << run.output;
}

TEST(CliTest, SweepPicksEachRunsBestMeanStepOverSeeds) {
  TempDir dir;
  const CommandResult run =
      Execute("sweep" + kSynthetic + "--budget 300 --workers 2 --seeds 4,5 --lr-grid 0.1,0.25 --run psgd:batch=2 " +
              "--run cr-psgd:b1=2,rho=1.3 --out " + (dir / "sweep").string());
  ASSERT_EQ(run.exit_code, 0) << run.output;
  // 2 runs x 2 steps x 2 seeds, each with its own folder and a CSV line.
  std::ifstream csv(dir / "sweep" / "results.csv");
  std::string line;
  int lines = 0;
  std::map<std::string, double> loss_sum;  // "algo lr_multiple" -> Σ final loss over seeds
  std::getline(csv, line);                 // header
  while (std::getline(csv, line)) {
    ++lines;
    std::vector<std::string> cells;
    std::stringstream ss(line);
    for (std::string cell; std::getline(ss, cell, ',');) cells.push_back(cell);
    ASSERT_GE(cells.size(), 11u) << line;
    loss_sum[cells[0] + " " + cells[3]] += std::stod(cells[10]);
  }
  EXPECT_EQ(lines, 8);
  for (const char* seed : {"seed-4", "seed-5"}) {
    EXPECT_TRUE(std::filesystem::exists(dir / "sweep" / seed / "psgd_B-2_lr0.1overL" / "summary.json")) << seed;
  }
  // The table shows each run at the step with the lower mean loss.
  for (const char* algo : {"psgd", "cr-psgd"}) {
    const std::string best =
        loss_sum[std::string(algo) + " 0.1"] < loss_sum[std::string(algo) + " 0.25"] ? "0.1" : "0.25";
    const std::string row_start = "| " + std::string(algo) + " | ";
    const auto pos = run.output.find(row_start);
    ASSERT_NE(pos, std::string::npos) << run.output;
    const std::string row = run.output.substr(pos, run.output.find('\n', pos) - pos);
    EXPECT_NE(row.find(" | " + best + " | "), std::string::npos) << row << " expected step " << best;
  }
  EXPECT_NE(run.output.find("f − f* range"), std::string::npos);
  EXPECT_TRUE(std::filesystem::exists(dir / "sweep" / "table.md"));
}

#if CRPSGD_HAVE_TORCH
// A CIFAR-10 folder of `n` records: class c has a bright c-th band of rows.
void WriteCifarFolder(const TempDir& dir, int n) {
  for (const char* name : {"data_batch_1.bin", "test_batch.bin"}) {
    std::string bytes;
    for (int i = 0; i < n; ++i) {
      const int c = i % 3;
      bytes.push_back(static_cast<char>(c));
      for (int p = 0; p < 3072; ++p) {
        const int row = (p % 1024) / 32;
        bytes.push_back(static_cast<char>(row / 10 == c ? 200 : (p * 37 + i * 11) % 60));
      }
    }
    dir.Write(name, bytes);
  }
}

TEST(CliTorchTest, NetworksTrainOnCifar10FilesAndSaveAModel) {
  TempDir dir;
  WriteCifarFolder(dir, 60);
  const CommandResult run = Execute("train --problem softmax --data " + dir.path().string() + " --test-data " +
                                    (dir / "test_batch.bin").string() +
                                    " --normalize --algo cr-psgd --b1 4 --budget 200 --workers 2 --lr 0.05 "
                                    "--save-model --out " +
                                    (dir / "out").string());
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const auto s = ReadJson(dir / "out" / "summary.json");
  EXPECT_EQ(s["problem"], "softmax");
  EXPECT_GT(s["test_accuracy"].get<double>(), 0.9);  // the bands are easy
  EXPECT_TRUE(s["f_star"].is_null());                // non-convex: no f*
  EXPECT_TRUE(std::filesystem::exists(dir / "out" / "model.pt"));
  const auto lines = ReadJsonLines(dir / "out" / "metrics.jsonl");
  EXPECT_TRUE(lines.back().contains("test_accuracy"));
}

#if CRPSGD_HAVE_MPI
TEST(CliTorchTest, ResNet20AgreesAcrossBackends) {
  TempDir dir;
  WriteCifarFolder(dir, 24);
  const std::string common = "train --problem resnet20 --data " + dir.path().string() +
                             " --budget 12 --batch 4 --lr 0.05 --threads 1 --eval-every 1 --overwrite ";
  // Local SGD's round carries the batch-norm statistics in its one float32 message.
  for (const char* algo :
       {"psgd", "cr-psgd-catalyst --b1 2 --outer-iters 2 --inner-budget 6", "local-sgd --sync-period 2"}) {
    const CommandResult inproc =
        Execute(common + "--algo " + algo + " --backend inproc --workers 2 --out " + (dir / "inproc").string());
    ASSERT_EQ(inproc.exit_code, 0) << inproc.output;
    const CommandResult mpi = Execute(common + "--algo " + algo + " --out " + (dir / "mpi").string(), MpiPrefix(2));
    ASSERT_EQ(mpi.exit_code, 0) << mpi.output;
    const auto si = ReadJson(dir / "inproc" / "summary.json"), sm = ReadJson(dir / "mpi" / "summary.json");
    EXPECT_EQ(si["rounds"], sm["rounds"]) << algo;
    EXPECT_EQ(si["sfo_total"], sm["sfo_total"]) << algo;
    EXPECT_EQ(si["bytes"], sm["bytes"]) << algo;
    const double fi = si["final_loss"], fm = sm["final_loss"];
    EXPECT_LE(std::abs(fi - fm), 1e-9 * std::abs(fi)) << algo;
  }
}

#endif

#endif

TEST(CliCompareTest, RunsTheConfigAndDrawsFigures) {
  TempDir dir;
  const auto config = dir.Write("c.json", R"({
    "problem": "logreg", "format": "synthetic", "synthetic_samples": 1000, "synthetic_features": 10,
    "lambda": 1e-3, "workers": 2, "budget": 200, "seeds": [1, 2],
    "runs": [{"algo": "psgd", "batch": 1, "lr": "auto*0.5"},
             {"algo": "cr-psgd", "b1": 2, "rho": 1.3, "lr": 0.5}]
  })");
  const CommandResult run = Execute("compare --config " + config.string() + " --out " + (dir / "out").string());
  ASSERT_EQ(run.exit_code, 0) << run.output;
  for (const char* name : {"loss_vs_sfo", "loss_vs_rounds", "loss_vs_wall"}) {
    for (const char* ext : {".png", ".svg"}) {
      const auto file = dir / "out" / "figures" / (std::string(name) + ext);
      EXPECT_TRUE(std::filesystem::exists(file)) << file;
      EXPECT_GT(std::filesystem::file_size(file), 1000u) << file;
    }
  }
  EXPECT_TRUE(std::filesystem::exists(dir / "out" / "seed-2" / "2_cr-psgd_B1-2_rho-1.3" / "summary.json"));
  // The figure data: one line per evaluation, mean between min and max.
  std::ifstream dat(dir / "out" / "figures" / "run2.dat");
  std::string line;
  std::getline(dat, line);  // header
  int rows = 0;
  while (std::getline(dat, line)) {
    std::istringstream ss(line);
    double sfo, round, wall, mean, lo, hi;
    ss >> sfo >> round >> wall >> mean >> lo >> hi;
    EXPECT_LE(lo, mean);
    EXPECT_LE(mean, hi);
    ++rows;
  }
  EXPECT_GT(rows, 5);
  EXPECT_NE(run.output.find("| cr-psgd | B1=2 rho=1.3 |"), std::string::npos) << run.output;
}

TEST(CliCompareTest, TomlAndJsonConfigsRunTheSame) {
  TempDir dir;
  const auto json_config = dir.Write("c.json", R"({
    "problem": "logreg", "format": "synthetic", "synthetic_samples": 600, "synthetic_features": 6,
    "workers": 2, "budget": 150, "seeds": [3],
    "runs": [{"algo": "psgd", "batch": 2, "lr": 0.5}, {"algo": "cr-psgd", "b1": 2, "rho": 1.3, "lr": 0.5}]
  })");
  const auto toml_config = dir.Write("c.toml", R"(problem = "logreg"
format = "synthetic"
synthetic_samples = 600
synthetic_features = 6
workers = 2
budget = 150
seeds = [3]
[[runs]]
algo = "psgd"
batch = 2
lr = 0.5
[[runs]]
algo = "cr-psgd"
b1 = 2
rho = 1.3
lr = 0.5
)");
  for (const auto& [config, out] : {std::pair{json_config, dir / "json"}, std::pair{toml_config, dir / "toml"}}) {
    const CommandResult run = Execute("compare -q --config " + config.string() + " --out " + out.string());
    ASSERT_EQ(run.exit_code, 0) << run.output;
  }
  for (const char* run : {"1_psgd_B-2", "2_cr-psgd_B1-2_rho-1.3"}) {
    EXPECT_EQ(ReadJson(dir / "toml" / run / "summary.json")["final_loss"],
              ReadJson(dir / "json" / run / "summary.json")["final_loss"])
        << run;
  }
  const auto bad = dir.Write("bad.toml", "budget = \n");
  const CommandResult run = Execute("compare --config " + bad.string() + " --out " + (dir / "bad").string());
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(run.output.find("bad.toml:1: not valid TOML"), std::string::npos) << run.output;
}

// One table of per-run settings: a compare config and --run take the same
// keys, in both spellings, and the run-level settings of train (seed,
// save_model, ...) are keys of a compare config too.
TEST(CliCompareTest, ConfigsAndRunSpecsTakeTheSameKeysInBothSpellings) {
  TempDir dir;
  const auto config = dir.Write("c.json", R"({
    "problem": "logreg", "format": "synthetic", "synthetic-samples": 600, "synthetic_features": 6,
    "workers": 2, "budget": 200, "seed": 4, "save-model": true,
    "runs": [{"algo": "local-sgd", "batch": 2, "sync-period": 5, "momentum": 0.5, "lr": 0.25}]
  })");
  CommandResult run = Execute("compare -q --config " + config.string() + " --out " + (dir / "compare").string());
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const auto folder = dir / "compare" / "1_local-sgd_b-2_I-5_mu-0.5";
  const nlohmann::json from_config = ReadJson(folder / "summary.json");
  EXPECT_EQ(from_config["seed"], 4);
  EXPECT_EQ(from_config["sync_period"], 5);
  EXPECT_EQ(from_config["momentum"], 0.5);
  EXPECT_TRUE(std::filesystem::exists(folder / "model.liblinear"));
  // The same run as a sweep: --run with underscores, the step as a multiple of 1/L.
  run = Execute("sweep" + kSynthetic +
                "--budget 200 --workers 2 --seed 4 --lr-grid 0.05 "
                "--run local-sgd:batch=2,sync_period=5,momentum=0.5 --out " +
                (dir / "sweep").string());
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const nlohmann::json from_run = ReadJson(dir / "sweep" / "local-sgd_b-2_I-5_mu-0.5_lr0.05overL" / "summary.json");
  EXPECT_EQ(from_run["sync_period"], 5);
  EXPECT_EQ(from_run["momentum"], 0.5);
  // Unknown keys name the nearest known one, in a config and in --run.
  const auto typo = dir.Write("typo.json", R"({"budget": 10, "runs": [{"algo": "psgd", "bach": 2}]})");
  run = Execute("compare --config " + typo.string() + " --out " + (dir / "typo").string());
  EXPECT_EQ(run.exit_code, 2) << run.output;
  EXPECT_NE(run.output.find("runs[0]: unknown key \"bach\" (did you mean \"batch\"?)"), std::string::npos)
      << run.output;
  run = Execute("sweep" + kSynthetic + "--budget 200 --run psgd:bacth=2 --out " + (dir / "typo2").string());
  EXPECT_EQ(run.exit_code, 2) << run.output;
  EXPECT_NE(run.output.find("unknown key 'bacth' (did you mean batch?)"), std::string::npos) << run.output;
  // A run with its own lr keeps it instead of the grid; a bad one is refused naming the run.
  run = Execute("sweep" + kSynthetic + "--budget 200 --run psgd:lr=0.1 --lr-grid 1,2 --out " +
                (dir / "own-step").string());
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const std::string results = ReadText(dir / "own-step" / "results.csv");
  EXPECT_EQ(std::count(results.begin(), results.end(), '\n'), 2) << results;  // the header and one run
  EXPECT_NE(results.find(",0.1,ok,"), std::string::npos) << results;
  run = Execute("sweep" + kSynthetic + "--budget 200 --run psgd:lr=fast --out " + (dir / "typo3").string());
  EXPECT_EQ(run.exit_code, 2) << run.output;
  EXPECT_NE(run.output.find("--run 'psgd:lr=fast'"), std::string::npos) << run.output;
  // One key written both ways is refused, not silently chosen.
  const auto twice = dir.Write("twice.json", R"({"budget": 10, "runs": [{"algo": "local-sgd", "sync_period": 2,
                                                 "sync-period": 3}]})");
  run = Execute("compare --config " + twice.string() + " --out " + (dir / "twice").string());
  EXPECT_EQ(run.exit_code, 2) << run.output;
  EXPECT_NE(run.output.find("is given twice"), std::string::npos) << run.output;
}

TEST(CliCompareTest, BadConfigsNameTheProblem) {
  TempDir dir;
  struct Case {
    const char* content;
    const char* fragment;
  };
  for (const Case& c :
       {Case{"{not json", "not valid JSON"},
        Case{"8888888e8888888888888888888888888877)", "not valid JSON"},  // found by fuzz/
        Case{R"({"budget": 1e999, "runs": [{"algo": "psgd"}]})", "not valid JSON"},
        Case{R"({"budget": 10, "runs": [{"algo": "psgd"}], "workerz": 2})", "unknown key \"workerz\""},
        Case{R"({"budget": 10, "runs": [{"algo": "psgd", "rho": "x"}]})",
             "runs[0]: --rho must be a number > 1 or auto, got 'x'"},
        Case{R"({"budget": 10, "runs": [{"algo": "psgd", "batch": "x"}]})",
             "runs[0]: --batch must be an integer >= 1 or auto, got 'x'"},
        Case{R"({"budget": 10, "runs": [{"algo": "local-sgd", "sync_period": "x"}]})",
             "runs[0]: \"sync_period\" has the wrong type"},
        Case{R"({"budget": 10, "runs": []})", "\"runs\" must be a non-empty list"},
        Case{R"({"runs": [{"algo": "psgd"}]})", "\"budget\""},
        // A setting each value of which passes, checked by the job against the others: named the same way.
        Case{R"({"budget": 10, "workers": 2, "format": "synthetic", "runs": [{"algo": "cr-psgd", "rho": 1}]})",
             "runs[0]: --rho must be > 1"}}) {
    const auto config = dir.Write("bad.json", c.content);
    const CommandResult run = Execute("compare --config " + config.string() + " --out " + (dir / "out").string());
    EXPECT_EQ(run.exit_code, 2) << c.content << "\n" << run.output;
    EXPECT_NE(run.output.find(c.fragment), std::string::npos) << run.output;
    EXPECT_NE(run.output.find("bad.json"), std::string::npos) << run.output;
    EXPECT_FALSE(std::filesystem::exists(dir / "out"));
  }
}

TEST(CliConfigTest, FlagsComeFromATomlFileAndTheCommandLineOverridesIt) {
  TempDir dir;
  const auto config = dir.Write("run.toml", R"(# a run
format = "synthetic"
synthetic_samples = 500     # "_" may stand for "-"
synthetic-features = 8
problem = "logreg"
lambda = 1e-3
budget = 400
algo = "cr-psgd"
rho = 1.2
workers = 2
quiet = true
)");
  const auto out1 = dir / "one", out2 = dir / "two", out3 = dir / "three";
  CommandResult run = Execute("train --config " + config.string() + " --rho 1.3 --out " + out1.string());
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const nlohmann::json summary = ReadJson(out1 / "summary.json");
  EXPECT_EQ(summary["rho"], 1.3);  // the command line wins
  EXPECT_EQ(summary["workers"], 2);
  EXPECT_EQ(summary["sfo_per_worker"].get<int>() + summary["budget_left"].get<int>(), 400);
  EXPECT_EQ(run.output.find("crpsgd: "), std::string::npos) << "quiet = true: " << run.output;
  // The effective configuration repeats the run exactly.
  run = Execute("train --config " + (out1 / "config.toml").string() + " --out " + out2.string());
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const nlohmann::json again = ReadJson(out2 / "summary.json");
  EXPECT_EQ(again["final_loss"], summary["final_loss"]);
  EXPECT_EQ(again["rounds"], summary["rounds"]);
  // And equals the same flags given by hand.
  run = Execute(
      "train --format synthetic --synthetic-samples 500 --synthetic-features 8 --lambda 1e-3 --budget 400 "
      "--algo cr-psgd --rho 1.3 --workers 2 -q --out " +
      out3.string());
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(ReadJson(out3 / "summary.json")["final_loss"], summary["final_loss"]);
}

TEST(CliTest, AutoPlansFewerRoundsOnASlowLinkAndItsConfigRepeatsThePlan) {
  if (!cli_testing::HaveLiblinear()) GTEST_SKIP() << "needs liblinear-tools' heart_scale";
  TempDir dir;
  const std::string common = "train --data " + cli_testing::kHeartScale + " --workers 2 --budget 2000 --out ";
  CommandResult run = Execute(common + (dir / "fast").string());  // in process: a round costs microseconds
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("plan: 100 rounds (--rounds 100 repeats it)"), std::string::npos) << run.output;
  run = Execute(common + (dir / "slow").string() + " --net-model alpha=0.05,bandwidth=1.25e6");  // 50 ms, 10 Mbit/s
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const nlohmann::json fast = ReadJson(dir / "fast" / "summary.json"), slow = ReadJson(dir / "slow" / "summary.json");
  EXPECT_EQ(fast["algo"], "auto");  // the default method
  EXPECT_EQ(fast["rounds"], 100);
  EXPECT_EQ(slow["rounds"], 10);  // 0.1 s a round against 2 ms of compute: the fewest auto takes
  EXPECT_NE(run.output.find("10 is the fewest auto takes"), std::string::npos) << run.output;
  // The plan is in config.toml: the run repeats bit for bit from it, with no measurement.
  EXPECT_NE(ReadText(dir / "slow" / "config.toml").find("\nrounds = 10  # planned"), std::string::npos);
  run = Execute("train --config " + (dir / "slow" / "config.toml").string() + " --out " + (dir / "again").string());
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(run.output.find("plan: "), std::string::npos) << run.output;
  EXPECT_EQ(ReadJson(dir / "again" / "summary.json")["final_loss"], slow["final_loss"]);
}

TEST(CliTest, BudgetAutoStopsOnceConvergedAndSaysWhy) {
  TempDir dir;
  // Least squares, well conditioned and without label noise (SGD converges linearly): f − f*
  // closes to 1e-3 of its start long before 20 epochs.
  const CommandResult run = Execute(
      "train --format synthetic --problem leastsq --synthetic-samples 2000 --synthetic-condition 1 "
      "--synthetic-noise 0 --workers 2 --eval-every 1 --out " +
      (dir / "run").string());
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const nlohmann::json s = ReadJson(dir / "run" / "summary.json");
  EXPECT_EQ(s["budget"], 20000);  // 20 epochs of 2000 samples over 2 workers
  EXPECT_EQ(s["budget_rule"], "auto");
  EXPECT_LT(s["sfo_per_worker"].get<int>(), 20000);
  EXPECT_EQ(s["stopped_by"].get<std::string>().rfind("converged", 0), 0u) << s["stopped_by"];
  EXPECT_EQ(s["target_relative_gap"], 1e-3);
  EXPECT_NE(run.output.find("; converged: f - f* closed to 0.001 of its start"), std::string::npos) << run.output;
  // --epochs E: exactly E passes, no stop rule.
  const CommandResult epochs =
      Execute("train --format synthetic --problem leastsq --synthetic-samples 2000 --workers 2 --epochs 0.5 --out " +
              (dir / "epochs").string());
  ASSERT_EQ(epochs.exit_code, 0) << epochs.output;
  const nlohmann::json e = ReadJson(dir / "epochs" / "summary.json");
  EXPECT_EQ(e["budget"], 500);
  EXPECT_EQ(e["sfo_per_worker"], 500);
  EXPECT_EQ(e["budget_rule"], "epochs");
}

TEST(CliTest, ARunRefusedOnceTheDataAreKnownLeavesOutFreeForTheCorrectedRun) {
  if (!cli_testing::HaveLiblinear()) GTEST_SKIP() << "needs liblinear-tools' heart_scale";
  TempDir dir;
  const std::string common =
      "train --data " + cli_testing::kHeartScale + " --algo cr-psgd --b1 5 --workers 2 --out " + (dir / "run").string();
  // 0.01 epochs of 270 samples over 2 workers: a budget of 2, below --b1, known only after loading.
  CommandResult run = Execute(common + " --epochs 0.01");
  EXPECT_EQ(run.exit_code, 2) << run.output;
  EXPECT_NE(run.output.find("--budget (2) is below --b1 (5)"), std::string::npos) << run.output;
  EXPECT_FALSE(std::filesystem::exists(dir / "run" / "config.toml"));
  run = Execute(common + " --epochs 1");
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_TRUE(std::filesystem::exists(dir / "run" / "summary.json"));
}

TEST(CliTest, VerboseLogsEveryEvaluatedRoundAndQuietLogsNothing) {
  TempDir dir;
  const std::string args = "train --data " + std::string("/usr/share/doc/liblinear-tools/examples/heart_scale") +
                           " --budget 300 --format libsvm --out ";
  if (!std::filesystem::exists("/usr/share/doc/liblinear-tools/examples/heart_scale")) GTEST_SKIP();
  CommandResult run = Execute(args + (dir / "v").string() + " -v");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  int evaluated = 0;
  for (const auto& line : ReadJsonLines(dir / "v" / "metrics.jsonl")) evaluated += line["loss"].is_null() ? 0 : 1;
  int logged = 0;
  for (std::size_t at = run.output.find(": round "); at != std::string::npos;
       at = run.output.find(": round ", at + 1)) {
    ++logged;
  }
  EXPECT_EQ(logged, evaluated) << run.output;
  run = Execute(args + (dir / "q").string() + " -q");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(run.output.find("crpsgd:"), std::string::npos) << run.output;  // only the table
  run = Execute(args + (dir / "both").string() + " -q -v");
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(run.output.find("-q (--quiet) and -v (--verbose) contradict each other"), std::string::npos) << run.output;
}

TEST(CliConfigTest, BadConfigFilesNameTheFileAndLine) {
  TempDir dir;
  struct Case {
    const char* content;
    const char* fragment;
  };
  for (const Case& c : {Case{"budget = 100\nbogus_key = 3\n", "bad.toml:2: unknown key \"bogus_key\""},
                        Case{"budget = \n", "bad.toml:1: not valid TOML"},
                        Case{"budget = 100\nquiet = 1\n", "bad.toml:2: quiet is a flag"},
                        Case{"budget = [1, 2]\n", "bad.toml:1: budget takes one value, not a list"},
                        Case{"[train]\nbudget = 5\n", "bad.toml:1: [train]: sections are not used"},
                        Case{"budget = 100\nalgo = \"cr-psgd\"\nrho = 1\n", "--rho must be > 1"}}) {
    const auto config = dir.Write("bad.toml", c.content);
    const CommandResult run =
        Execute("train --format synthetic --config " + config.string() + " --out " + (dir / "out").string());
    EXPECT_EQ(run.exit_code, 2) << c.content << "\n" << run.output;
    EXPECT_NE(run.output.find(c.fragment), std::string::npos) << run.output;
    EXPECT_FALSE(std::filesystem::exists(dir / "out"));
  }
  const CommandResult missing = Execute("sweep --config " + (dir / "nope.toml").string());
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.output.find("nope.toml: no such file (--config)"), std::string::npos) << missing.output;
}

// liblinear-predict's line "Accuracy = 84.4444% (228/270)" -> 228;
// "Mean squared error = 0.1 (regression)" -> the error.
double PredictSummary(const std::string& output, const std::string& key) {
  const std::size_t at = output.find(key);
  if (at == std::string::npos) return -1;
  if (key == "(") return std::stod(output.substr(at + 1));
  return std::stod(output.substr(at + key.size()));
}

// A model crpsgd trains scores the same with LIBLINEAR's predict: the same
// correct count (logreg, with and without a bias feature) and the same mean
// squared error (leastsq).
TEST(CliLiblinearTest, SavedModelsScoreTheSameWithLiblinearPredict) {
  if (!HaveLiblinear()) GTEST_SKIP() << "liblinear-tools is not installed";
  TempDir dir;
  for (const char* bias : {"0", "1"}) {
    const auto out = dir / (std::string("logreg-bias") + bias);
    CommandResult run = Execute("train -q --problem logreg --data " + kHeartScale +
                                " --budget 3000 --workers 3 "
                                "--save-model --bias " +
                                std::string(bias) + " --out " + out.string());
    ASSERT_EQ(run.exit_code, 0) << run.output;
    const double accuracy = ReadJson(out / "summary.json")["train_accuracy"].get<double>();
    run = Execute("", "liblinear-predict " + kHeartScale + " " + (out / "model.liblinear").string() + " " +
                          (dir / "pred").string() + " #");
    const double correct = PredictSummary(run.output, "(");
    EXPECT_EQ(correct, std::round(accuracy * 270)) << run.output;
    EXPECT_GT(correct, 200) << run.output;  // a trained model, not an empty one
  }
  const auto out = dir / "leastsq";
  CommandResult run = Execute("train -q --problem leastsq --lambda 0 --data " + kHeartScale +
                              " --budget 3000 --workers 2 --lr auto*0.5 --save-model --out " + out.string());
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const double loss = ReadJson(out / "summary.json")["final_loss"].get<double>();  // ½ mean squared error
  run = Execute("", "liblinear-predict " + kHeartScale + " " + (out / "model.liblinear").string() + " " +
                        (dir / "pred").string() + " #");
  const double mse = PredictSummary(run.output, "Mean squared error = ");
  EXPECT_NEAR(mse, 2 * loss, 1e-6 * mse) << run.output;  // predict prints 6 significant digits
}

// Warm starts: from liblinear-train's solution the run starts at f*, and
// from crpsgd's own saved model at that run's final loss, bit for bit.
TEST(CliLiblinearTest, WarmStartsFromLiblinearModels) {
  if (!HaveLiblinear()) GTEST_SKIP() << "liblinear-tools is not installed";
  TempDir dir;
  const double lambda = 0.01, c = 1.0 / (270 * lambda);  // LIBLINEAR's C for our λ
  const auto model = dir / "liblinear.model";
  ASSERT_EQ(std::system(("liblinear-train -q -s 0 -e 1e-8 -c " + std::to_string(c) + " " + kHeartScale + " " +
                         model.string() + " > /dev/null")
                            .c_str()),
            0);
  const std::string common = "train -q --lambda 0.01 --data " + kHeartScale + " --budget 500 ";
  CommandResult run = Execute(common + "--init-model " + model.string() + " --out " + (dir / "warm").string());
  // (--problem logreg is the default.)
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const auto start = ReadJsonLines(dir / "warm" / "metrics.jsonl").front();
  EXPECT_EQ(start["round"], 0);
  EXPECT_LT(start["f_gap"].get<double>(), 1e-6);  // LIBLINEAR's optimum is ours

  run = Execute(common + "--save-model --out " + (dir / "first").string());
  ASSERT_EQ(run.exit_code, 0) << run.output;
  run = Execute(common + "--init-model " + (dir / "first" / "model.liblinear").string() + " --out " +
                (dir / "second").string());
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(ReadJsonLines(dir / "second" / "metrics.jsonl").front()["loss"],
            ReadJson(dir / "first" / "summary.json")["final_loss"]);

  // Models that do not fit the run are refused before anything is written.
  for (const auto& [flags, fragment] : std::vector<std::pair<std::string, std::string>>{
           {"--bias 1", "has no bias feature: drop --bias"},
           {"--problem leastsq", "does not fit --problem leastsq"},
           {"--problem mlp", CRPSGD_HAVE_TORCH ? "linear models only" : "this build has no LibTorch"}}) {
    run = Execute(common + "--init-model " + model.string() + " " + flags + " --out " + (dir / "bad").string());
    EXPECT_EQ(run.exit_code, 2) << run.output;
    EXPECT_NE(run.output.find(fragment), std::string::npos) << run.output;
    EXPECT_FALSE(std::filesystem::exists(dir / "bad"));
  }
}

// The fields of metrics.jsonl and summary.json that measure time or memory:
// they differ between any two runs; everything else must not.
std::string WithoutTimes(std::string text) {
  static const std::regex times(
      R"re("([a-z_]*_s|peak_rss_bytes)": ?[^,}\n]*,?|"peak_rss_bytes_per_worker": ?\[[^\]]*\],?)re");
  return std::regex_replace(text, times, "");
}

struct CheckpointCase {
  const char* name;
  std::string args;      // algorithm flags
  std::uint64_t rounds;  // of the whole run
};

// Each algorithm with its state: reshuffled sampling (psgd), momentum
// (local-sgd, one buffer per worker), outer iterations (catalyst).
const std::vector<CheckpointCase> kCheckpointCases = {
    {"psgd", "--algo psgd --batch 8 --budget 400 --sampling reshuffle", 50},
    {"cr-psgd", "--algo cr-psgd --budget 1500", 52},
    {"local-sgd", "--algo local-sgd --batch 2 --sync-period 5 --budget 400 --momentum 0.5 --lr 0.5", 40},
    {"catalyst", "--algo cr-psgd-catalyst --budget 400 --outer-iters 6 --inner-budget 30 --theta 1", 96},
    {"cr-psgd-auto", "--algo cr-psgd --rho auto --b1 2 --budget 1500", 20},  // the norm test's state
    // auto: the noise statistics, the chosen local batch, both momentum buffers
    {"auto", "--algo auto --rounds 30 --budget 1500 --momentum 0.3 --outer-lr 0.8 --outer-momentum 0.5", 30},
    // acc-cr-psgd: the previous iterate, k and the restarts
    {"acc-cr-psgd", "--algo acc-cr-psgd --b1 2 --rho 1.05 --budget 1500", 75}};

// Kill -9 at seeded random rounds, resume, and compare with the run that was
// never stopped: every metrics line and the summary, times aside, are equal.
// One test per algorithm and backend (three kill points in-process, two under
// mpirun: 35 in all), so that each is short and ctest runs them side by side.
struct CheckpointParam {
  CheckpointCase algorithm;
  bool mpi;
};

void PrintTo(const CheckpointParam& p, std::ostream* os) { *os << p.algorithm.name << (p.mpi ? "_mpi" : "_inproc"); }

class CliCheckpointTest : public ::testing::TestWithParam<CheckpointParam> {};

TEST_P(CliCheckpointTest, KilledRunsResumeBitIdentical) {
  const auto& [c, mpi] = GetParam();
  if (!std::filesystem::exists(kHeartScale)) GTEST_SKIP() << "liblinear-tools is not installed";
  if (mpi && !CRPSGD_HAVE_MPI) GTEST_SKIP() << "built without MPI";
  TempDir dir;
  // Seeded by the case, so each test kills at the same rounds every time.
  std::mt19937_64 rng(20261125 + std::hash<std::string>{}(std::string(c.name) + (mpi ? "mpi" : "")));
  const std::string prefix = mpi ? MpiPrefix(3) : "";
  const std::string workers = mpi ? "" : " --workers 3";
  const std::string common = "train -q --data " + kHeartScale + workers + " " + c.args + " --out ";
  const auto reference = dir / "reference";
  CommandResult run = Execute(common + reference.string(), prefix);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  ASSERT_EQ(ReadJson(reference / "summary.json")["rounds"], c.rounds);
  for (int k = 0; k < (mpi ? 2 : 3); ++k) {
    const std::uint64_t every = 4, kill_round = every + 1 + rng() % (c.rounds - every - 1);
    const auto out = dir / ("killed-" + std::to_string(k));
    const std::string flags = " --checkpoint-every " + std::to_string(every);
    run = Execute(common + out.string() + flags + " --inject-fault kill:rank=1,round=" + std::to_string(kill_round),
                  prefix);
    ASSERT_NE(run.exit_code, 0) << "killed at round " << kill_round << ": " << run.output;
    ASSERT_FALSE(std::filesystem::exists(out / "summary.json"));
    run = Execute(common + out.string() + flags + " --resume", prefix);
    ASSERT_EQ(run.exit_code, 0) << "resumed after round " << kill_round << ": " << run.output;
    EXPECT_EQ(WithoutTimes(ReadText(out / "metrics.jsonl")), WithoutTimes(ReadText(reference / "metrics.jsonl")))
        << "killed at round " << kill_round;
    EXPECT_EQ(WithoutTimes(ReadText(out / "summary.json")), WithoutTimes(ReadText(reference / "summary.json")))
        << "killed at round " << kill_round;
  }
}

INSTANTIATE_TEST_SUITE_P(
    EveryAlgorithmAndBackend, CliCheckpointTest,
    ::testing::Values(CheckpointParam{kCheckpointCases[0], false}, CheckpointParam{kCheckpointCases[1], false},
                      CheckpointParam{kCheckpointCases[2], false}, CheckpointParam{kCheckpointCases[3], false},
                      CheckpointParam{kCheckpointCases[4], false}, CheckpointParam{kCheckpointCases[5], false},
                      CheckpointParam{kCheckpointCases[6], false}, CheckpointParam{kCheckpointCases[0], true},
                      CheckpointParam{kCheckpointCases[1], true}, CheckpointParam{kCheckpointCases[2], true},
                      CheckpointParam{kCheckpointCases[3], true}, CheckpointParam{kCheckpointCases[4], true},
                      CheckpointParam{kCheckpointCases[5], true}, CheckpointParam{kCheckpointCases[6], true}),
    [](const auto& p) {
      std::string name = std::string(p.param.algorithm.name) + (p.param.mpi ? "_mpi" : "_inproc");
      for (char& ch : name) ch = ch == '-' ? '_' : ch;
      return name;
    });

// A compressed (or overlapped) run against the plain one. `common` (a train
// command ending in --out) runs in `dir`/none on 2 workers, and with `flags`
// in process (`dir`/inproc) and under mpirun (`dir`/mpi), which must agree
// bit for bit; then in `dir`/killed with a checkpoint every `every` rounds,
// killed at round `kill` and resumed, which must end on inproc's summary
// (the residual, or the unsent step, is in the checkpoint). False when a run
// did not run.
bool RunsAgreeAcrossBackendsAndResume(const std::filesystem::path& dir, const std::string& common,
                                      const std::string& flags, int every, int kill) {
  const auto ran = [](const CommandResult& run, bool succeeds) {
    EXPECT_EQ(run.exit_code == 0, succeeds) << run.output;
    return (run.exit_code == 0) == succeeds;
  };
  if (!ran(Execute(common + (dir / "none").string() + " --workers 2"), true)) return false;
  if (!ran(Execute(common + (dir / "inproc").string() + " --workers 2" + flags), true)) return false;
  if (!ran(Execute(common + (dir / "mpi").string() + flags, MpiPrefix(2)), true)) return false;
  EXPECT_EQ(WithoutTimes(ReadText(dir / "mpi" / "metrics.jsonl")),
            WithoutTimes(ReadText(dir / "inproc" / "metrics.jsonl")))
      << common;
  const auto killed = dir / "killed";
  std::filesystem::remove_all(killed);
  const std::string checkpoints = " --workers 2 --checkpoint-every " + std::to_string(every) + flags;
  const std::string fault = " --inject-fault kill:rank=1,round=" + std::to_string(kill);
  if (!ran(Execute(common + killed.string() + checkpoints + fault), false)) return false;
  const std::string resume = std::string(common).replace(common.find(" --overwrite"), 12, "");
  if (!ran(Execute(resume + killed.string() + checkpoints + " --resume"), true)) return false;
  EXPECT_EQ(WithoutTimes(ReadText(killed / "summary.json")), WithoutTimes(ReadText(dir / "inproc" / "summary.json")))
      << common;
  return true;
}

// auto with --compress int8 (its default split): the same bits in process,
// under mpirun and resumed, the bytes as the wire carried them, and the
// model within 1.1x the uncompressed run's f - f*.
TEST(CliTest, AutoCompressedAgreesAcrossBackendsResumesAndKeepsItsGap) {
  if (!CRPSGD_HAVE_MPI) GTEST_SKIP() << "built without MPI";
  if (!std::filesystem::exists(kHeartScale)) GTEST_SKIP() << "liblinear-tools is not installed";
  TempDir dir;
  const std::string common =
      "train -q --data " + kHeartScale + " --algo auto --budget 2000 --rounds 20 --overwrite --out ";
  ASSERT_TRUE(RunsAgreeAcrossBackendsAndResume(dir.path(), common, " --compress int8", 3, 8));
  const auto none = ReadJson(dir / "none" / "summary.json"), compressed = ReadJson(dir / "inproc" / "summary.json");
  EXPECT_EQ(compressed["rounds"], none["rounds"]);
  EXPECT_EQ(compressed["compress"], "int8");
  EXPECT_NE(compressed["final_loss"], none["final_loss"]);  // the compressed wire is in use
  // What the wire carried: 13 int8 values and one float32 scale a round (the
  // uncompressed rounds sent 13 float64 values and the noise statistic).
  EXPECT_EQ(compressed["bytes"], 20 * (13 + 4));
  EXPECT_LE(compressed["f_gap"].get<double>(), 1.1 * none["f_gap"].get<double>());
}

// auto with --overlap: the same bits in process and under mpirun, and a run
// killed before its last round's exchange resumes from round 19's
// checkpoint (which holds round 20's step, not yet sent) to them: the last
// round, not overlapped, runs from the step the checkpoint kept.
TEST(CliTest, AutoOverlappedAgreesAcrossBackendsAndResumesIntoItsLastRound) {
  if (!CRPSGD_HAVE_MPI) GTEST_SKIP() << "built without MPI";
  if (!std::filesystem::exists(kHeartScale)) GTEST_SKIP() << "liblinear-tools is not installed";
  TempDir dir;
  const std::string common =
      "train -q --data " + kHeartScale + " --algo auto --budget 2000 --rounds 20 --overwrite --out ";
  ASSERT_TRUE(RunsAgreeAcrossBackendsAndResume(dir.path(), common, " --overlap", 19, 19));
  const auto none = ReadJson(dir / "none" / "summary.json"), overlapped = ReadJson(dir / "inproc" / "summary.json");
  EXPECT_EQ(overlapped["rounds"], 20);
  EXPECT_EQ(overlapped["sfo_total"], none["sfo_total"]);
  EXPECT_TRUE(overlapped.contains("exposed_comm_s"));
  EXPECT_NE(overlapped["final_loss"], none["final_loss"]);  // the mean applied a round late
}

#if CRPSGD_HAVE_TORCH
// A network's state outside x (batch-norm statistics, the augmentation
// stream) is in its checkpoints: a killed ResNet-20 run with momentum,
// augmentation and recomputed batch norm resumes to the same bits.
TEST(CliTorchTest, KilledResNet20RunsResumeBitIdentical) {
  TempDir dir;
  WriteCifarFolder(dir, 24);
  for (const bool mpi : {false, true}) {
    if (mpi && !CRPSGD_HAVE_MPI) continue;
    const std::string prefix = mpi ? MpiPrefix(2) : "";
    // The running statistics of training (evaluated with them), and statistics recomputed before evaluations.
    for (const char* algo : {"local-sgd --batch 2 --sync-period 2 --eval-batch-norm running",
                             "cr-psgd-catalyst --b1 2 --outer-iters 3 --inner-budget 6 --eval-batch-norm recomputed"}) {
      const std::string common =
          std::string("train -q --problem resnet20 --data ") + dir.path().string() + (mpi ? "" : " --workers 2") +
          " --budget 24 --lr 0.01 --momentum 0.5 --augment --threads 1 --eval-every 2 --algo " + algo + " --out ";
      const auto reference = dir / "reference", killed = dir / "killed";
      std::filesystem::remove_all(reference);
      std::filesystem::remove_all(killed);
      CommandResult run = Execute(common + reference.string(), prefix);
      ASSERT_EQ(run.exit_code, 0) << run.output;
      const std::string every = " --checkpoint-every 2";
      run = Execute(common + killed.string() + every + " --inject-fault kill:rank=1,round=5", prefix);
      ASSERT_NE(run.exit_code, 0) << algo << ": " << run.output;
      run = Execute(common + killed.string() + every + " --resume", prefix);
      ASSERT_EQ(run.exit_code, 0) << algo << ": " << run.output;
      EXPECT_EQ(WithoutTimes(ReadText(killed / "metrics.jsonl")), WithoutTimes(ReadText(reference / "metrics.jsonl")))
          << algo << (mpi ? " (mpi)" : " (inproc)");
      EXPECT_EQ(WithoutTimes(ReadText(killed / "summary.json")), WithoutTimes(ReadText(reference / "summary.json")))
          << algo << (mpi ? " (mpi)" : " (inproc)");
    }
  }
}

// --sampling global with batch norm: each worker's shard is a slice of its
// objective over the whole set, so there is one batch-norm state. A killed
// run resumes to the same bits on as many workers, and on another number
// with the plan's rounds and samples.
TEST(CliTorchTest, ANetworkWithBatchNormSamplesGloballyAndResumesElsewhere) {
  TempDir dir;
  WriteCifarFolder(dir, 24);
  const std::string common = std::string("train -q --problem resnet20 --data ") + dir.path().string() +
                             " --budget 24 --lr 0.01 --threads 1 --eval-every 2 --sampling global --algo local-sgd "
                             "--batch 2 --sync-period 2 --checkpoint-every 2 --out ";
  const auto reference = dir / "reference", killed = dir / "killed", elsewhere = dir / "elsewhere";
  CommandResult run = Execute(common + reference.string() + " --workers 2");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  run = Execute(common + killed.string() + " --workers 2 --inject-fault kill:rank=1,round=3");
  ASSERT_NE(run.exit_code, 0) << run.output;
  run = Execute(common + killed.string() + " --workers 2 --resume");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(WithoutTimes(ReadText(killed / "summary.json")), WithoutTimes(ReadText(reference / "summary.json")));
  run = Execute(common + elsewhere.string() + " --workers 2 --inject-fault kill:rank=1,round=3");
  ASSERT_NE(run.exit_code, 0) << run.output;
  run = Execute(common + elsewhere.string() + " --workers 3 --resume");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const nlohmann::json done = ReadJson(elsewhere / "summary.json"), planned = ReadJson(reference / "summary.json");
  EXPECT_EQ(done["rounds"], planned["rounds"]);
  EXPECT_EQ(done["sfo_total"], planned["sfo_total"]);
  EXPECT_EQ(done["plan_workers"], 2);
  EXPECT_TRUE(std::isfinite(done["final_loss"].get<double>()));
}
// --compress powersgd:2 on ResNet-20 (local SGD's step and PSGD's gradient):
// in process and under mpirun to the same bits, a killed run resumes to
// them (the residual and the factors Q are in the checkpoint), and a round
// sends at least 17 times fewer bytes than uncompressed; with its factors
// as bf16 (powersgd:2:bf16), at least 20 times fewer.
TEST(CliTorchTest, PowerSgdAgreesAcrossBackendsResumesAndSendsSeventeenTimesFewerBytes) {
  if (!CRPSGD_HAVE_MPI) GTEST_SKIP() << "built without MPI";
  TempDir dir;
  WriteCifarFolder(dir, 24);
  for (const char* algo : {"local-sgd --batch 2 --sync-period 2", "psgd --batch 2"}) {
    const std::string common = std::string("train -q --problem resnet20 --data ") + dir.path().string() +
                               " --budget 24 --lr 0.01 --momentum 0.5 --threads 1 --eval-every 2 --algo " + algo +
                               " --overwrite --out ";
    ASSERT_TRUE(RunsAgreeAcrossBackendsAndResume(dir.path(), common, " --compress powersgd:2", 2, 3)) << algo;
    const auto none = ReadJson(dir / "none" / "summary.json"), compressed = ReadJson(dir / "inproc" / "summary.json");
    EXPECT_EQ(compressed["rounds"], none["rounds"]) << algo;
    EXPECT_EQ(compressed["compress"], "powersgd:2");
    // 17.3× (local SGD, whose round carries the batch-norm statistics whole) and 18.9× (psgd): the
    // vectors that stay whole are a sixth of a round's bytes (docs/algorithms.md).
    EXPECT_GE(none["bytes"].get<double>(), 17.0 * compressed["bytes"].get<double>()) << algo;
    EXPECT_TRUE(std::isfinite(compressed["final_loss"].get<double>()));
    // The factors as bf16: half the bytes again (34.6× and 37.8×), the same bits on both backends.
    ASSERT_TRUE(RunsAgreeAcrossBackendsAndResume(dir.path(), common, " --compress powersgd:2:bf16", 2, 3)) << algo;
    const auto bf16 = ReadJson(dir / "inproc" / "summary.json");
    EXPECT_EQ(bf16["compress"], "powersgd:2:bf16");
    EXPECT_GE(none["bytes"].get<double>(), 20.0 * bf16["bytes"].get<double>()) << algo;
    EXPECT_LT(bf16["bytes"].get<double>(), 0.6 * compressed["bytes"].get<double>()) << algo;
  }
}

#endif

// One of four MPI ranks dies: the job ends quickly with a message naming the
// rank, the checkpoint and the metrics written before it survive, and a resume
// completes the run.
TEST(CliCheckpointFailureTest, AKilledMpiRankEndsTheJobAndTheRunResumes) {
  if (!CRPSGD_HAVE_MPI || !std::filesystem::exists(kHeartScale)) GTEST_SKIP();
  TempDir dir;
  const auto out = dir / "run";
  const std::string common = "train -q --data " + kHeartScale +
                             " --algo cr-psgd --budget 1500 --eval-every 1 "
                             "--checkpoint-every 5 --out " +
                             out.string();
  const auto start = std::chrono::steady_clock::now();
  CommandResult run = Execute(common + " --inject-fault kill:rank=2,round=33", MpiPrefix(4));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_NE(run.exit_code, 0);
  EXPECT_LT(seconds, 30.0);
  EXPECT_NE(run.output.find("rank 2"), std::string::npos) << run.output;
  EXPECT_EQ(ReadJson(out / "checkpoint" / "LATEST")["round"], 30);
  EXPECT_GE(ReadJsonLines(out / "metrics.jsonl").size(), 31u);  // rounds 0..30 at least
  run = Execute(common + " --resume", MpiPrefix(4));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const auto lines = ReadJsonLines(out / "metrics.jsonl");
  EXPECT_EQ(lines.size(), ReadJson(out / "summary.json")["rounds"].get<std::size_t>() + 1);
  for (std::size_t i = 0; i < lines.size(); ++i) EXPECT_EQ(lines[i]["round"], i);
}

// A diverging run stops with exit code 3 naming the round; its last good
// checkpoint stays, and no summary pretends the run finished.
TEST(CliCheckpointFailureTest, DivergenceKeepsTheLastCheckpoint) {
  if (!std::filesystem::exists(kHeartScale)) GTEST_SKIP();
  TempDir dir;
  const auto out = dir / "run";
  // The data as they are (no automatic scaling or intercept), where this step diverges.
  const CommandResult run = Execute("train -q --problem leastsq --standardize=no --bias 0 --data " + kHeartScale +
                                    " --algo psgd --budget 3000 --lr 0.25 --checkpoint-every 50 --out " + out.string());
  EXPECT_EQ(run.exit_code, 3) << run.output;
  EXPECT_NE(run.output.find("round "), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("grew past 100 times its start"), std::string::npos) << run.output;
  const auto latest = ReadJson(out / "checkpoint" / "LATEST")["round"].get<std::uint64_t>();
  EXPECT_GT(latest, 0u);
  EXPECT_TRUE(std::filesystem::exists(out / "checkpoint" / ("round-" + std::to_string(latest) + ".rank-0")));
  EXPECT_FALSE(std::filesystem::exists(out / "summary.json"));
  EXPECT_TRUE(std::filesystem::exists(out / "config.toml"));  // to repeat it with another step
}

// An exception inside a worker (as LibTorch throws) is an error with a
// message and an exit code, under mpirun as in process: not std::terminate,
// and no rank is left waiting.
TEST(CliCheckpointFailureTest, AnExceptionInAWorkerEndsTheJobWithItsMessage) {
  if (!std::filesystem::exists(kHeartScale)) GTEST_SKIP();
  TempDir dir;
  const std::string common = "train -q --data " + kHeartScale + " --budget 400 --inject-fault throw:rank=1,round=5";
  const std::string message = "worker 1 threw: --inject-fault: an exception in worker 1 after round 5";
  const CommandResult inproc = Execute(common + " --workers 3 --out " + (dir / "inproc").string());
  EXPECT_EQ(inproc.exit_code, 1) << inproc.output;
  EXPECT_NE(inproc.output.find("crpsgd: error: " + message), std::string::npos) << inproc.output;
  EXPECT_FALSE(std::filesystem::exists(dir / "inproc" / "summary.json"));
  if (!CRPSGD_HAVE_MPI) return;
  const CommandResult mpi = Execute(common + " --out " + (dir / "mpi").string(), MpiPrefix(3));
  EXPECT_NE(mpi.exit_code, 0) << mpi.output;
  EXPECT_NE(mpi.output.find("crpsgd: error: " + message), std::string::npos) << mpi.output;
  EXPECT_EQ(mpi.output.find("terminate called"), std::string::npos) << mpi.output;
  EXPECT_FALSE(std::filesystem::exists(dir / "mpi" / "summary.json"));
}

// A rank that stops answering (SIGSTOP) must not hang the others: their
// collectives give up after --mpi-timeout, name the silent rank and end the job.
TEST(CliCheckpointFailureTest, AHungMpiRankEndsTheJobAfterTheTimeout) {
  if (!CRPSGD_HAVE_MPI || !std::filesystem::exists(kHeartScale)) GTEST_SKIP();
  TempDir dir;
  const auto start = std::chrono::steady_clock::now();
  const CommandResult run = Execute("train -q --data " + kHeartScale + " --budget 1500 --mpi-timeout 3 --out " +
                                        (dir / "run").string() + " --inject-fault stop:rank=2,round=10",
                                    MpiPrefix(4));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_NE(run.exit_code, 0) << run.output;
  EXPECT_LT(seconds, 30.0) << run.output;
  EXPECT_NE(run.output.find("no data from rank 2 (host "), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("stopped answering"), std::string::npos) << run.output;
  EXPECT_FALSE(std::filesystem::exists(dir / "run" / "summary.json"));
}

// --round-timeout: a rank that stops answering mid-run ends the round after
// the round's deadline, long before --mpi-timeout, with exit code 5 (a lost
// worker), naming the silent rank and the last round every rank completed.
TEST(CliCheckpointFailureTest, ASilentRankEndsTheRoundAfterTheRoundTimeout) {
  if (!CRPSGD_HAVE_MPI || !std::filesystem::exists(kHeartScale)) GTEST_SKIP();
  TempDir dir;
  const auto start = std::chrono::steady_clock::now();
  const CommandResult run =
      Execute("train -q --data " + kHeartScale + " --algo psgd --batch 4 --budget 1500 --round-timeout 3 " +
                  "--mpi-timeout 600 --out " + (dir / "run").string() + " --inject-fault stop:rank=2,round=10",
              MpiPrefix(4));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(run.exit_code, 5) << run.output;
  EXPECT_LT(seconds, 120.0) << run.output;  // --mpi-timeout alone would wait 600 s
  EXPECT_NE(run.output.find("rank 2 (host "), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("stopped answering: round 11 has waited 3 s for them (--round-timeout)"), std::string::npos)
      << run.output;
  EXPECT_NE(run.output.find("the last round every rank completed is 10"), std::string::npos) << run.output;
  EXPECT_FALSE(std::filesystem::exists(dir / "run" / "summary.json"));
}

// The same under --mpi-reduction native, whose MPI_Allreduce cannot be
// polled: the watchdog keeps the round's deadline and ends each rank that
// waits with exit code 5, naming the round (MPI cannot say which rank is silent).
TEST(CliCheckpointFailureTest, ASilentRankEndsANativeRoundAfterTheRoundTimeout) {
  if (!CRPSGD_HAVE_MPI || !std::filesystem::exists(kHeartScale)) GTEST_SKIP();
  TempDir dir;
  const auto start = std::chrono::steady_clock::now();
  const CommandResult run = Execute(
      "train -q --data " + kHeartScale + " --algo psgd --batch 4 --budget 1500 --round-timeout 3 --mpi-timeout 600 " +
          "--mpi-reduction native --out " + (dir / "run").string() + " --inject-fault stop:rank=2,round=10",
      MpiPrefix(4));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(run.exit_code, 5) << run.output;
  EXPECT_LT(seconds, 120.0) << run.output;  // --mpi-timeout alone would wait 600 s
  EXPECT_NE(run.output.find("a rank stopped answering: round 11 has waited 3 s for them (--round-timeout; "
                            "--mpi-reduction native cannot name it"),
            std::string::npos)
      << run.output;
  EXPECT_NE(run.output.find("the last round every rank completed is 10"), std::string::npos) << run.output;
  EXPECT_FALSE(std::filesystem::exists(dir / "run" / "summary.json"));
}

TEST(CliCheckpointFailureTest, CorruptOrForeignCheckpointsAreRefused) {
  if (!std::filesystem::exists(kHeartScale)) GTEST_SKIP();
  TempDir dir;
  const auto out = dir / "run";
  // reshuffle: passes over each worker's own shard, which resume on as many workers (or fewer, hosting
  // the plan's), not more.
  const std::string common =
      "train -q --data " + kHeartScale + " --algo cr-psgd --sampling reshuffle --out " + out.string();
  CommandResult run =
      Execute(common + " --workers 3 --budget 1500 --checkpoint-every 5 --inject-fault kill:rank=0,round=23");
  ASSERT_NE(run.exit_code, 0);
  struct Case {
    std::string flags, fragment;
  };
  for (const Case& c :
       {Case{" --workers 3 --budget 1600 --resume", "belongs to another run: budget is 1500 there, 1600 here"},
        Case{" --workers 3 --budget 1500 --resume --seed 2", "belongs to another run: seed is 1 there, 2 here"},
        Case{" --workers 4 --budget 1500 --resume",
             "written by a run of 3 workers, this one has 4 (--sampling reshuffle resumes on as many workers"}}) {
    run = Execute(common + c.flags);
    EXPECT_EQ(run.exit_code, 2) << run.output;
    EXPECT_NE(run.output.find(c.fragment), std::string::npos) << run.output;
  }
  // A flipped byte: the checksum catches it.
  const auto file = out / "checkpoint" / "round-20.rank-1";
  std::fstream bytes(file, std::ios::in | std::ios::out | std::ios::binary);
  bytes.seekp(100);
  bytes.put('\x7f');
  bytes.close();
  run = Execute(common + " --workers 3 --budget 1500 --resume");
  EXPECT_EQ(run.exit_code, 2) << run.output;
  EXPECT_NE(run.output.find("round-20.rank-1: checksum mismatch"), std::string::npos) << run.output;
  // Nothing to resume from.
  run = Execute("train -q --data " + kHeartScale + " --budget 100 --resume --out " + (dir / "fresh").string());
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(run.output.find("holds no checkpoint"), std::string::npos) << run.output;
  EXPECT_FALSE(std::filesystem::exists(dir / "fresh"));
}

// Issue 43: a run of 4 workers killed, resumed on 3, killed, resumed on 4
// (in process and under mpirun) is the uninterrupted run bit for bit: on 3
// the workers host the plan's 4 (hosted.h), so every round's loss, the
// rounds, the samples and f − f* are equal, and metrics.jsonl has each round
// once. For cr-psgd with --sampling global and local SGD with replacement.
class CliElasticResumeTest : public ::testing::TestWithParam<std::tuple<bool, std::string>> {};

TEST_P(CliElasticResumeTest, FourThenThreeThenFourWorkersAreTheUninterruptedRun) {
  const auto& [mpi, algorithm] = GetParam();
  if (!std::filesystem::exists(kHeartScale)) GTEST_SKIP() << "liblinear-tools is not installed";
  if (mpi && !CRPSGD_HAVE_MPI) GTEST_SKIP() << "built without MPI";
  TempDir dir;
  const std::string common = "train -q --data " + kHeartScale + " " + algorithm + " --budget 1200 --out ";
  const auto on = [&](int workers) {
    return mpi ? std::make_pair(std::string(), MpiPrefix(workers))
               : std::make_pair(" --workers " + std::to_string(workers), std::string());
  };
  CommandResult run = Execute(common + (dir / "reference").string() + on(4).first, on(4).second);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const nlohmann::json reference = ReadJson(dir / "reference" / "summary.json");
  const auto out = dir / "elastic";
  const std::string every = " --checkpoint-every 2";
  run = Execute(common + out.string() + on(4).first + every + " --inject-fault kill:rank=1,round=9", on(4).second);
  ASSERT_NE(run.exit_code, 0) << run.output;
  run = Execute(common + out.string() + on(3).first + every + " --resume --inject-fault kill:rank=2,round=25",
                on(3).second);
  ASSERT_NE(run.exit_code, 0) << run.output;
  EXPECT_FALSE(std::filesystem::exists(out / "summary.json"));
  run = Execute(common + out.string() + on(4).first + every + " --resume", on(4).second);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const nlohmann::json elastic = ReadJson(out / "summary.json");
  for (const char* key : {"rounds", "sfo_total", "workers", "final_loss", "f_gap", "bytes"}) {
    EXPECT_EQ(elastic[key], reference[key]) << key;
  }
  const std::vector<nlohmann::json> lines = ReadJsonLines(out / "metrics.jsonl");
  const std::vector<nlohmann::json> reference_lines = ReadJsonLines(dir / "reference" / "metrics.jsonl");
  ASSERT_EQ(lines.size(), reference_lines.size());
  for (std::size_t i = 0; i < lines.size(); ++i) {
    EXPECT_EQ(lines[i]["round"], reference_lines[i]["round"]);
    EXPECT_EQ(lines[i]["loss"], reference_lines[i]["loss"]) << "round " << lines[i]["round"];
    EXPECT_EQ(lines[i]["sfo_total"], reference_lines[i]["sfo_total"]);
  }
}

// Every algorithm in process; two under mpirun.
INSTANTIATE_TEST_SUITE_P(InProcessAndMpi, CliElasticResumeTest,
                         ::testing::Values(std::make_tuple(false, "--algo psgd --batch 4"),
                                           std::make_tuple(false, "--algo cr-psgd --b1 2 --rho 1.05 --sampling global"),
                                           std::make_tuple(false, "--algo acc-cr-psgd --b1 2 --rho 1.05"),
                                           std::make_tuple(false, "--algo cr-psgd-catalyst --b1 2 --rho 1.05"),
                                           std::make_tuple(false, "--algo local-sgd"),
                                           std::make_tuple(false, "--algo auto --rounds 40"),
                                           std::make_tuple(true, "--algo cr-psgd --b1 2 --rho 1.05 --sampling global"),
                                           std::make_tuple(true, "--algo local-sgd"),
                                           // --overlap: a checkpoint keeps the step not yet sent.
                                           std::make_tuple(false, "--algo local-sgd --overlap"),
                                           std::make_tuple(true, "--algo local-sgd --overlap --compress int8"),
                                           std::make_tuple(false, "--algo auto --rounds 40 --overlap"),
                                           std::make_tuple(true, "--algo auto --rounds 40 --overlap --compress int8")),
                         [](const auto& p) {
                           const std::string& flags = std::get<1>(p.param);
                           std::string algo = flags.substr(std::string("--algo ").size());
                           algo = algo.substr(0, algo.find(' '));
                           if (flags.find("--overlap") != std::string::npos) algo += "_overlap";
                           for (char& c : algo) c = c == '-' ? '_' : c;
                           return std::string(std::get<0>(p.param) ? "mpi_" : "inproc_") + algo;
                         });

struct BadInput {
  const char* name;
  std::string args;  // after "train"
  int exit_code;
  const char* fragment;
};

void PrintTo(const BadInput& b, std::ostream* os) { *os << b.name; }

class CliBadInputTest : public ::testing::TestWithParam<BadInput> {};

TEST_P(CliBadInputTest, OneMessageAnExitCodeAndNoOutput) {
  TempDir dir;
  dir.Write("bad.libsvm", "+1 1:1 2:1\n-1 3:0.5\n+1 0:2\n");
  dir.Write("ok.libsvm", "+1 1:1\n-1 2:1\n");
  std::string args = GetParam().args;
  for (std::size_t pos; (pos = args.find("DIR")) != std::string::npos;) args.replace(pos, 3, dir.path().string());
  const CommandResult run = Execute("train " + args + " --out " + (dir / "out").string());
  EXPECT_EQ(run.exit_code, GetParam().exit_code) << run.output;
  EXPECT_NE(run.output.find(GetParam().fragment), std::string::npos) << run.output;
  EXPECT_EQ(run.output.find("internal check failed"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir / "out" / "summary.json"));
}

INSTANTIATE_TEST_SUITE_P(
    Table, CliBadInputTest,
    ::testing::Values(
        BadInput{"missing_file", "--data DIR/none.libsvm --budget 10", 2, "none.libsvm: no such file"},
        BadInput{"malformed_file", "--data DIR/bad.libsvm --budget 10", 2, "bad.libsvm:3: feature index 0 is below 1"},
        BadInput{"rho_one", "--data DIR/ok.libsvm --algo cr-psgd --budget 10 --rho 1", 2, "--rho must be > 1 (got 1)"},
        BadInput{"b1_zero", "--data DIR/ok.libsvm --algo cr-psgd --budget 10 --b1 0", 2, "--b1 must be >= 1"},
        BadInput{"budget_below_b1", "--data DIR/ok.libsvm --algo cr-psgd --budget 3 --b1 5", 2,
                 "--budget (3) is below --b1 (5)"},
        BadInput{"more_workers_than_samples", "--data DIR/ok.libsvm --budget 10 --workers 3", 2,
                 "--workers (3) exceeds the 2 samples"},
        BadInput{"unknown_flag", "--data DIR/ok.libsvm --budget 10 --rhoo 2", 2, "--rhoo"},
        BadInput{"negative_budget", "--data DIR/ok.libsvm --budget -5", 2,
                 "--budget must be an integer >= 1 (SFO calls per worker) or auto, got '-5'"},
        BadInput{"budget_zero", "--data DIR/ok.libsvm --budget 0", 2,
                 "--budget must be an integer >= 1 (SFO calls per worker) or auto, got '0'"},
        BadInput{"budget_and_epochs", "--data DIR/ok.libsvm --budget 10 --epochs 2", 2,
                 "--budget 10 and --epochs 2 both set the budget: give one"},
        BadInput{"negative_epochs", "--data DIR/ok.libsvm --epochs -1", 2, "--epochs must be > 0"},
        BadInput{"comm_share_one", "--data DIR/ok.libsvm --comm-share 1", 2, "--comm-share must be in (0, 1)"},
        BadInput{"rounds_word", "--data DIR/ok.libsvm --rounds many", 2,
                 "--rounds must be an integer >= 0 or auto, got 'many'"},
        BadInput{"workers_zero_with_others", "--data DIR/ok.libsvm --workers 0 --rho 0.5 --algo cr-psgd", 2,
                 "2 settings are wrong"},
        BadInput{"fractional_batch", "--data DIR/ok.libsvm --budget 10 --batch 1.5", 2, "--batch"},
        BadInput{"catalyst_inner_budget_below_b1",
                 "--format synthetic --algo cr-psgd-catalyst --budget 100 --b1 6 --workers 4 --backend inproc", 2,
                 "inner budget 5 (floor(sqrt(T/N))) is below --b1 (6)"},
        BadInput{"catalyst_theta", "--format synthetic --algo cr-psgd-catalyst --budget 100 --theta -1", 2,
                 "--theta must be > 0"},
        BadInput{"net_model_incomplete", "--data DIR/ok.libsvm --budget 10 --net-model alpha=1", 2,
                 "--net-model needs both alpha and bandwidth"},
        BadInput{"bad_lr", "--data DIR/ok.libsvm --budget 10 --lr fast", 2, "--lr must be a number, got 'fast'"},
        BadInput{"bad_algo", "--data DIR/ok.libsvm --budget 10 --algo adam", 2, "--algo must be psgd, cr-psgd"},
        BadInput{"bad_backend", "--data DIR/ok.libsvm --budget 10 --backend nccl", 2, "--backend must be"},
        BadInput{"bad_problem", "--data DIR/ok.libsvm --budget 10 --problem svm", 2, "--problem must be"},
        BadInput{"negative_lambda", "--data DIR/ok.libsvm --budget 10 --lambda -1", 2, "--lambda must be >= 0"},
        BadInput{"negative_threads", "--data DIR/ok.libsvm --budget 10 --threads -1", 2, "--threads must be >= 0"},
        BadInput{"no_data", "--budget 10", 2, "--data is required"},
        BadInput{"bad_precision", "--data DIR/ok.libsvm --budget 10 --precision half", 2,
                 "--precision must be float64 or float32, got 'half'"},
        BadInput{"bad_sharding", "--data DIR/ok.libsvm --budget 10 --sharding rows", 2,
                 "--sharding must be random or byte-range, got 'rows'"},
        BadInput{"byte_range_of_synthetic", "--format synthetic --budget 10 --sharding byte-range", 2,
                 "--sharding byte-range reads LIBSVM files"},
        BadInput{"byte_range_part_empty", "--data DIR/ok.libsvm --budget 10 --sharding byte-range --workers 4", 2,
                 "ok.libsvm: worker 1's byte range (part 2 of 4) holds no sample"},
        BadInput{"byte_range_malformed", "--data DIR/bad.libsvm --budget 10 --sharding byte-range --workers 2", 2,
                 "bad.libsvm:3: feature index 0 is below 1"},
        BadInput{"bad_lr_batch_scaling", "--data DIR/ok.libsvm --budget 10 --lr-batch-scaling cubic", 2,
                 "--lr-batch-scaling must be none, sqrt or linear, got 'cubic'"},
        BadInput{"lr_max_below_lr", "--data DIR/ok.libsvm --budget 10 --lr 0.5 --lr-max 0.1", 2,
                 "--lr-max must be 0 (no cap) or at least --lr (0.5), got 0.1"},
        BadInput{"eval_batch_norm_linear", "--data DIR/ok.libsvm --budget 10 --eval-batch-norm recomputed", 2,
                 "--eval-batch-norm recomputed is for networks"},
        BadInput{"bad_eval_batch_norm", "--data DIR/ok.libsvm --budget 10 --eval-batch-norm precise", 2,
                 "--eval-batch-norm must be running or recomputed, got 'precise'"},
        BadInput{"rho_word", "--data DIR/ok.libsvm --budget 10 --rho fast", 2,
                 "--rho must be a number > 1 or auto, got 'fast'"},
        // Every bad value at once: the flags' own, then the library's.
        BadInput{"several_bad_flags", "--data DIR/ok.libsvm --budget 10 --rho fast --lr quick --workers 0", 2,
                 "3 settings are wrong:\n  --rho must be a number > 1 or auto, got 'fast'"},
        BadInput{"several_bad_values", "--data DIR/ok.libsvm --algo cr-psgd --budget 10 --rho 0.5 --b1 0 --momentum 2",
                 2, "3 settings are wrong:\n  --momentum must be in [0, 1)"},
        BadInput{"round_timeout_word", "--data DIR/ok.libsvm --budget 10 --round-timeout soon", 2,
                 "--round-timeout must be auto, 0 (none) or seconds > 0, got 'soon'"},
        BadInput{"compress_unknown", "--data DIR/ok.libsvm --budget 10 --compress int4", 2,
                 "--compress must be none, bf16, int8, powersgd:R or powersgd:R:bf16 (R >= 1, the rank), got 'int4'"},
        BadInput{"compress_powersgd_rank_zero", "--data DIR/ok.libsvm --budget 10 --compress powersgd:0", 2,
                 "--compress must be none, bf16, int8, powersgd:R or powersgd:R:bf16 (R >= 1, the rank), got "
                 "'powersgd:0'"},
        BadInput{"compress_powersgd_int8_factors", "--data DIR/ok.libsvm --budget 10 --compress powersgd:2:int8", 2,
                 "--compress must be none, bf16, int8, powersgd:R or powersgd:R:bf16 (R >= 1, the rank), got "
                 "'powersgd:2:int8'"},
        BadInput{"compress_powersgd_linear", "--data DIR/ok.libsvm --budget 10 --algo local-sgd --compress powersgd:2",
                 2, "--compress powersgd factors a network's matrix-shaped parameters; this model has none"},
        BadInput{"overlap_psgd", "--data DIR/ok.libsvm --budget 10 --algo psgd --overlap", 2,
                 "--overlap is for local-sgd and auto, whose local steps can hide a round's exchange; not psgd"},
        BadInput{"compress_auto_noise",
                 "--data DIR/ok.libsvm --budget 10 --algo auto --round-split noise --compress int8", 2,
                 "--compress with auto: --round-split noise and --outer-momentum use the round's noise statistic"},
        BadInput{"compress_rho_auto", "--data DIR/ok.libsvm --budget 10 --algo cr-psgd --rho auto --compress int8", 2,
                 "--compress is for psgd, cr-psgd, acc-cr-psgd and cr-psgd-catalyst at a given rho, local-sgd and "
                 "auto; not --rho auto"},
        BadInput{"acc_rho_auto", "--data DIR/ok.libsvm --budget 10 --algo acc-cr-psgd --rho auto", 2,
                 "acc-cr-psgd: --rho auto is cr-psgd's"},
        BadInput{"rho_auto_psgd", "--data DIR/ok.libsvm --budget 10 --algo psgd --rho auto", 2,
                 "--rho auto grows the batch of cr-psgd and cr-psgd-catalyst; psgd has a fixed batch"},
        BadInput{"norm_test_theta2_zero",
                 "--data DIR/ok.libsvm --algo cr-psgd --budget 10 --rho auto --norm-test-theta2 0", 2,
                 "--norm-test-theta2 must be > 0 (got 0)"},
        BadInput{"norm_test_theta2_negative",
                 "--data DIR/ok.libsvm --algo cr-psgd --budget 10 --rho auto --norm-test-theta2 -1", 2,
                 "--norm-test-theta2 must be > 0 (got -1)"},
        BadInput{"rounds_above_budget", "--data DIR/ok.libsvm --budget 10 --algo psgd --rounds 11", 2,
                 "--rounds 11 is above --budget 10"},
        BadInput{"rounds_catalyst", "--format synthetic --budget 100 --algo cr-psgd-catalyst --rounds 5", 2,
                 "--rounds: cr-psgd-catalyst cannot plan its rounds from R"},
        BadInput{"rounds_rho_auto", "--data DIR/ok.libsvm --algo cr-psgd --budget 100 --rho auto --rounds 5", 2,
                 "--rounds and --rho auto"},
        BadInput{"rounds_too_many_for_cr_psgd", "--data DIR/ok.libsvm --algo cr-psgd --budget 100 --b1 10 --rounds 10",
                 2, "cr-psgd from B1=10 takes fewer than 10 rounds at any rho > 1"},
        BadInput{"rounds_local_sgd_steps", "--data DIR/ok.libsvm --budget 100 --algo local-sgd --batch 20 --rounds 6",
                 2, "local-sgd with b=20 has only 5 steps in the budget"},
        BadInput{"auto_round_growth", "--data DIR/ok.libsvm --budget 100 --algo auto --rounds 5 --round-growth 0.5", 2,
                 "--round-growth must be >= 1"},
        BadInput{"auto_round_split", "--data DIR/ok.libsvm --budget 100 --algo auto --round-split half", 2,
                 "--round-split must be noise, one-step or local-steps, got 'half'"},
        BadInput{"batch_zero", "--data DIR/ok.libsvm --budget 100 --algo auto --batch 0", 2,
                 "--batch must be an integer >= 1 or auto, got '0'"},
        BadInput{"batch_word", "--data DIR/ok.libsvm --budget 100 --algo psgd --batch many", 2,
                 "--batch must be an integer >= 1 or auto, got 'many'"},
        BadInput{"auto_rho_auto", "--data DIR/ok.libsvm --budget 100 --algo auto --rho auto", 2,
                 "--rho auto: auto measures the noise itself"},
        BadInput{"outer_momentum_one", "--data DIR/ok.libsvm --budget 100 --algo local-sgd --outer-momentum 1", 2,
                 "--outer-momentum must be in [0, 1)"},
        BadInput{"tail_average_above_one", "--data DIR/ok.libsvm --budget 100 --algo auto --tail-average 1.5", 2,
                 "--tail-average must be auto or a share of the budget in [0, 1], got '1.5'"},
        BadInput{"tail_average_psgd", "--data DIR/ok.libsvm --budget 100 --algo psgd --tail-average 0.5", 2,
                 "--tail-average is auto's; psgd returns its last iterate"},
        BadInput{"outer_lr_psgd", "--data DIR/ok.libsvm --budget 100 --algo psgd --outer-lr 0.5", 2,
                 "--outer-lr and --outer-momentum act on averaged models (local-sgd, auto); psgd averages gradients"},
        BadInput{"target_accuracy_percent", "--data DIR/ok.libsvm --budget 100 --target-accuracy 90", 2,
                 "--target-accuracy must be a fraction in (0, 1]"},
        BadInput{"target_loss_word", "--data DIR/ok.libsvm --budget 100 --target-loss low", 2,
                 "--target-loss must be a number, got 'low'"},
        BadInput{"target_gap_without_f_star", "--data DIR/ok.libsvm --budget 100 --target-gap 0.1 --no-f-star", 2,
                 "--target-gap needs f*"},
        BadInput{"diverges", "--format synthetic --problem leastsq --budget 200 --lr 1e200 --algo psgd", 3,
                 "round 1: the loss is not finite"},
        BadInput{"loss_grows", "--format synthetic --problem leastsq --budget 200 --lr 1000 --algo psgd", 3,
                 "round 1: the loss 2.31062e+07 grew past 100 times its start 0.578413"}),
    [](const auto& p) { return std::string(p.param.name); });

#if CRPSGD_HAVE_TORCH
INSTANTIATE_TEST_SUITE_P(Torch, CliBadInputTest,
                         ::testing::Values(BadInput{"resnet_on_flat_features",
                                                    "--data DIR/ok.libsvm --budget 10 --problem resnet20 --lr 0.1", 2,
                                                    "networks need dense data"},
                                           BadInput{"augment_linear", "--format synthetic --budget 10 --augment", 2,
                                                    "--augment needs a network"},
                                           BadInput{"float32_network",
                                                    "--format synthetic --budget 10 --problem mlp --lr 0.1 "
                                                    "--precision float32",
                                                    2, "--precision is for linear models"}),
                         [](const auto& p) { return std::string(p.param.name); });
#endif

TEST(CliTest, HelpNamesEveryContractFlagWithItsDefault) {
  const CommandResult run = Execute("train --help");
  EXPECT_EQ(run.exit_code, 0);
  for (const char* flag :
       {"--problem", "--data", "--format", "--test-data", "--algo", "--workers", "--backend", "--budget", "--batch",
        "--b1", "--rho", "--sync-period", "--lr", "--lambda", "--seed", "--out", "--sampling", "--max-micro-batch"}) {
    EXPECT_NE(run.output.find(flag), std::string::npos) << flag;
  }
  EXPECT_NE(run.output.find("1.1"), std::string::npos);  // the default of --rho
}

}  // namespace
}  // namespace crpsgd
