// Figures drawn with gnuplot (gnuplot-nox): scripts written beside their data,
// with relative paths, so that a user can edit and rerun them.
#pragma once

#include <filesystem>
#include <string>

#include "crpsgd/status.h"

namespace crpsgd {

// A gnuplot string literal of s (double quotes inside become single quotes).
std::string GnuplotString(std::string s);

// The first lines of a generated gnuplot script: a comment naming
// `generator`, and a cd to the script's own folder, so that the data and
// image paths in it are relative and the script runs from anywhere.
std::string GnuplotPreamble(const std::string& generator);

// The legend beside the plot, each entry's sample before its name.
inline constexpr const char* kGnuplotKeyBeside =
    "set key outside right top vertical reverse Left samplen 2 spacing 1.2\n";

// Writes `script` to `path` and runs gnuplot on it; its stderr goes to a log
// beside the script, named in the error when gnuplot fails.
Status RunGnuplot(const std::filesystem::path& path, const std::string& script);

}  // namespace crpsgd
