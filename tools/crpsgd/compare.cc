#include "compare.h"

#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

namespace crpsgd::cli {
namespace {

using nlohmann::json;

// Reads key `name` of `object` into `out` when present; a value of the wrong
// type is an error naming the file and the key.
template <class T>
Status Read(const json& object, const char* name, T& out, const std::string& where) {
  if (!object.contains(name)) return Status::OK();
  try {
    out = object.at(name).get<T>();
  } catch (const json::exception&) {
    return Status::InvalidArgument(where + ": \"" + name + "\" has the wrong type (" +
                                   object.at(name).dump() + ")");
  }
  return Status::OK();
}

Status CheckKeys(const json& object, const std::set<std::string>& known, const std::string& where) {
  for (const auto& [key, value] : object.items()) {
    if (!known.count(key)) return Status::InvalidArgument(where + ": unknown key \"" + key + "\"");
  }
  return Status::OK();
}

}  // namespace

Status LoadCompareConfig(const std::filesystem::path& path, Job& job) {
  const std::string file = path.string();
  std::ifstream in(path);
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return Status::NotFound(file + ": no such file");
  if (!in) return Status::IOError(file + ": cannot open for reading");
  json config;
  try {
    config = json::parse(in);
  } catch (const json::parse_error& e) {
    return Status::Corruption(file + ": not valid JSON (" + e.what() + ")");
  }
  if (!config.is_object()) return Status::Corruption(file + ": expected a JSON object");
  CRPSGD_RETURN_IF_ERROR(CheckKeys(
      config,
      {"problem", "data", "labels", "format", "test_data", "test_labels", "positive_class", "negative_class", "lambda",
       "normalize", "augment", "hidden", "bias", "synthetic_samples", "synthetic_features", "synthetic_noise",
       "workers", "backend", "budget", "seeds", "eval_every", "eval_samples", "sampling", "max_micro_batch", "threads",
       "net_model", "runs"},
      file));
  DataFlags& d = job.data;
  for (const auto& [key, field] : std::initializer_list<std::pair<const char*, std::string*>>{
           {"problem", &d.problem}, {"data", &d.data}, {"labels", &d.labels}, {"format", &d.format},
           {"test_data", &d.test_data}, {"test_labels", &d.test_labels}}) {
    CRPSGD_RETURN_IF_ERROR(Read(config, key, *field, file));
  }
  CRPSGD_RETURN_IF_ERROR(Read(config, "positive_class", d.positive_class, file));
  CRPSGD_RETURN_IF_ERROR(Read(config, "negative_class", d.negative_class, file));
  CRPSGD_RETURN_IF_ERROR(Read(config, "lambda", d.lambda, file));
  CRPSGD_RETURN_IF_ERROR(Read(config, "normalize", d.normalize, file));
  CRPSGD_RETURN_IF_ERROR(Read(config, "augment", d.augment, file));
  CRPSGD_RETURN_IF_ERROR(Read(config, "hidden", d.hidden, file));
  CRPSGD_RETURN_IF_ERROR(Read(config, "bias", d.bias, file));
  CRPSGD_RETURN_IF_ERROR(Read(config, "synthetic_samples", d.synthetic_samples, file));
  CRPSGD_RETURN_IF_ERROR(Read(config, "synthetic_features", d.synthetic_features, file));
  CRPSGD_RETURN_IF_ERROR(Read(config, "synthetic_noise", d.synthetic_noise, file));
  RunFlags& r = job.run;
  CRPSGD_RETURN_IF_ERROR(Read(config, "workers", r.workers, file));
  CRPSGD_RETURN_IF_ERROR(Read(config, "backend", r.backend, file));
  CRPSGD_RETURN_IF_ERROR(Read(config, "eval_every", r.eval_every, file));
  CRPSGD_RETURN_IF_ERROR(Read(config, "eval_samples", r.eval_samples, file));
  CRPSGD_RETURN_IF_ERROR(Read(config, "threads", r.threads, file));
  CRPSGD_RETURN_IF_ERROR(Read(config, "net_model", r.net_model, file));
  if (config.contains("seeds")) {
    CRPSGD_RETURN_IF_ERROR(Read(config, "seeds", job.seeds, file));
    if (job.seeds.empty()) return Status::InvalidArgument(file + ": \"seeds\" is empty");
  }
  if (job.seeds.empty()) job.seeds = {r.seed};

  AlgoFlags shared;
  CRPSGD_RETURN_IF_ERROR(Read(config, "budget", shared.budget, file));
  CRPSGD_RETURN_IF_ERROR(Read(config, "sampling", shared.sampling, file));
  CRPSGD_RETURN_IF_ERROR(Read(config, "max_micro_batch", shared.max_micro_batch, file));
  if (shared.budget == 0) return Status::InvalidArgument(file + ": \"budget\" (SFO per worker) is required and > 0");
  if (!config.contains("runs") || !config["runs"].is_array() || config["runs"].empty()) {
    return Status::InvalidArgument(file + ": \"runs\" must be a non-empty list of runs");
  }
  job.requests.clear();
  for (std::size_t i = 0; i < config["runs"].size(); ++i) {
    const json& run = config["runs"][i];
    const std::string where = file + ": runs[" + std::to_string(i) + "]";
    if (!run.is_object()) return Status::InvalidArgument(where + ": expected an object");
    CRPSGD_RETURN_IF_ERROR(CheckKeys(run,
                                     {"algo", "batch", "b1", "rho", "sync_period", "theta", "outer_iters",
                                      "inner_budget", "lr", "momentum", "weight_decay", "lr_schedule"},
                                     where));
    AlgoFlags a = shared;
    if (!run.contains("algo")) return Status::InvalidArgument(where + ": \"algo\" is required");
    CRPSGD_RETURN_IF_ERROR(Read(run, "algo", a.algo, where));
    CRPSGD_RETURN_IF_ERROR(Read(run, "batch", a.batch, where));
    CRPSGD_RETURN_IF_ERROR(Read(run, "b1", a.b1, where));
    CRPSGD_RETURN_IF_ERROR(Read(run, "rho", a.rho, where));
    CRPSGD_RETURN_IF_ERROR(Read(run, "sync_period", a.sync_period, where));
    CRPSGD_RETURN_IF_ERROR(Read(run, "theta", a.theta, where));
    CRPSGD_RETURN_IF_ERROR(Read(run, "outer_iters", a.outer_iters, where));
    CRPSGD_RETURN_IF_ERROR(Read(run, "inner_budget", a.inner_budget, where));
    CRPSGD_RETURN_IF_ERROR(Read(run, "momentum", a.momentum, where));
    CRPSGD_RETURN_IF_ERROR(Read(run, "weight_decay", a.weight_decay, where));
    CRPSGD_RETURN_IF_ERROR(Read(run, "lr_schedule", a.lr_schedule, where));
    if (run.contains("lr")) {
      a.lr = run["lr"].is_number() ? run["lr"].dump() : run["lr"].is_string() ? run["lr"].get<std::string>() : "";
    }
    auto request = MakeTrainRequest(a);
    if (!request.ok()) return request.status().WithContext(where);
    request->group = static_cast<int>(i);
    request->name = std::to_string(i + 1) + "_" + a.algo + "_" + request->options.Describe();
    for (char& c : request->name) c = (c == ' ' || c == '=') ? (c == ' ' ? '_' : '-') : c;
    job.requests.push_back(std::move(request).value());
  }
  job.sweep = true;  // rows aggregate each run over the seeds
  return Status::OK();
}

}  // namespace crpsgd::cli
