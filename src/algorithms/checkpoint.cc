#include "algorithms/checkpoint_file.h"

#include <algorithm>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>
#include <string_view>

#include <nlohmann/json.hpp>

#include "crpsgd/files.h"
#include "crpsgd/sampler.h"
#include "util/byte_record.h"

namespace crpsgd::internal {
namespace {

// "CRPSGDC" and the format's version: 2 added the norm test's state (--rho auto),
// 3 the run's first loss (a run ending above it is reported as diverged), 4
// the model's state outside x (a network's batch-norm statistics and its
// augmentation stream), 5 the outer momentum and auto's local batch, 6 auto's
// tail average. 7 leaves the algorithm's state to the algorithm: its name and
// the record it writes and reads itself (Algorithm::SaveState), with a version
// of its own, so that a change to one algorithm's state no longer changes the
// format. Older formats are refused with one message.
constexpr char kMagic[8] = {'C', 'R', 'P', 'S', 'G', 'D', 'C', '7'};

std::uint64_t Fnv1a(std::string_view bytes) {
  std::uint64_t h = 14695981039346656037ull;
  for (unsigned char c : bytes) h = (h ^ c) * 1099511628211ull;
  return h;
}

using Identity = std::vector<std::pair<std::string, std::string>>;

std::string IdentityText(const Identity& identity) {
  std::string text;
  for (const auto& [key, value] : identity) text += key + "=" + value + "\n";
  return text;
}

// IdentityText read back (LATEST's "identity").
Identity ParseIdentityText(const std::string& text) {
  Identity identity;
  for (std::size_t at = 0; at < text.size();) {
    const std::size_t end = std::min(text.find('\n', at), text.size());
    const std::size_t equals = text.find('=', at);
    if (equals < end) identity.emplace_back(text.substr(at, equals - at), text.substr(equals + 1, end - equals - 1));
    at = end + 1;
  }
  return identity;
}

// Two numbers equal but for the last bits: a value computed from the data
// (the step 1/L̂) sums the workers' parts in another order on another number
// of workers. Bit-identical where the workers are as many.
bool SameComputedNumber(const std::string& a, const std::string& b) {
  char* end_a = nullptr;
  char* end_b = nullptr;
  const double x = std::strtod(a.c_str(), &end_a), y = std::strtod(b.c_str(), &end_b);
  if (a.empty() || b.empty() || *end_a != '\0' || *end_b != '\0' || !std::isfinite(x) || !std::isfinite(y)) {
    return false;
  }
  return std::abs(x - y) <= 1e-12 * std::max(std::abs(x), std::abs(y));
}

// Every difference between a checkpoint's identity and this run's, joined by
// "; ", so that one rerun can fix them all; empty when they match. Only the
// keys of `mine` are compared ("workers" is the plan's N, which a resume on
// another number of workers keeps). A checkpoint written by another number
// of workers than `workers` (those there are now) is one difference only for
// --sampling reshuffle, whose passes are over each worker's own shard.
std::string IdentityDifferences(std::uint64_t their_workers, int workers, const Identity& theirs,
                                const Identity& mine) {
  std::string differences;
  for (const auto& [key, value] : mine) {
    std::string their_value = "(missing)";
    for (const auto& [k, v] : theirs) {
      if (k == key) their_value = v;
    }
    if (their_value != value && !SameComputedNumber(their_value, value)) {
      differences += (differences.empty() ? "" : "; ") + key + " is " + their_value + " there, " + value + " here";
    }
    if (key == "sampling" && value == SamplingName(Sampling::kReshuffle) &&
        their_workers != static_cast<std::uint64_t>(workers)) {
      differences += std::string(differences.empty() ? "" : "; ") + "written by a run of " +
                     std::to_string(their_workers) + " workers, this one has " + std::to_string(workers) +
                     " (--sampling reshuffle resumes on as many workers, or on fewer that host the plan's workers as "
                     "crpsgd train does, RunHostedWorkers; global or with-replacement on any number)";
    }
  }
  return differences;
}

}  // namespace

std::filesystem::path CheckpointFile(const std::filesystem::path& dir, std::uint64_t round, int rank) {
  return dir / ("round-" + std::to_string(round) + ".rank-" + std::to_string(rank));
}

Status WriteWorkerCheckpoint(const std::filesystem::path& path, const WorkerCheckpoint& c) {
  ByteWriter w;
  w.bytes().append(kMagic, sizeof kMagic);
  w.U64(c.identity.size());
  for (const auto& [key, value] : c.identity) w.Str(key), w.Str(value);
  w.U64(c.rank), w.U64(c.workers);
  w.Doubles(c.x);
  w.U64(c.progress.rounds), w.U64(c.progress.sfo_per_worker);
  w.Str(c.algorithm), w.Str(c.algorithm_state);
  w.Str(c.sampler);
  const MonitorState& m = c.monitor;
  w.U64(m.next_auto_eval), w.U64(m.bytes), w.U64(m.eval_bytes);
  w.F64(m.wall_s), w.F64(m.comm_s), w.F64(m.eval_s), w.F64(m.net_model_s), w.F64(m.last_loss);
  w.F64(m.first_loss);
  w.U64(c.observers.size());
  for (const std::string& o : c.observers) w.Str(o);
  w.Str(c.model_state);
  w.U64(Fnv1a(w.bytes()));
  return WriteFileAtomic(path, w.bytes());
}

Result<WorkerCheckpoint> ReadWorkerCheckpoint(const std::filesystem::path& path) {
  const std::string name = path.string();
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound(name + ": checkpoint file missing");
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const char version = kMagic[sizeof kMagic - 1];
  const bool ours = bytes.size() >= sizeof kMagic && std::memcmp(bytes.data(), kMagic, sizeof kMagic - 1) == 0;
  if (ours && bytes[sizeof kMagic - 1] != version) {
    return Status::InvalidArgument(name + ": checkpoint format " + std::string(1, bytes[sizeof kMagic - 1]) +
                                   ", this crpsgd reads format " + std::string(1, version) +
                                   " (written by another version: start the run again)");
  }
  if (!ours || bytes.size() < sizeof kMagic + 8) {
    return Status::Corruption(name + ": not a crpsgd checkpoint (or truncated)");
  }
  std::uint64_t stored = 0;
  std::memcpy(&stored, bytes.data() + bytes.size() - 8, 8);
  // Views into the file's bytes: the checksummed body, then its fields after the magic.
  const std::string_view body = std::string_view(bytes).substr(0, bytes.size() - 8);
  if (Fnv1a(body) != stored) return Status::Corruption(name + ": checksum mismatch: the checkpoint is corrupt");
  WorkerCheckpoint c;
  ByteReader b(body.substr(sizeof kMagic));
  const std::uint64_t pairs = b.U64();
  for (std::uint64_t i = 0; b.ok() && i < pairs && i < 1000; ++i) {
    std::string key = b.Str();
    std::string value = b.Str();
    c.identity.emplace_back(std::move(key), std::move(value));
  }
  c.rank = b.U64(), c.workers = b.U64();
  c.x = b.Doubles();
  c.progress.rounds = b.U64(), c.progress.sfo_per_worker = b.U64();
  c.algorithm = b.Str(), c.algorithm_state = b.Str();
  c.sampler = b.Str();
  MonitorState& m = c.monitor;
  m.next_auto_eval = b.U64(), m.bytes = b.U64(), m.eval_bytes = b.U64();
  m.wall_s = b.F64(), m.comm_s = b.F64(), m.eval_s = b.F64(), m.net_model_s = b.F64(), m.last_loss = b.F64();
  m.first_loss = b.F64();
  const std::uint64_t observers = b.U64();
  for (std::uint64_t i = 0; b.ok() && i < observers && i < 1000; ++i) c.observers.push_back(b.Str());
  c.model_state = b.Str();
  if (!b.ok()) return Status::Corruption(name + ": truncated record inside the checkpoint");
  return c;
}

Status WriteCheckpoint(Communicator& comm, const std::filesystem::path& dir, std::uint64_t round,
                       std::uint64_t previous, const WorkerCheckpoint& mine) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::IOError(dir.string() + ": cannot create: " + ec.message());
  CRPSGD_RETURN_IF_ERROR(WriteWorkerCheckpoint(CheckpointFile(dir, round, comm.rank()), mine));
  CRPSGD_RETURN_IF_ERROR(comm.Barrier());  // every worker's file is complete
  if (comm.rank() == 0) {
    nlohmann::json latest;
    latest["round"] = round;
    latest["workers"] = comm.size();
    latest["identity"] = IdentityText(mine.identity);
    CRPSGD_RETURN_IF_ERROR(WriteFileAtomic(dir / "LATEST", latest.dump(2) + "\n"));
  }
  CRPSGD_RETURN_IF_ERROR(comm.Barrier());  // LATEST names the new round: the old one may go
  if (previous > 0) std::filesystem::remove(CheckpointFile(dir, previous, comm.rank()), ec);
  return Status::OK();
}

namespace {

Result<WorkerCheckpoint> ReadCheckedFile(const std::filesystem::path& dir, std::uint64_t round, int rank, int workers,
                                         const Identity& identity) {
  const std::filesystem::path file = CheckpointFile(dir, round, rank);
  CRPSGD_ASSIGN_OR_RETURN(WorkerCheckpoint c, ReadWorkerCheckpoint(file));
  const std::string differences = IdentityDifferences(c.workers, workers, c.identity, identity);
  if (!differences.empty()) return Status::InvalidArgument(file.string() + ": belongs to another run: " + differences);
  if (c.rank != static_cast<std::uint64_t>(rank)) {
    return Status::Corruption(file.string() + ": holds rank " + std::to_string(c.rank) + "'s state, not rank " +
                              std::to_string(rank) + "'s");
  }
  if (c.progress.rounds != round) return Status::Corruption(file.string() + ": its round does not match LATEST");
  return c;
}

}  // namespace

Result<LatestRecord> ReadLatest(const std::filesystem::path& dir) {
  const std::filesystem::path latest_path = dir / "LATEST";
  std::ifstream in(latest_path);
  if (!in) {
    return Status::NotFound(dir.string() +
                            ": no checkpoint to resume from (no LATEST; was the run started with "
                            "--checkpoint-every?)");
  }
  LatestRecord latest;
  try {
    const nlohmann::json json = nlohmann::json::parse(in);
    latest.round = json.at("round").get<std::uint64_t>();
    latest.writers = json.at("workers").get<std::uint64_t>();
    latest.identity = ParseIdentityText(json.at("identity").get<std::string>());
  } catch (const nlohmann::json::exception& e) {
    return Status::Corruption(latest_path.string() + ": corrupt (" + e.what() + ")");
  }
  if (latest.writers < 1 || latest.writers > 1u << 20) {
    return Status::Corruption(latest_path.string() + ": corrupt (workers)");
  }
  return latest;
}

Result<std::vector<WorkerCheckpoint>> ReadLatestCheckpoint(const std::filesystem::path& dir, int rank, int workers,
                                                           const Identity& identity, std::uint64_t* round) {
  CRPSGD_ASSIGN_OR_RETURN(const LatestRecord latest, ReadLatest(dir));
  *round = latest.round;
  const std::uint64_t writers = latest.writers;
  std::vector<WorkerCheckpoint> files;
  if (writers == static_cast<std::uint64_t>(workers)) {
    CRPSGD_ASSIGN_OR_RETURN(WorkerCheckpoint mine, ReadCheckedFile(dir, *round, rank, workers, identity));
    files.push_back(std::move(mine));
    return files;
  }
  for (std::uint64_t writer = 0; writer < writers; ++writer) {  // a resume on another number of workers
    CRPSGD_ASSIGN_OR_RETURN(WorkerCheckpoint theirs,
                            ReadCheckedFile(dir, *round, static_cast<int>(writer), workers, identity));
    files.push_back(std::move(theirs));
  }
  return files;
}

}  // namespace crpsgd::internal

namespace crpsgd {

std::optional<std::uint64_t> LatestCheckpointRound(const std::filesystem::path& dir) {
  const Result<internal::LatestRecord> latest = internal::ReadLatest(dir);
  if (!latest.ok()) return std::nullopt;  // none, or corrupt: ReadLatestCheckpoint says what is wrong
  return latest->round;
}

std::optional<int> CheckpointPlanWorkers(const std::filesystem::path& dir) {
  const Result<internal::LatestRecord> latest = internal::ReadLatest(dir);
  if (!latest.ok()) return std::nullopt;  // none, or corrupt: ReadLatestCheckpoint says what is wrong
  for (const auto& [key, value] : latest->identity) {
    if (key != "workers") continue;
    try {
      if (std::stoi(value) >= 1) return std::stoi(value);
    } catch (const std::exception&) {  // not a number: the identity check names it
    }
  }
  return std::nullopt;
}

Status CheckCheckpointMatches(const std::filesystem::path& dir, int workers,
                              const std::vector<std::pair<std::string, std::string>>& identity) {
  const Result<internal::LatestRecord> latest = internal::ReadLatest(dir);
  if (!latest.ok()) return Status::OK();  // none, or corrupt: Train says what is wrong
  const std::string differences = internal::IdentityDifferences(latest->writers, workers, latest->identity, identity);
  if (differences.empty()) return Status::OK();
  return Status::InvalidArgument("--resume: the checkpoint in " + dir.string() +
                                 " belongs to another run: " + differences);
}

}  // namespace crpsgd
