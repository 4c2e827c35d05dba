// The fuzz harnesses' shared helper: the readers take paths, so each input is
// written to a file of this process first.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

namespace crpsgd::fuzz {

inline std::filesystem::path WriteInput(const std::string& suffix, const std::uint8_t* data, std::size_t size) {
  const std::filesystem::path path =
      std::filesystem::temp_directory_path() / ("crpsgd-fuzz-" + std::to_string(::getpid()) + suffix);
  std::ofstream(path, std::ios::binary | std::ios::trunc)
      .write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  return path;
}

}  // namespace crpsgd::fuzz
