// Figures of a comparison, drawn with gnuplot from the runs' metrics.jsonl:
// f − f* (or the loss when f* is unknown) against SFO per worker, against
// communication rounds and against wall time, and test accuracy against SFO
// when it was evaluated. Several seeds give the mean and a min–max band.
// Writes DIR/figures/*.dat, *.gp, *.png and *.svg.
#pragma once

#include <filesystem>
#include <string>

#include "flags.h"

namespace crpsgd::cli {

Status DrawFigures(const Job& job, const JobReport& report, const std::filesystem::path& out);

// A gnuplot string literal of s (double quotes inside become single quotes).
std::string GnuplotString(std::string s);

// Writes `script` to `path` and runs gnuplot on it; its stderr goes to a log
// beside the script, named in the error when gnuplot fails.
// The first lines of a generated gnuplot script: a comment naming
// `generator`, and a cd to the script's own folder, so that the data and
// image paths in it are relative and the script runs from anywhere.
std::string GnuplotPreamble(const std::string& generator);

// The legend beside the plot, each entry's sample before its name.
inline constexpr const char* kGnuplotKeyBeside =
    "set key outside right top vertical reverse Left samplen 2 spacing 1.2\n";

Status RunGnuplot(const std::filesystem::path& path, const std::string& script);

}  // namespace crpsgd::cli
