// Figures of a comparison, drawn with gnuplot from the runs' metrics.jsonl:
// f − f* (or the loss when f* is unknown) against SFO per worker, against
// communication rounds and against wall time, and test accuracy against SFO
// when it was evaluated. Several seeds give the mean and a min–max band.
// Writes DIR/figures/*.dat, *.gp, *.png and *.svg.
#pragma once

#include <filesystem>
#include <string>

#include "crpsgd/job.h"
#include "crpsgd/status.h"

namespace crpsgd {

// What `crpsgd compare` draws after its runs (the job wrote them to `out`).
Status DrawJobFigures(const JobSpec& job, const JobReport& report, const std::filesystem::path& out);

}  // namespace crpsgd
