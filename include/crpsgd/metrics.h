// Run outputs: metrics.jsonl (one JSON object per round) and summary.json.
// Formats are specified in docs/output-formats.md.
#pragma once

#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>

#include "crpsgd/algorithm.h"
#include "crpsgd/files.h"  // WriteFileAtomic, ExactNumber: the run outputs write with them
#include "crpsgd/train.h"

namespace crpsgd {

// A RoundObserver that appends one line per round to a JSON Lines file. Lines
// are flushed as written, so a crashed run leaves whole lines only.
class MetricsWriter final : public RoundObserver, public Checkpointed {
 public:
  // Truncates/creates the file, or appends to it (a resumed run, which then
  // cuts it back to the checkpoint's length).
  static Result<std::unique_ptr<MetricsWriter>> Open(const std::filesystem::path& path, std::optional<double> f_star,
                                                     bool append = false);
  Status OnRound(const RoundRecord& record, std::span<const double> x) override;
  // The file's length: a resumed run truncates the file to it.
  std::string CheckpointState() const override;
  Status RestoreCheckpointState(const std::string& state) override;

 private:
  MetricsWriter(std::filesystem::path path, std::optional<double> f_star, bool append);
  std::filesystem::path path_;
  std::ofstream out_;
  std::optional<double> f_star_;
};

// One line of metrics.jsonl (no newline).
std::string FormatRoundRecord(const RoundRecord& record, std::optional<double> f_star);
// summary.json: everything of the summary but the model, pretty-printed, with
// a final newline. `extra_fields`, a JSON object, adds fields (the tool's
// problem, data, ...); a malformed one is ignored.
std::string FormatRunSummary(const RunSummary& summary, std::string_view extra_fields = "{}");

}  // namespace crpsgd
