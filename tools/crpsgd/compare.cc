#include "compare.h"

#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>
#include <toml++/toml.h>

#include "arguments.h"
#include "settings.h"
#include "crpsgd/metrics.h"

namespace crpsgd::cli {

using nlohmann::json;

namespace {

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

// The settings of `table` that `door` admits, from the object: each value as
// the text its flag takes, typed and checked by the table (settings.h).
template <class Flags>
void ReadSettings(ConfigObject& object, std::span<const Setting<Flags>> table, Flags& flags, unsigned door,
                  StatusList& errors) {
  for (const BoundSetting& s : BindSettings(table, flags, door)) {
    const std::string key = WithUnderscores(s.name);
    const json* value = object.Take(key.c_str());
    if (value == nullptr) continue;
    const bool is_switch = std::holds_alternative<bool*>(s.field);
    const bool is_text = std::holds_alternative<std::string*>(s.field);
    std::string text;
    if (value->is_boolean() && (is_switch || (s.scope & kOptionalWord))) {
      text = value->get<bool>() ? (is_switch ? "true" : "yes") : (is_switch ? "false" : "no");
    } else if (value->is_number() && !is_switch) {
      text = value->dump();
    } else if (value->is_string() && is_text) {
      text = value->get<std::string>();
    } else {
      errors.Add(
          Status::InvalidArgument(object.where() + ": \"" + key + "\" has the wrong type (" + value->dump() + ")"));
      continue;
    }
    errors.Add(SetSetting(s, text), object.where());
  }
}

std::string RunWhere(const std::string& file, std::size_t i) { return file + ": runs[" + std::to_string(i) + "]"; }

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

}  // namespace

Result<std::vector<AlgoFlags>> ReadCompareConfig(const json& config, const std::string& file, Job& job) {
  CRPSGD_ASSIGN_OR_RETURN(ConfigObject top, ConfigObject::Make(config, file));
  StatusList errors;  // every bad value of the file, at once
  ReadSettings(top, DataSettings(), job.data, kCompare, errors);
  ReadSettings(top, RunSettings(), job.run, kCompare, errors);
  AlgoFlags shared;
  ReadSettings(top, AlgoSettings(), shared, kCompare, errors);
  job.spec.seeds.clear();  // "seeds", or else "seed"
  if (top.Take("seeds") != nullptr) {
    CRPSGD_RETURN_IF_ERROR(top.Read("seeds", job.spec.seeds));
    if (job.spec.seeds.empty()) return Status::InvalidArgument(file + ": \"seeds\" is empty");
  }
  if (job.spec.seeds.empty()) job.spec.seeds = {job.run.seed};
  const json* runs = top.Take("runs");
  CRPSGD_RETURN_IF_ERROR(top.CheckNoUnknownKeys());
  CRPSGD_RETURN_IF_ERROR(errors.ToStatus());
  if (shared.budget == "auto") {
    return Status::InvalidArgument(file + ": \"budget\" (SFO per worker) is required and > 0");
  }
  if (runs == nullptr || !runs->is_array() || runs->empty()) {
    return Status::InvalidArgument(file + ": \"runs\" must be a non-empty list of runs");
  }
  std::vector<AlgoFlags> run_flags;
  for (std::size_t i = 0; i < runs->size(); ++i) {
    const json& run_json = (*runs)[i];
    CRPSGD_ASSIGN_OR_RETURN(ConfigObject run, ConfigObject::Make(run_json, RunWhere(file, i)));
    if (!run_json.is_object()) return Status::InvalidArgument(run.where() + ": expected an object");
    AlgoFlags& a = run_flags.emplace_back(shared);
    if (!run_json.contains("algo")) return Status::InvalidArgument(run.where() + ": \"algo\" is required");
    CRPSGD_RETURN_IF_ERROR(run.Read("algo", a.algo));
    ReadSettings(run, AlgoSettings(), a, kRunKey, errors);
    CRPSGD_RETURN_IF_ERROR(run.CheckNoUnknownKeys());
    CRPSGD_RETURN_IF_ERROR(errors.ToStatus());
  }
  return run_flags;
}

Status LoadCompareConfig(const std::filesystem::path& path, Job& job) {
  const std::string file = path.string();
  CRPSGD_ASSIGN_OR_RETURN(const json config, ReadConfigAsJson(path));
  CRPSGD_ASSIGN_OR_RETURN(const std::vector<AlgoFlags> runs, ReadCompareConfig(config, file, job));
  job.spec.requests.clear();
  for (std::size_t i = 0; i < runs.size(); ++i) {
    auto request = MakeComparedRequest(runs[i], file);
    if (!request.ok()) return request.status().WithContext(RunWhere(file, i));
    request->group = static_cast<int>(i);
    request->source = RunWhere(file, i);
    request->name = std::to_string(i + 1) + "_" + runs[i].algo + "_" + kRunParameters;  // as the job fits them
    job.spec.requests.push_back(std::move(request).value());
  }
  job.spec.sweep = true;  // rows aggregate each run over the seeds
  return Status::OK();
}

}  // namespace crpsgd::cli
