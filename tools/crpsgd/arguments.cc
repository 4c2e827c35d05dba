#include "arguments.h"

#include <algorithm>
#include <cctype>
#include <filesystem>

namespace crpsgd::cli {
namespace {

// Optimal string alignment distance: insertions, deletions, substitutions
// and swaps of two neighbours ("budgte" -> "budget" is one edit).
std::size_t EditDistance(const std::string& a, const std::string& b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.size()][b.size()];
}

std::string Quoted(const std::string& word) { return "'" + word + "'"; }

}  // namespace

std::string WithUnderscores(std::string name) {
  std::replace(name.begin(), name.end(), '-', '_');
  return name;
}

std::string WithHyphens(std::string name) {
  std::replace(name.begin(), name.end(), '_', '-');
  return name;
}

std::string NearestName(const std::string& name, const std::vector<std::string>& candidates) {
  std::string best;
  std::size_t best_distance = std::min<std::size_t>(3, std::max<std::size_t>(1, name.size() / 3)) + 1;
  for (const std::string& candidate : candidates) {
    const std::size_t distance = EditDistance(name, candidate);
    if (distance < best_distance) best = candidate, best_distance = distance;
  }
  return best;
}

std::vector<std::string> LongFlags(const CLI::App& subcommand) {
  std::vector<std::string> flags;
  for (const CLI::Option* option : subcommand.get_options()) {
    for (const std::string& name : option->get_lnames()) flags.push_back("--" + name);
  }
  return flags;
}

Status CheckArguments(const CLI::App& subcommand, const std::vector<std::string>& args) {
  const std::string command = "crpsgd " + subcommand.get_name();
  const std::vector<std::string> flags = LongFlags(subcommand);
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") break;  // CLI11's end of options
    if (arg.rfind("--", 0) == 0) {
      const std::string name = arg.substr(0, arg.find('='));
      const CLI::Option* option = subcommand.get_option_no_throw(name);
      if (option == nullptr) {
        const std::string nearest = NearestName(name, flags);
        return Status::InvalidArgument("unknown flag " + name +
                                       (nearest.empty() ? "" : " (did you mean " + nearest + "?)") + "; " + command +
                                       " --help lists every flag");
      }
      // A flag that takes a value consumes the next word, unless written
      // --flag=value; a list (--run) every word up to the next flag.
      if (option->get_expected_max() > 0 && arg.find('=') == std::string::npos) ++i;
      while (option->get_expected_max() > 1 && i + 1 < args.size() && args[i + 1].rfind("-", 0) != 0) ++i;
      continue;
    }
    if (arg.size() >= 2 && arg[0] == '-' && !std::isdigit(static_cast<unsigned char>(arg[1])) && arg[1] != '.') {
      const CLI::Option* option = subcommand.get_option_no_throw(arg.substr(0, 2));
      if (option == nullptr) {
        return Status::InvalidArgument("unknown flag " + arg + "; " + command + " --help lists every flag");
      }
      if (option->get_expected_max() > 0 && arg.size() == 2) ++i;
      continue;
    }
    // A word no flag takes: the usual slips are a data file given as in
    // liblinear-train, and a value written before its flag.
    std::error_code ec;
    if (subcommand.get_option_no_throw("--data") != nullptr && std::filesystem::exists(arg, ec)) {
      return Status::InvalidArgument("unexpected argument " + Quoted(arg) + ": to train on a file, write --data " +
                                     arg);
    }
    if (i + 1 < args.size() && args[i + 1].rfind("--", 0) == 0) {
      return Status::InvalidArgument("unexpected argument " + Quoted(arg) + " before " + args[i + 1] +
                                     ": a flag's value comes after it (" + args[i + 1] + " " + arg + ")");
    }
    return Status::InvalidArgument("unexpected argument " + Quoted(arg) + ": every setting is a --flag (" + command +
                                   " --help lists them)");
  }
  return Status::OK();
}

}  // namespace crpsgd::cli
