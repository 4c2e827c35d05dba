// Helpers of the CLI tests: run the built crpsgd binary (under mpirun when
// asked) and read what it wrote.
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace crpsgd::cli_testing {

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

inline CommandResult Execute(const std::string& args, const std::string& prefix = "") {
  // `timeout` turns a hang into a failure instead of a stuck test suite: below
  // ctest's 300 s, far above a run's time on a busy machine (theory-check's
  // short sweep takes 60 s alone, over 120 s beside a running experiment).
  const std::string command = prefix + "timeout 280 " + CRPSGD_BINARY + " " + args + " 2>&1";
  CommandResult run;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return run;
  std::array<char, 4096> buffer{};
  while (std::fgets(buffer.data(), buffer.size(), pipe) != nullptr) run.output += buffer.data();
  const int status = ::pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

inline std::string MpiPrefix(int ranks) {
  return std::string("OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 ") + CRPSGD_MPIEXEC + " -np " +
         std::to_string(ranks) + " --oversubscribe ";
}

inline nlohmann::json ReadJson(const std::filesystem::path& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

inline std::vector<nlohmann::json> ReadJsonLines(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::vector<nlohmann::json> lines;
  std::string line;
  while (std::getline(in, line)) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

inline std::string ReadText(const std::filesystem::path& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

inline const std::string kHeartScale = "/usr/share/doc/liblinear-tools/examples/heart_scale";

inline bool HaveLiblinear() {
  return std::filesystem::exists(kHeartScale) && std::system("command -v liblinear-predict > /dev/null") == 0;
}

}  // namespace crpsgd::cli_testing
