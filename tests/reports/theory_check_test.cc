// theory-check (src/reports/theory_check*.cc) through the tool: the
// paper's rates on a seeded sweep, and a sweep too short to show them refused.
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "cli/cli_testing.h"
#include "testing/temp_dir.h"

namespace crpsgd {
namespace {

using testing::TempDir;
using namespace cli_testing;

// The shortest sweep the command allows (T = 10^3..10^5, 4 seeds). Seeded, so
// the verdict is deterministic: it fails if the algorithms stop showing the
// rates (rounds ~ log T, error ~ 1/(NT), speedup in N) or the accounting breaks.
TEST(CliTheoryCheckTest, ShortSweepMeetsTheCriteria) {
  TempDir dir;
  const CommandResult run = Execute("theory-check -q --max-budget 100000 --seeds 4 --out " + (dir / "out").string());
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("every criterion holds"), std::string::npos) << run.output;
  for (const char* name : {"cr_psgd_rounds", "rounds_vs_budget", "scaled_error", "speedup", "catalyst_rounds"}) {
    const auto file = dir / "out" / "figures" / (std::string(name) + ".png");
    EXPECT_TRUE(std::filesystem::exists(file)) << file;
  }
  // results.csv: the cost accounting behind the table.
  std::ifstream csv(dir / "out" / "results.csv");
  std::string line;
  std::getline(csv, line);
  ASSERT_EQ(line, "method,workers,budget,seed,rounds,sfo_per_worker,f_minus_f_star,gradient_norm,wall_s");
  std::map<std::uint64_t, std::uint64_t> cr_rounds;  // T -> rounds, the same for every N and seed
  int rows = 0;
  while (std::getline(csv, line)) {
    std::istringstream ss(line);
    std::string method, field;
    std::getline(ss, method, ',');
    std::vector<std::string> f;
    while (std::getline(ss, field, ',')) f.push_back(field);
    const std::uint64_t budget = std::stoull(f[1]), rounds = std::stoull(f[3]), sfo = std::stoull(f[4]);
    EXPECT_LE(sfo, budget) << line;
    if (method == "psgd") {
      EXPECT_EQ(rounds, budget) << line;
    } else if (method == "local-sgd") {
      EXPECT_EQ(rounds, (budget + 9) / 10) << line;
    }
    if (method == "cr-psgd") {
      EXPECT_GT(std::stod(f[5]), 0.0) << line;  // f − f* > 0: f* is the exact minimum
      auto [it, inserted] = cr_rounds.emplace(budget, rounds);
      EXPECT_EQ(it->second, rounds) << line;
    }
    ++rows;
  }
  EXPECT_EQ(rows, 4 * 5 * 4 + 2 * 4 * 5 + 4 * 5);  // cr-psgd N×T×seeds, two baselines N×T, catalyst N×T
  ASSERT_EQ(cr_rounds.size(), 5u);
  std::uint64_t previous = 0;
  for (const auto& [budget, rounds] : cr_rounds) {
    EXPECT_GT(rounds, previous) << budget;
    EXPECT_LT(rounds, 100u) << budget;  // O(log T): T = 10^5 takes 67
    previous = rounds;
  }
}

TEST(CliTheoryCheckTest, RefusesATooShortSweepBeforeWritingAnything) {
  TempDir dir;
  const CommandResult run = Execute("theory-check --max-budget 5000 --out " + (dir / "out").string());
  EXPECT_EQ(run.exit_code, 2) << run.output;
  EXPECT_NE(run.output.find("--max-budget must be >= 100000"), std::string::npos) << run.output;
  EXPECT_FALSE(std::filesystem::exists(dir / "out"));
}

}  // namespace
}  // namespace crpsgd
