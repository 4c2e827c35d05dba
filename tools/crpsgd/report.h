// The result table of `crpsgd train` and `crpsgd sweep` (markdown and CSV).
//
// A sweep runs every --run at every step of the grid and every seed; the table
// shows each --run at its best step, where "best" is the lowest final loss
// averaged over the seeds (a step that diverged for any seed is never best).
#pragma once

#include <string>
#include <vector>

#include "flags.h"

namespace crpsgd::cli {

// One row of the table: a run (train) or a --run at one step over all seeds (sweep).
struct TableRow {
  std::vector<const RunOutcome*> seeds;  // the same request, one outcome per seed
  bool diverged = false;                 // some seed diverged
  double mean_loss = 0.0, mean_gap = 0.0, min_gap = 0.0, max_gap = 0.0, mean_wall_s = 0.0, mean_comm_s = 0.0;
  double mean_rounds = 0.0;  // the same for every seed but with --rho auto
  // With targets: the mean rounds to them, infinite unless every seed reached them.
  double mean_rounds_to_target = 0.0;
  bool has_gap = false;
};

// Rows in the order the runs were given; for a sweep, each --run at its best step.
std::vector<TableRow> TableRows(const Job& job, const JobReport& report);
std::string FormatTable(const Job& job, const JobReport& report);
// "κ̂ = L̂/λ = ..." for a linear model with λ > 0 and an L̂ estimate; "" otherwise.
std::string ConditionLine(const Job& job, const JobReport& report);
// Every run of every seed, one CSV line each.
std::string FormatCsv(const JobReport& report);

}  // namespace crpsgd::cli
