// Files every layer writes: atomic replacement, and doubles as text that
// reads back exactly. No dependency beyond Status, so objectives and
// algorithms write their files without the run-output layer (metrics.h).
#pragma once

#include <filesystem>
#include <string>

#include "crpsgd/status.h"

namespace crpsgd {

// Writes `content` to `path` via a temporary file in the same folder, fsync,
// rename, and fsync of the folder (so the rename itself survives a crash):
// readers see the old file or the new one, never half of one.
Status WriteFileAtomic(const std::filesystem::path& path, const std::string& content);

// `v` as text that reads back as the same double ("%.17g"), for files and
// identities that must round-trip exactly.
std::string ExactNumber(double v);

}  // namespace crpsgd
