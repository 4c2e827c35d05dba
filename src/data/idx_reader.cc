// IDX reader (the MNIST family's format), plain or gzip-compressed.
//
// Header: two zero bytes, a type byte (0x08 = unsigned byte), the number of
// dimensions, then each dimension as a big-endian uint32. Sizes claimed by the
// header are checked against a limit before anything is allocated, and the
// data must be exactly as long as the header says.
#include <zlib.h>

#include <array>
#include <memory>

#include "crpsgd/dataset.h"

namespace crpsgd {
namespace {

constexpr std::uint64_t kMaxIdxBytes = std::uint64_t{1} << 34;  // 16 GiB: far beyond any real IDX file

struct GzCloser {
  void operator()(gzFile f) const { gzclose(f); }
};
using GzFile = std::unique_ptr<gzFile_s, GzCloser>;

struct IdxArray {
  std::vector<std::uint32_t> dims;
  std::vector<std::uint8_t> bytes;
};

// Reads exactly `n` bytes; false on a short read.
bool ReadExactly(gzFile f, void* out, std::uint64_t n) {
  auto* p = static_cast<unsigned char*>(out);
  while (n > 0) {
    const unsigned chunk = static_cast<unsigned>(std::min<std::uint64_t>(n, 1u << 30));
    const int got = gzread(f, p, chunk);
    if (got <= 0) return false;
    p += got;
    n -= static_cast<std::uint64_t>(got);
  }
  return true;
}

Result<IdxArray> ReadIdxArray(const std::filesystem::path& path, std::size_t expected_dims) {
  const std::string name = path.string();
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return Status::NotFound(name + ": no such file");
  if (std::filesystem::is_directory(path, ec))
    return Status::InvalidArgument(name + ": is a directory, expected an IDX file");
  GzFile f(gzopen(name.c_str(), "rb"));  // zlib reads plain files transparently
  if (!f) return Status::IOError(name + ": cannot open for reading");
  std::array<unsigned char, 4> magic{};
  if (!ReadExactly(f.get(), magic.data(), 4)) return Status::Corruption(name + ": too short for an IDX header");
  if (magic[0] != 0 || magic[1] != 0) return Status::Corruption(name + ": not an IDX file (bad magic number)");
  if (magic[2] != 0x08) {
    return Status::Corruption(name + ": IDX element type " + std::to_string(magic[2]) +
                              " is not supported (expected 8, unsigned byte)");
  }
  if (magic[3] != expected_dims) {
    return Status::Corruption(name + ": has " + std::to_string(magic[3]) + " dimensions, expected " +
                              std::to_string(expected_dims));
  }
  IdxArray array;
  std::uint64_t total = 1;
  for (std::size_t d = 0; d < expected_dims; ++d) {
    std::array<unsigned char, 4> be{};
    if (!ReadExactly(f.get(), be.data(), 4)) return Status::Corruption(name + ": IDX header is truncated");
    const std::uint32_t dim = (std::uint32_t{be[0]} << 24) | (std::uint32_t{be[1]} << 16) |
                              (std::uint32_t{be[2]} << 8) | std::uint32_t{be[3]};
    if (dim == 0) return Status::Corruption(name + ": IDX dimension " + std::to_string(d) + " is zero");
    total *= dim;
    if (total > kMaxIdxBytes) {
      return Status::Corruption(name + ": IDX header claims more than " + std::to_string(kMaxIdxBytes) + " bytes");
    }
    array.dims.push_back(dim);
  }
  // Read in chunks, so that memory follows the bytes really there, not what
  // a (possibly hostile) header claims.
  constexpr std::uint64_t kChunk = std::uint64_t{1} << 20;
  while (array.bytes.size() < total) {
    const std::uint64_t before = array.bytes.size();
    const std::uint64_t take = std::min(kChunk, total - before);
    array.bytes.resize(before + take);
    if (!ReadExactly(f.get(), array.bytes.data() + before, take)) {
      return Status::Corruption(name + ": data is truncated (the header promises " + std::to_string(total) + " bytes)");
    }
  }
  unsigned char extra = 0;
  if (gzread(f.get(), &extra, 1) > 0) {
    return Status::Corruption(name + ": has bytes after the " + std::to_string(total) + " the header promises");
  }
  int zerr = 0;
  gzerror(f.get(), &zerr);
  if (zerr != Z_OK && zerr != Z_STREAM_END) return Status::Corruption(name + ": gzip stream is damaged");
  return array;
}

}  // namespace

std::filesystem::path IdxLabelsPathFor(const std::filesystem::path& images) {
  std::string file = images.filename().string();
  const auto pos = file.find("images-idx3");
  if (pos == std::string::npos) return {};
  file.replace(pos, 11, "labels-idx1");
  return images.parent_path() / file;
}

Result<Dataset> ReadIdx(const std::filesystem::path& images, const std::filesystem::path& labels,
                        const IdxOptions& options) {
  CRPSGD_ASSIGN_OR_RETURN(IdxArray image_array, ReadIdxArray(images, 3));
  CRPSGD_ASSIGN_OR_RETURN(IdxArray label_array, ReadIdxArray(labels, 1));
  const std::size_t n = image_array.dims[0];
  if (label_array.dims[0] != n) {
    return Status::Corruption(labels.string() + ": has " + std::to_string(label_array.dims[0]) + " labels but " +
                              images.string() + " has " + std::to_string(n) + " images");
  }
  if (options.positive_class >= 0 && options.positive_class == options.negative_class) {
    return Status::InvalidArgument("--positive-class and --negative-class must differ");
  }
  const std::size_t pixels = std::size_t{image_array.dims[1]} * image_array.dims[2];
  std::vector<std::size_t> keep;
  for (std::size_t i = 0; i < n; ++i) {
    const int c = label_array.bytes[i];
    if (options.positive_class >= 0 && options.negative_class >= 0 && c != options.positive_class &&
        c != options.negative_class) {
      continue;
    }
    keep.push_back(i);
  }
  if (keep.empty()) return Status::InvalidArgument(images.string() + ": no sample belongs to the classes asked for");
  Dataset data;
  data.source = images.string();
  data.image_shape = {1, image_array.dims[1], image_array.dims[2]};
  data.dense.resize(static_cast<Eigen::Index>(keep.size()), static_cast<Eigen::Index>(pixels));
  data.labels.resize(keep.size());
  for (std::size_t k = 0; k < keep.size(); ++k) {
    const std::uint8_t* src = image_array.bytes.data() + keep[k] * pixels;
    for (std::size_t p = 0; p < pixels; ++p) data.dense(k, p) = src[p] * options.scale;
    const int c = label_array.bytes[keep[k]];
    data.labels[k] = options.positive_class < 0 ? c : (c == options.positive_class ? 1.0 : -1.0);
  }
  return data;
}

}  // namespace crpsgd
