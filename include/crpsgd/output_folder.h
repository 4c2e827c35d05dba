// --out, checked before any data is loaded: a new run never mixes its files
// with another run's, and a folder it cannot write fails in a second, not
// after the data has been read.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "crpsgd/status.h"

namespace crpsgd {

enum class Reuse {
  kRefuse,     // a folder holding another run's files is an error
  kOverwrite,  // --overwrite: that run's files are removed first
  kResume,     // --resume: they are the run to continue
};

// The files and folders in `out` that an earlier crpsgd run wrote (its
// summary, metrics, config, models, predictions, checkpoint, figures, and the
// sub-folders of a sweep's runs), by name relative to `out`.
std::vector<std::string> EarlierRunFiles(const std::filesystem::path& out);

// Checks that `out` is a folder this process can create and write (by
// trying), and that it holds no other run's files unless `reuse` allows them.
// Leaves nothing behind, except, when `several_processes` (the ranks under
// mpirun check it at once), the folder itself. `flag` names the option in
// messages ("--out").
Status PrepareOutputFolder(const std::filesystem::path& out, Reuse reuse, bool several_processes = false,
                           const std::string& flag = "--out");

// --overwrite, once every worker has read and checked its inputs (RunJob, just
// before the first output): removes the earlier run's files (EarlierRunFiles),
// so that none sits beside the new ones and bad input loses none.
Status RemoveEarlierRun(const std::filesystem::path& out);

}  // namespace crpsgd
