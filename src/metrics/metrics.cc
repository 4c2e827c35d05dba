#include "crpsgd/metrics.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <nlohmann/json.hpp>

namespace crpsgd {

Status WriteFileAtomic(const std::filesystem::path& path, const std::string& content) {
  const std::filesystem::path tmp = path.string() + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::IOError(tmp.string() + ": cannot create: " + std::strerror(errno));
  std::size_t written = 0;
  while (written < content.size()) {
    const ssize_t n = ::write(fd, content.data() + written, content.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      const std::string why = std::strerror(errno);
      ::close(fd);
      ::unlink(tmp.c_str());
      return Status::IOError(tmp.string() + ": write failed: " + why);
    }
    written += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    ::unlink(tmp.c_str());
    return Status::IOError(tmp.string() + ": could not be flushed to disk");
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    ::unlink(tmp.c_str());
    return Status::IOError(path.string() + ": rename failed: " + why);
  }
  // The rename is an entry of the folder: without this a crash could leave the old file.
  const std::filesystem::path folder = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  const int dir = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0 || ::fsync(dir) != 0) {
    const std::string why = std::strerror(errno);
    if (dir >= 0) ::close(dir);
    return Status::IOError(folder.string() + ": the rename of " + path.filename().string() +
                           " could not be flushed to disk: " + why);
  }
  ::close(dir);
  return Status::OK();
}

std::string ExactNumber(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.17g", v);
  return text;
}

MetricsWriter::MetricsWriter(std::filesystem::path path, std::optional<double> f_star, bool append)
    : path_(std::move(path)), out_(path_, append ? std::ios::app : std::ios::trunc), f_star_(f_star) {}

Result<std::unique_ptr<MetricsWriter>> MetricsWriter::Open(const std::filesystem::path& path,
                                                           std::optional<double> f_star, bool append) {
  std::unique_ptr<MetricsWriter> writer(new MetricsWriter(path, f_star, append));
  if (!writer->out_) return Status::IOError(path.string() + ": cannot open for writing");
  return writer;
}

Status MetricsWriter::OnRound(const RoundRecord& record, std::span<const double>) {
  out_ << FormatRoundRecord(record, f_star_) << '\n';
  out_.flush();
  if (!out_) return Status::IOError(path_.string() + ": write failed");
  return Status::OK();
}

std::string MetricsWriter::CheckpointState() const {
  std::error_code ec;
  return std::to_string(std::filesystem::file_size(path_, ec));  // lines are flushed as written
}

Status MetricsWriter::RestoreCheckpointState(const std::string& state) {
  // Lines written after the checkpoint belong to rounds that will run again.
  std::uint64_t size = 0;
  try {
    size = std::stoull(state);
  } catch (const std::exception&) {
    return Status::Corruption(path_.string() + ": the checkpoint's record of this file does not parse");
  }
  std::error_code ec;
  const std::uint64_t now = std::filesystem::file_size(path_, ec);
  if (ec || now < size) {
    return Status::Corruption(path_.string() + ": shorter than at the checkpoint (" + std::to_string(size) +
                              " bytes); cannot resume into it");
  }
  out_.close();
  std::filesystem::resize_file(path_, size, ec);
  if (ec) return Status::IOError(path_.string() + ": cannot truncate: " + ec.message());
  out_.open(path_, std::ios::app);
  if (!out_) return Status::IOError(path_.string() + ": cannot open for writing");
  return Status::OK();
}

namespace {
template <class T>
nlohmann::json OrNull(const std::optional<T>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

// ρ: a number, or "auto" with the norm test's θ² beside it (norm_test_theta2).
nlohmann::json RhoJson(const AlgorithmOptions& a) {
  return a.adaptive_batch ? nlohmann::json("auto") : nlohmann::json(a.growth);
}

nlohmann::json RoundRecordToJson(const RoundRecord& r, std::optional<double> f_star) {
  nlohmann::json j;
  j["round"] = r.round;
  j["batch"] = r.batch;
  j["local_steps"] = r.local_steps;
  if (r.outer_iteration != 0) j["outer_iteration"] = r.outer_iteration;
  j["sfo_per_worker"] = r.sfo_per_worker;
  j["sfo_total"] = r.sfo_total;
  j["loss"] = OrNull(r.loss);
  j["f_gap"] = (r.loss && f_star) ? nlohmann::json(*r.loss - *f_star) : nlohmann::json(nullptr);
  j["wall_s"] = r.wall_s;
  j["comm_s"] = r.comm_s;
  j["bytes"] = r.bytes;
  if (r.net_model_s) j["net_model_s"] = *r.net_model_s;
  if (r.test_accuracy) j["test_accuracy"] = *r.test_accuracy;
  if (r.noise_trace) j["noise_trace"] = *r.noise_trace;  // --rho auto: the norm test's V and G²
  if (r.noise_trace) j["grad_norm2"] = OrNull(r.grad_norm2);
  return j;
}

nlohmann::json RunSummaryToJson(const RunSummary& s) {
  const AlgorithmOptions& a = s.algorithm;
  nlohmann::json j;
  j["algo"] = AlgorithmName(a.kind);
  j["params"] = a.Describe();
  switch (a.kind) {
    case AlgorithmKind::kPsgd: j["batch"] = a.batch; break;
    case AlgorithmKind::kCrPsgd: j["b1"] = a.first_batch, j["rho"] = RhoJson(a); break;
    case AlgorithmKind::kLocalSgd: j["batch"] = a.batch, j["sync_period"] = a.sync_period; break;
    case AlgorithmKind::kCrPsgdCatalyst:
      j["b1"] = a.first_batch, j["rho"] = RhoJson(a), j["theta"] = a.theta;
      j["outer_iterations"] = OrNull(s.outer_iterations);
      j["inner_budget"] = OrNull(s.inner_budget);
      j["gradient_norm"] = OrNull(s.gradient_norm);
      break;
  }
  j["sampling"] = SamplingName(a.sampling);
  j["momentum"] = a.momentum;
  j["weight_decay"] = a.weight_decay;
  j["lr_schedule"] = LrScheduleName(a.lr_schedule);
  j["lr_batch_scaling"] = LrBatchScalingName(a.lr_batch_scaling);
  j["lr_max"] = a.lr_max;
  j["max_micro_batch"] = a.max_micro_batch;
  if (a.adaptive_batch) j["norm_test_theta2"] = a.norm_test_theta2;
  j["workers"] = s.workers;
  j["backend"] = s.backend;
  j["seed"] = s.seed;
  j["budget"] = a.budget;
  j["rounds"] = s.rounds;
  j["sfo_per_worker"] = s.sfo_per_worker;
  j["sfo_total"] = s.sfo_total;
  j["budget_left"] = s.budget_left;
  j["final_loss"] = s.final_loss;
  j["f_star"] = OrNull(s.f_star);
  j["f_gap"] = s.f_star ? nlohmann::json(s.final_loss - *s.f_star) : nlohmann::json(nullptr);
  j["lr"] = a.lr;
  j["lipschitz"] = OrNull(s.lipschitz);
  j["wall_s"] = s.wall_s;
  j["comm_s"] = s.comm_s;
  j["net_model_s"] = OrNull(s.net_model_s);
  j["eval_s"] = s.eval_s;
  j["bytes"] = s.bytes;
  j["eval_bytes"] = s.eval_bytes;
  j["peak_rss_bytes"] = s.peak_rss_bytes;
  j["peak_rss_bytes_per_worker"] = s.peak_rss_bytes_per_worker;
  j["train_accuracy"] = OrNull(s.train_accuracy);
  j["test_loss"] = OrNull(s.test_loss);
  j["test_accuracy"] = OrNull(s.test_accuracy);
  return j;
}

}  // namespace

std::string FormatRoundRecord(const RoundRecord& record, std::optional<double> f_star) {
  return RoundRecordToJson(record, f_star).dump();
}

std::string FormatRunSummary(const RunSummary& summary, std::string_view extra_fields) {
  nlohmann::json j = RunSummaryToJson(summary);
  const nlohmann::json extra = nlohmann::json::parse(extra_fields, nullptr, /*allow_exceptions=*/false);
  if (extra.is_object()) j.update(extra);
  return j.dump(2) + "\n";
}

}  // namespace crpsgd
