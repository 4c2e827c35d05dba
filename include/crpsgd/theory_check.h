// `crpsgd theory-check`: the paper's rates, measured on problems whose
// constants are known.
//
// Least squares on generated data with a chosen spectrum (L, μ and the
// gradient variance σ² at x* are computed exactly from the data), swept over
// the budget T (three decades and more) and the workers N ∈ {1, 2, 4, 8}:
//   - CR-PSGD's rounds against log T (a least-squares fit, R²);
//   - N·T·(f − f*) across T (flat means O(1/(NT)));
//   - f − f* at the largest T against N (linear speedup);
//   - the rounds of PSGD (B = 1) and local SGD over the same sweep.
// And CR-PSGD-Catalyst on a non-convex problem: rounds against √(NT)·log(T/N).
// Writes table.md, results.csv and figures/ (gnuplot PNG and SVG) to the
// output folder and says which of the criteria hold.
#pragma once

#include <cstdint>
#include <string>

#include "crpsgd/status.h"

namespace crpsgd {

struct TheoryCheckOptions {
  std::string out = "out/theory-check";
  std::uint64_t max_budget = 1000000;  // largest T of the CR-PSGD sweep (the sweep starts at 1000)
  std::uint64_t seeds = 10;            // seeds 1..K: N·T·(f − f*) is their mean
  bool quiet = false;
};

// The paper's claims, and the floor each measurement must reach for the check
// to say the claim holds (theory_check_judge.cc tests them, once each).
struct TheoryCriteria {
  // Theorem 1 (PL): CR-PSGD needs O(log T) rounds. rounds = a + b·ln T fits
  // with R² at least this, for every N.
  double min_r_squared = 0.98;
  // Theorem 1: f − f* = O(1/(NT)). N·T·(f − f*) over T ≥ 10⁴ varies by at
  // most this factor (max/min), for every N.
  double max_flat_ratio = 3.0;
  // The same bound in N: (f − f*)(N = 1) / (f − f*)(N = 8) at the largest T
  // is at least this (ideal 8).
  double min_speedup = 5.0;
};

struct TheoryCheckResult {
  std::string table;    // table.md: each measurement beside its criterion
  bool passed = false;  // every criterion held
};

// Runs the check and writes its files to options.out. Errors are I/O
// failures and impossible options, not failed criteria.
Result<TheoryCheckResult> RunTheoryCheck(const TheoryCheckOptions& options);

}  // namespace crpsgd
