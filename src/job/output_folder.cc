#include "crpsgd/output_folder.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <algorithm>
#include <array>

namespace crpsgd {
namespace {

// What crpsgd writes into a run's folder (docs/output-formats.md), and what
// the README's liblinear-predict example writes beside it.
constexpr std::array<const char*, 10> kRunFiles = {
    "summary.json",         "metrics.jsonl", "config.toml", "model.liblinear", "model.pt",
    "feature_scaling.json", "results.csv",   "table.md",    "checkpoint",      "predictions"};
// Files that on their own show that a folder holds a run ("predictions"
// alone could be anyone's).
bool MarksARun(const std::string& name) { return name != "predictions"; }

bool Exists(const std::filesystem::path& path) {
  std::error_code ec;
  return std::filesystem::exists(path, ec);
}

// True when `dir` (a sweep's run or seed folder) holds a run, at most `depth` levels down.
bool HoldsARun(const std::filesystem::path& dir, int depth) {
  for (const char* name : kRunFiles) {
    if (MarksARun(name) && Exists(dir / name)) return true;
  }
  if (depth == 0) return false;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.is_directory(ec) && HoldsARun(entry.path(), depth - 1)) return true;
  }
  return false;
}

}  // namespace

std::vector<std::string> EarlierRunFiles(const std::filesystem::path& out) {
  std::vector<std::string> found;
  bool marked = false;
  for (const char* name : kRunFiles) {
    if (Exists(out / name)) {
      found.emplace_back(name);
      marked = marked || MarksARun(name);
    }
  }
  if (Exists(out / "figures" / "figures.gp")) found.emplace_back("figures"), marked = true;  // compare's figures
  std::error_code ec;
  std::vector<std::string> runs;
  for (const auto& entry : std::filesystem::directory_iterator(out, ec)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_directory(ec) && name != "checkpoint" && name != "figures" && HoldsARun(entry.path(), 2)) {
      runs.push_back(name);
    }
  }
  std::sort(runs.begin(), runs.end());
  if (!runs.empty()) marked = true;
  found.insert(found.end(), runs.begin(), runs.end());
  if (!marked) found.clear();  // a lone "predictions" is not a run
  return found;
}

Status PrepareOutputFolder(const std::filesystem::path& out, Reuse reuse, bool several_processes,
                           const std::string& flag) {
  if (out.empty()) return Status::OK();
  const std::string name = out.string();
  std::error_code ec;
  const auto status = std::filesystem::status(out, ec);
  if (std::filesystem::exists(status) && !std::filesystem::is_directory(status)) {
    return Status::InvalidArgument(flag + " " + name + ": is a file, not a folder (give a folder for the outputs)");
  }
  // Writability is tried, not guessed (root passes every permission check,
  // and /proc or a read-only mount refuse anyway): create the folder and a
  // probe file in it, then remove both, so that nothing is left on failure.
  std::vector<std::filesystem::path> created;
  for (std::filesystem::path p = std::filesystem::absolute(out, ec); !p.empty() && !Exists(p); p = p.parent_path()) {
    created.push_back(p);
    if (p == p.parent_path()) break;
  }
  std::filesystem::create_directories(out, ec);
  std::string problem = ec ? "cannot be created: " + ec.message() : "";
  if (problem.empty()) {
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    const std::filesystem::path probe =
        out / (".crpsgd-write-test-" + std::string(host) + "-" + std::to_string(::getpid()));
    const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0) {
      problem = std::string("cannot be written: ") + std::strerror(errno);
    } else {
      ::close(fd);
      std::filesystem::remove(probe, ec);
    }
  }
  // Deepest first, and only if still empty. Ranks under mpirun check the same
  // folder at once: one must not remove what another is probing.
  if (!several_processes) {
    for (const auto& dir : created) std::filesystem::remove(dir, ec);
  }
  if (!problem.empty()) return Status::InvalidArgument(flag + " " + name + ": " + problem);
  if (!std::filesystem::is_directory(status)) return Status::OK();  // a new folder

  const std::vector<std::string> earlier = EarlierRunFiles(out);
  if (earlier.empty() || reuse == Reuse::kResume) return Status::OK();
  if (reuse == Reuse::kRefuse) {
    std::string list;
    for (std::size_t i = 0; i < earlier.size() && i < 4; ++i) list += (i ? ", " : "") + earlier[i];
    if (earlier.size() > 4) list += ", ...";
    return Status::InvalidArgument(flag + " " + name + " holds another run's files (" + list +
                                   "): give --overwrite to replace them, --resume to continue that run (train), "
                                   "or another " +
                                   flag);
  }
  return Status::OK();  // kOverwrite: RemoveEarlierRun, once the inputs are known to be good
}

Status RemoveEarlierRun(const std::filesystem::path& out) {
  if (out.empty()) return Status::OK();
  std::error_code ec;
  for (const std::string& file : EarlierRunFiles(out)) {
    std::filesystem::remove_all(out / file, ec);
    if (ec) return Status::IOError((out / file).string() + ": cannot remove (--overwrite): " + ec.message());
  }
  return Status::OK();
}

}  // namespace crpsgd
