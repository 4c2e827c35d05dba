#include "compare.h"

#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>
#include <toml++/toml.h>

#include "arguments.h"
#include "crpsgd/metrics.h"

namespace crpsgd::cli {
namespace {

using nlohmann::json;

// One JSON object of the config, its keys in one spelling ("sync-period" is
// read as "sync_period", as the flags take both). Every key the loader reads
// is recorded, so that the keys left over are exactly the unknown ones: the
// list of valid keys is the code that reads them, never a second list kept
// beside it.
class ConfigObject {
 public:
  static Result<ConfigObject> Make(const json& object, std::string where) {
    ConfigObject config(std::move(where));
    if (!object.is_object()) return config;
    for (const auto& [key, value] : object.items()) {
      const std::string canonical = WithUnderscores(key);
      if (config.object_.contains(canonical)) {
        return Status::InvalidArgument(config.where_ + ": \"" + key + "\" is given twice (as \"" +
                                       config.written_[canonical] + "\" too)");
      }
      config.object_[canonical] = value;
      config.written_[canonical] = key;
    }
    return config;
  }

  // Reads `name` into `out` when present; a value of the wrong type is an
  // error naming the file and the key.
  template <class T>
  Status Read(const char* name, T& out) {
    known_.insert(name);
    if (!object_.contains(name)) return Status::OK();
    try {
      out = object_.at(name).get<T>();
    } catch (const json::exception&) {
      return Status::InvalidArgument(where_ + ": \"" + name + "\" has the wrong type (" + object_.at(name).dump() +
                                     ")");
    }
    return Status::OK();
  }
  // `name` as the text its flag takes: a string, a number or true/false.
  Status ReadText(const char* name, std::string& out) {
    const json* value = Take(name);
    if (value == nullptr) return Status::OK();
    if (value->is_string()) {
      out = value->get<std::string>();
    } else if (value->is_boolean()) {
      out = value->get<bool>() ? "yes" : "no";
    } else if (value->is_number()) {
      out = ExactNumber(value->get<double>());
    } else {
      return Status::InvalidArgument(where_ + ": \"" + name + "\" has the wrong type (" + value->dump() + ")");
    }
    return Status::OK();
  }
  // A key the caller reads itself.
  const json* Take(const char* name) {
    known_.insert(name);
    return object_.contains(name) ? &object_.at(name) : nullptr;
  }
  Status CheckNoUnknownKeys() const {
    for (const auto& [key, value] : object_.items()) {
      if (known_.count(key)) continue;
      const std::string nearest = NearestName(key, {known_.begin(), known_.end()});
      return Status::InvalidArgument(where_ + ": unknown key \"" + written_.at(key) + "\"" +
                                     (nearest.empty() ? "" : " (did you mean \"" + nearest + "\"?)") +
                                     " (see docs/compare.md)");
    }
    return Status::OK();
  }
  const std::string& where() const { return where_; }

 private:
  explicit ConfigObject(std::string where) : object_(json::object()), where_(std::move(where)) {}
  json object_;
  std::map<std::string, std::string> written_;  // canonical key -> as the file wrote it
  std::string where_;
  std::set<std::string> known_;
};

// One run's keys from the table shared with --run (flags.h's RunKeys).
Status ReadRunKeys(ConfigObject& run, AlgoFlags& a) {
  for (const RunKey& key : RunKeys()) {
    const json* value = run.Take(key.name);
    if (value == nullptr) continue;
    std::string text;
    if (value->is_number()) {
      text = value->dump();
    } else if (value->is_string() && !key.numeric) {
      text = value->get<std::string>();
    } else {
      return Status::InvalidArgument(run.where() + ": \"" + key.name + "\" has the wrong type (" + value->dump() + ")");
    }
    CRPSGD_RETURN_IF_ERROR(key.apply(a, text, run.where() + ": \"" + key.name + "\""));
  }
  return Status::OK();
}

// The config file as JSON: TOML has the same keys, converted by toml++.
Result<json> ReadConfigAsJson(const std::filesystem::path& path) {
  const std::string file = path.string();
  std::ifstream in(path);
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return Status::NotFound(file + ": no such file");
  if (!in) return Status::IOError(file + ": cannot open for reading");
  json config;
  if (path.extension() == ".toml") {
    // TOML: the same keys; converted to JSON by toml++ and read as below.
    try {
      std::ostringstream as_json;
      as_json << toml::json_formatter{toml::parse_file(file)};
      config = json::parse(as_json.str());
    } catch (const toml::parse_error& e) {
      return Status::Corruption(file + ":" + std::to_string(e.source().begin.line) +
                                ": not valid TOML: " + std::string(e.description()));
    } catch (const json::exception& e) {  // a TOML value JSON cannot hold (inf, nan)
      return Status::Corruption(file + ": a value cannot be used (" + e.what() + ")");
    }
  } else {
    try {
      config = json::parse(in);
    } catch (const json::exception& e) {  // syntax errors, and numbers out of range
      return Status::Corruption(file + ": not valid JSON (" + e.what() + ")");
    }
  }
  if (!config.is_object()) return Status::Corruption(file + ": expected a JSON object");
  return config;
}

// The settings every run shares: the data and the run flags, as train's.
Status ReadSharedSettings(ConfigObject& top, Job& job) {
  DataFlags& d = job.data;
  for (const auto& [key, field] :
       std::initializer_list<std::pair<const char*, std::string*>>{{"problem", &d.problem},
                                                                   {"data", &d.data},
                                                                   {"labels", &d.labels},
                                                                   {"format", &d.format},
                                                                   {"test_data", &d.test_data},
                                                                   {"test_labels", &d.test_labels},
                                                                   {"precision", &d.precision},
                                                                   {"sharding", &d.sharding},
                                                                   {"model", &d.model},
                                                                   {"loss", &d.loss},
                                                                   {"label_column", &d.label_column}}) {
    CRPSGD_RETURN_IF_ERROR(top.Read(key, *field));
  }
  CRPSGD_RETURN_IF_ERROR(top.Read("positive_class", d.positive_class));
  CRPSGD_RETURN_IF_ERROR(top.Read("negative_class", d.negative_class));
  CRPSGD_RETURN_IF_ERROR(top.Read("lambda", d.lambda));
  CRPSGD_RETURN_IF_ERROR(top.Read("normalize", d.normalize));
  CRPSGD_RETURN_IF_ERROR(top.ReadText("standardize", d.standardize));
  CRPSGD_RETURN_IF_ERROR(top.Read("augment", d.augment));
  CRPSGD_RETURN_IF_ERROR(top.Read("hidden", d.hidden));
  CRPSGD_RETURN_IF_ERROR(top.ReadText("bias", d.bias));
  CRPSGD_RETURN_IF_ERROR(top.Read("synthetic_samples", d.synthetic_samples));
  CRPSGD_RETURN_IF_ERROR(top.Read("synthetic_features", d.synthetic_features));
  CRPSGD_RETURN_IF_ERROR(top.Read("synthetic_noise", d.synthetic_noise));
  CRPSGD_RETURN_IF_ERROR(top.Read("synthetic_condition", d.synthetic_condition));
  RunFlags& r = job.run;
  CRPSGD_RETURN_IF_ERROR(top.Read("workers", r.workers));
  CRPSGD_RETURN_IF_ERROR(top.Read("backend", r.backend));
  CRPSGD_RETURN_IF_ERROR(top.Read("eval_every", r.eval_every));
  CRPSGD_RETURN_IF_ERROR(top.Read("eval_every_sfo", r.eval_every_sfo));
  CRPSGD_RETURN_IF_ERROR(top.Read("eval_samples", r.eval_samples));
  CRPSGD_RETURN_IF_ERROR(top.Read("eval_batch_norm", r.eval_batch_norm));
  CRPSGD_RETURN_IF_ERROR(top.Read("threads", r.threads));
  CRPSGD_RETURN_IF_ERROR(top.Read("net_model", r.net_model));
  CRPSGD_RETURN_IF_ERROR(top.Read("seed", r.seed));
  CRPSGD_RETURN_IF_ERROR(top.Read("mpi_reduction", r.mpi_reduction));
  CRPSGD_RETURN_IF_ERROR(top.Read("mpi_timeout", r.mpi_timeout_s));
  CRPSGD_RETURN_IF_ERROR(top.Read("init_model", r.init_model));
  CRPSGD_RETURN_IF_ERROR(top.Read("save_model", r.save_model));
  CRPSGD_RETURN_IF_ERROR(top.Read("no_f_star", r.no_f_star));
  CRPSGD_RETURN_IF_ERROR(top.Read("barrier_before_rounds", r.barrier_before_rounds));
  return Status::OK();
}

}  // namespace

Status LoadCompareConfig(const std::filesystem::path& path, Job& job) {
  const std::string file = path.string();
  CRPSGD_ASSIGN_OR_RETURN(const json config, ReadConfigAsJson(path));
  CRPSGD_ASSIGN_OR_RETURN(ConfigObject top, ConfigObject::Make(config, file));
  CRPSGD_RETURN_IF_ERROR(ReadSharedSettings(top, job));
  job.spec.seeds.clear();  // "seeds", or else "seed"
  if (top.Take("seeds") != nullptr) {
    CRPSGD_RETURN_IF_ERROR(top.Read("seeds", job.spec.seeds));
    if (job.spec.seeds.empty()) return Status::InvalidArgument(file + ": \"seeds\" is empty");
  }
  if (job.spec.seeds.empty()) job.spec.seeds = {job.run.seed};

  AlgoFlags shared;
  CRPSGD_RETURN_IF_ERROR(top.Read("budget", shared.budget));
  CRPSGD_RETURN_IF_ERROR(top.Read("sampling", shared.sampling));
  CRPSGD_RETURN_IF_ERROR(top.Read("max_micro_batch", shared.max_micro_batch));
  const json* runs = top.Take("runs");
  CRPSGD_RETURN_IF_ERROR(top.CheckNoUnknownKeys());
  if (shared.budget == 0) return Status::InvalidArgument(file + ": \"budget\" (SFO per worker) is required and > 0");
  if (runs == nullptr || !runs->is_array() || runs->empty()) {
    return Status::InvalidArgument(file + ": \"runs\" must be a non-empty list of runs");
  }
  job.spec.requests.clear();
  for (std::size_t i = 0; i < runs->size(); ++i) {
    const json& run_json = (*runs)[i];
    CRPSGD_ASSIGN_OR_RETURN(ConfigObject run, ConfigObject::Make(run_json, file + ": runs[" + std::to_string(i) + "]"));
    if (!run_json.is_object()) return Status::InvalidArgument(run.where() + ": expected an object");
    AlgoFlags a = shared;
    if (!run_json.contains("algo")) return Status::InvalidArgument(run.where() + ": \"algo\" is required");
    CRPSGD_RETURN_IF_ERROR(run.Read("algo", a.algo));
    CRPSGD_RETURN_IF_ERROR(ReadRunKeys(run, a));
    CRPSGD_RETURN_IF_ERROR(run.CheckNoUnknownKeys());
    auto request = MakeTrainRequest(a);
    if (!request.ok()) return request.status().WithContext(run.where());
    request->group = static_cast<int>(i);
    request->name = RunFolderName(std::to_string(i + 1) + "_" + a.algo + "_" + request->options.Describe());
    job.spec.requests.push_back(std::move(request).value());
  }
  job.spec.sweep = true;  // rows aggregate each run over the seeds
  return Status::OK();
}

}  // namespace crpsgd::cli
