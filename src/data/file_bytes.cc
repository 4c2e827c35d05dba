#include "data/file_bytes.h"

#include <zlib.h>

#include <algorithm>
#include <fstream>
#include <memory>

namespace crpsgd::data {
namespace {

struct GzCloser {
  void operator()(gzFile f) const { gzclose(f); }
};
using GzFile = std::unique_ptr<gzFile_s, GzCloser>;

}  // namespace

bool IsGzip(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[2] = {0, 0};
  return in.read(magic, 2) && static_cast<unsigned char>(magic[0]) == 0x1f &&
         static_cast<unsigned char>(magic[1]) == 0x8b;
}

Result<std::string> ReadAllBytes(const std::filesystem::path& path) {
  const std::string name = path.string();
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return Status::NotFound(name + ": no such file");
  if (std::filesystem::is_directory(path, ec))
    return Status::InvalidArgument(name + ": is a directory, expected a file");
  GzFile f(gzopen(name.c_str(), "rb"));
  if (!f) return Status::IOError(name + ": cannot open for reading");
  std::string bytes;
  std::size_t size = 0;
  for (;;) {
    bytes.resize(std::max<std::size_t>(size + (std::size_t{1} << 20), 2 * size));
    const int got = gzread(f.get(), bytes.data() + size,
                           static_cast<unsigned>(std::min<std::size_t>(bytes.size() - size, std::size_t{1} << 30)));
    if (got < 0) return Status::Corruption(name + ": the gzip stream is damaged");
    if (got == 0) break;
    size += static_cast<std::size_t>(got);
  }
  int error = Z_OK;
  gzerror(f.get(), &error);
  if (error != Z_OK && error != Z_STREAM_END) return Status::Corruption(name + ": the gzip stream is damaged");
  bytes.resize(size);
  return bytes;
}

std::string Head(const std::filesystem::path& path, std::size_t n) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return {};
  GzFile f(gzopen(path.string().c_str(), "rb"));
  if (!f) return {};
  std::string head(n, '\0');
  const int got = gzread(f.get(), head.data(), static_cast<unsigned>(n));
  head.resize(got > 0 ? static_cast<std::size_t>(got) : 0);
  return head;
}

std::string DescribeContent(std::string_view head) {
  if (head.starts_with("\x93NUMPY")) return "a NumPy array (.npy)";
  if (head.starts_with("PK\x03\x04")) return "a zip archive (.npz, or a PyTorch file)";
  if (head.size() >= 4 && head[0] == 0 && head[1] == 0 && head[2] == 0x08 && head[3] >= 1 && head[3] <= 4) {
    return "an IDX file";
  }
  const bool binary = std::any_of(head.begin(), head.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u == 0 || (u < 0x20 && c != '\n' && c != '\r' && c != '\t');
  });
  return binary ? "binary data" : "text";
}

}  // namespace crpsgd::data
