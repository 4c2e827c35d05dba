#include "crpsgd/metrics.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <nlohmann/json.hpp>

#include "crpsgd/train.h"

namespace crpsgd {

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

// Writes each of an algorithm's own fields under its name. (A lambda takes the
// entry, not a structured binding: C++17 does not let a lambda capture one.)
void PutFields(const AlgorithmFields& fields, nlohmann::json& j) {
  for (const auto& entry : fields.entries()) {
    std::visit([&j, &entry](const auto& v) { j[entry.first] = v; }, entry.second);
  }
}

nlohmann::json RoundRecordToJson(const RoundRecord& r, std::optional<double> f_star) {
  nlohmann::json j;
  j["round"] = r.round;
  j["batch"] = r.batch;
  j["local_steps"] = r.local_steps;
  if (r.samples != 0) j["samples"] = r.samples;
  j["sfo_per_worker"] = r.sfo_per_worker;
  j["sfo_total"] = r.sfo_total;
  j["loss"] = OrNull(r.loss);
  j["f_gap"] = (r.loss && f_star) ? nlohmann::json(*r.loss - *f_star) : nlohmann::json(nullptr);
  j["wall_s"] = r.wall_s;
  j["comm_s"] = r.comm_s;
  j["bytes"] = r.bytes;
  if (r.net_model_s) j["net_model_s"] = *r.net_model_s;
  if (r.test_accuracy) j["test_accuracy"] = *r.test_accuracy;
  PutFields(r.fields, j);  // the algorithm's own
  return j;
}

nlohmann::json RunSummaryToJson(const RunSummary& s) {
  const AlgorithmOptions& a = s.algorithm;
  nlohmann::json j;
  j["algo"] = AlgorithmName(a.kind);
  j["params"] = a.Describe();
  const AlgorithmFields own = SummaryFieldsOf(s);  // its own parameters and results
  PutFields(own, j);
  if (a.rounds > 0) j["rounds_requested"] = a.rounds;
  j["sampling"] = SamplingName(a.sampling);
  if (a.compression != Compression::kNone)
    j["compress"] =
        CompressionChoiceName(a.compression, a.compression_rank, a.compression_bf16_factors);  // only when set
  if (a.overlap) j["overlap"] = true;                                                          // only when set
  j["momentum"] = a.momentum;
  j["weight_decay"] = a.weight_decay;
  j["lr_schedule"] = LrScheduleName(a.Schedule());
  j["lr_batch_scaling"] = LrBatchScalingName(a.lr_batch_scaling);
  j["lr_max"] = a.lr_max;
  j["max_micro_batch"] = a.max_micro_batch;
  j["workers"] = s.workers;
  if (s.plan_workers != 0 && s.plan_workers != s.workers) j["plan_workers"] = s.plan_workers;  // resumed elsewhere
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
  if (s.targets.any()) {  // where the run first reached them (it stopped there); null: not reached
    j["target_loss"] = OrNull(s.targets.loss);
    j["target_gap"] = OrNull(s.targets.gap);
    j["target_accuracy"] = OrNull(s.targets.accuracy);
    if (s.targets.relative_gap) j["target_relative_gap"] = *s.targets.relative_gap;  // --budget auto's stop rule
    const std::optional<TargetReached>& r = s.reached;
    const TargetReached at = r.value_or(TargetReached{});  // read only when reached
    const auto when_reached = [&r](const auto& value) { return r ? nlohmann::json(value) : nlohmann::json(nullptr); };
    j["rounds_to_target"] = when_reached(at.round);
    j["sfo_to_target"] = when_reached(at.sfo_per_worker);
    j["sfo_total_to_target"] =
        when_reached(at.sfo_per_worker * static_cast<std::uint64_t>(s.plan_workers != 0 ? s.plan_workers : s.workers));
    j["bytes_to_target"] = when_reached(at.bytes);
    j["wall_s_to_target"] = when_reached(at.wall_s);
  }
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
