// The three parts of `crpsgd theory-check`, each on its own: measuring (runs
// on problems with known constants), judging (the paper's claims against the
// measurements) and rendering (table.md, results.csv, figures).
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "crpsgd/status.h"
#include "crpsgd/theory_check.h"

namespace crpsgd::theory {

// The problem. Twenty features with variances from 1 down to 1/5 (κ ≈ 5), unit
// label noise, 2¹⁴ samples (a multiple of every N, so that the shards have equal
// sizes and the mean of the workers' gradients is an unbiased gradient of f).
inline constexpr std::size_t kSamples = 16384;
inline constexpr std::size_t kFeatures = 20;
inline constexpr double kCondition = 5.0;
inline constexpr double kNoise = 1.0;
inline constexpr std::uint64_t kDataSeed = 1;

// CR-PSGD: γ = 1/L and ρ = 1.1 < 1/(1 − μ/L) (the theory's condition: the
// batches must not grow faster than a gradient step contracts). B₁ = 16: with
// fewer samples a step of 1/L on a single worker is unstable in mean square
// (E‖a‖² = tr H ≈ 10 L).
inline constexpr double kGrowth = 1.1;
inline constexpr std::uint64_t kFirstBatch = 16;
inline constexpr std::array<int, 4> kWorkers = {1, 2, 4, 8};
inline constexpr std::uint64_t kMinBudget = 1000;
// PSGD with B = 1 needs T rounds: its sweep stops here to keep the check short.
inline constexpr std::uint64_t kBaselineMaxBudget = 100000;
inline constexpr std::uint64_t kSyncPeriod = 10;
// Catalyst: non-convex logistic regression with λ Σ x²/(1 + x²).
inline constexpr double kNonconvexLambda = 0.01;

// ---- measuring --------------------------------------------------------------

struct Constants {
  double lipschitz = 0, mu = 0, trace = 0, sigma2 = 0, f_star = 0;
};

struct Sample {
  std::string method;
  int workers = 0;
  std::uint64_t budget = 0, seed = 0, rounds = 0, sfo_per_worker = 0;
  double gap = 0;                       // f − f* (least squares)
  std::optional<double> gradient_norm;  // catalyst
  double wall_s = 0;
};

template <class T>
using PerWorkers = std::array<T, kWorkers.size()>;  // by the index of N in kWorkers

// Everything measured at one budget T.
struct BudgetPoint {
  std::uint64_t budget = 0;
  std::uint64_t cr_psgd_rounds = 0;              // B_t is per worker: the same for every N and seed
  PerWorkers<std::vector<double>> cr_psgd_gaps;  // f − f* of each seed, by N
  // T ≤ kBaselineMaxBudget: seed 1 of each, by N.
  std::optional<PerWorkers<Sample>> psgd, local_sgd, catalyst;
};

struct Measurements {
  Constants constants;
  std::uint64_t seeds = 0;
  std::vector<BudgetPoint> points;  // T ascending, at least two of them ≥ 10⁴ (Measure checks)
  std::vector<Sample> samples;      // every run, in the order it ran (results.csv)
};

// Generates the data, computes its constants, and runs every sweep.
Result<Measurements> Measure(const TheoryCheckOptions& flags);

// ---- judging ----------------------------------------------------------------

struct Fit {
  double intercept = 0, slope = 0, r_squared = 0;
};

// One of the paper's claims, as the check tests it.
struct Claim {
  std::string statement;  // "rounds = a + b·ln T, N = 1 (a = 3.1, b = 5.8)"
  std::string measured;   // "R² = 0.9991"
  std::string floor;      // "R² ≥ 0.98"
  bool holds = false;
};

struct Judgement {
  PerWorkers<Fit> round_fits;     // cr-psgd rounds = a + b·ln T
  PerWorkers<double> flat_ratio;  // max/min of N·T·(f − f*) over T ≥ 10⁴
  double speedup = 0;             // (f − f*)(N = 1) / (f − f*)(N = 8) at the largest T
  Fit catalyst_fit;               // catalyst rounds against √(NT)·ln(T/N)
  std::vector<Claim> claims;
  bool passed = false;
};

Judgement Judge(const Measurements& m, const TheoryCriteria& criteria);

// Shared by judging and rendering.
struct Stats {
  double mean = 0, min = 0, max = 0;  // NaN for no values
};
Stats Summarize(const std::vector<double>& values);
Stats ScaledError(const BudgetPoint& point, std::size_t worker_index);  // N·T·(f − f*) over the seeds
double CatalystX(int workers, std::uint64_t budget);                    // √(NT)·ln(T/N)
std::string Format(const char* format, double value);

// ---- rendering --------------------------------------------------------------

std::string RenderTable(const Measurements& m, const Judgement& j);
std::string RenderCsv(const Measurements& m);
Status DrawFigures(const Measurements& m, const Judgement& j, const std::filesystem::path& dir);

}  // namespace crpsgd::theory
