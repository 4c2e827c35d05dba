// A data file's bytes, plain or gzip-compressed, and what its first bytes
// look like: the readers' shared door, so that every text reader takes gzip
// and every message names a file's kind instead of printing its bytes.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

#include "crpsgd/status.h"

namespace crpsgd::data {

// True when the file starts with gzip's magic bytes (1f 8b).
bool IsGzip(const std::filesystem::path& path);

// The whole file, decompressed when it is gzip (zlib reads plain files as
// they are). Errors name the file: missing, a folder, a damaged stream.
Result<std::string> ReadAllBytes(const std::filesystem::path& path);

// Up to `n` bytes from the file's start, decompressed when it is gzip; empty
// when the file cannot be read (the reader that follows says why).
std::string Head(const std::filesystem::path& path, std::size_t n);

// What bytes that start a file look like, for messages: "a NumPy array
// (.npy)", "a zip archive (.npz, or a PyTorch file)", "an IDX file",
// "binary data", or "text".
std::string DescribeContent(std::string_view head);

}  // namespace crpsgd::data
