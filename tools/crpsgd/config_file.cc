#include "config_file.h"

#include <filesystem>

#include <toml++/toml.h>

#include "arguments.h"
#include "crpsgd/metrics.h"

namespace crpsgd::cli {
namespace {

bool IsFlag(const CLI::Option& option) { return option.get_expected_max() == 0; }
bool IsRepeatable(const CLI::Option& option) { return option.get_expected_max() > 1; }
// A flag of more than two states (--standardize: auto, yes, no): written as its word, its default a word too.
bool IsWordFlag(const CLI::Option& option) { return IsFlag(option) && !option.get_default_str().empty(); }

// True when the arguments set `option` themselves (long or short name).
bool SetOnCommandLine(const CLI::Option& option, const std::vector<std::string>& args) {
  for (const std::string& arg : args) {
    if (arg.size() < 2 || arg[0] != '-') continue;
    const std::string name = arg.substr(0, arg.find('='));
    if (option.check_name(name)) return true;
  }
  return false;
}

std::string Where(const std::string& file, const toml::source_region& source) {
  return file + ":" + std::to_string(source.begin.line);
}

// One TOML scalar as the text a flag takes.
Result<std::string> ScalarText(const toml::node& node, const std::string& where, const std::string& key) {
  if (const auto* s = node.as_string()) return s->get();
  if (const auto* i = node.as_integer()) return std::to_string(i->get());
  if (const auto* d = node.as_floating_point()) return ExactNumber(d->get());
  return Status::InvalidArgument(where + ": " + key + " must be a string or a number");
}

}  // namespace

Result<std::vector<std::string>> ExpandConfigFile(const CLI::App& subcommand, const std::vector<std::string>& args,
                                                  std::map<std::string, std::string>* origins) {
  std::vector<std::string> rest;
  std::string file;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--config" && i + 1 < args.size()) {
      if (!file.empty()) return Status::InvalidArgument("--config is given twice");
      file = args[++i];
    } else if (args[i].rfind("--config=", 0) == 0) {
      if (!file.empty()) return Status::InvalidArgument("--config is given twice");
      file = args[i].substr(9);
    } else {
      rest.push_back(args[i]);
    }
  }
  if (file.empty()) return args;

  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec)) return Status::NotFound(file + ": no such file (--config)");
  toml::table table;
  try {
    table = toml::parse_file(file);
  } catch (const toml::parse_error& e) {
    return Status::Corruption(Where(file, e.source()) + ": not valid TOML: " + std::string(e.description()));
  }
  std::vector<std::string> expanded;
  for (const auto& [toml_key, node] : table) {
    const std::string where = Where(file, toml_key.source());
    std::string key(toml_key.str());
    if (node.is_table()) {
      return Status::InvalidArgument(where + ": [" + key +
                                     "]: sections are not used; write the flags as key = value "
                                     "at the top of the file");
    }
    key = WithHyphens(std::move(key));
    const CLI::Option* option = subcommand.get_option_no_throw("--" + key);
    if (option == nullptr || key == "config" || key == "help" || key == "version") {
      std::vector<std::string> keys;
      for (const CLI::Option* known : subcommand.get_options()) {
        for (const std::string& name : known->get_lnames()) {
          if (name != "config" && name != "help" && name != "version") keys.push_back(name);
        }
      }
      const std::string nearest = NearestName(key, keys);
      return Status::InvalidArgument(where + ": unknown key \"" + std::string(toml_key.str()) +
                                     "\": not a flag of crpsgd " + subcommand.get_name() +
                                     (nearest.empty() ? "" : " (did you mean " + nearest + "?)") + " (see crpsgd " +
                                     subcommand.get_name() + " --help)");
    }
    if (SetOnCommandLine(*option, rest)) continue;  // the command line wins
    const std::string flag = "--" + key;
    if (origins != nullptr) (*origins)[flag] = where;
    if (IsFlag(*option)) {
      if (const auto* word = node.as_string(); word != nullptr && IsWordFlag(*option)) {
        expanded.push_back(flag + "=" + word->get());
        continue;
      }
      const auto* value = node.as_boolean();
      if (value == nullptr) return Status::InvalidArgument(where + ": " + key + " is a flag: write true or false");
      if (value->get()) expanded.push_back(flag);
    } else if (const auto* array = node.as_array()) {
      if (!IsRepeatable(*option)) {
        return Status::InvalidArgument(where + ": " + key + " takes one value, not a list");
      }
      for (const toml::node& item : *array) {
        CRPSGD_ASSIGN_OR_RETURN(std::string text, ScalarText(item, where, key));
        expanded.push_back(flag);
        expanded.push_back(std::move(text));
      }
    } else {
      CRPSGD_ASSIGN_OR_RETURN(std::string text, ScalarText(node, where, key));
      expanded.push_back(flag);
      expanded.push_back(std::move(text));
    }
  }
  expanded.insert(expanded.end(), rest.begin(), rest.end());
  return expanded;
}

}  // namespace crpsgd::cli
