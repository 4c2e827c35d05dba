// LIBSVM / SVMlight text reader.
//
// A file (or one byte-range part of it) is read twice in large blocks: a first
// pass counts lines and colons, bounds on the samples and non-zeros, so that
// the second pass, which parses, fills arrays allocated once at their final
// size. The peak is the CSR arrays plus one copy of the indices or values
// (~24 bytes a non-zero), not a growing vector's 2x slack.
#include <algorithm>
#include <charconv>
#include <cstring>
#include <cmath>
#include <fstream>
#include <memory>
#include <sstream>
#include <string_view>

#include "crpsgd/dataset.h"
#include "data/file_bytes.h"

namespace crpsgd {
namespace {

// The model has one coordinate per feature: beyond 2^26 (512 MiB of doubles)
// an index is far more likely a damaged file than a real data set.
constexpr std::int64_t kMaxFeatureIndex = std::int64_t{1} << 26;
constexpr std::size_t kBlockBytes = std::size_t{1} << 22;  // 4 MiB reads

bool IsBlank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsBlank(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsBlank(s.back())) s.remove_suffix(1);
  return s;
}

bool ParseDouble(std::string_view s, double& out) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && ptr == s.data() + s.size() && std::isfinite(out);
}

bool ParseIndex(std::string_view s, std::int64_t& out) {
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

// Calls on_line(line) for every line of the bytes [begin, end) of `in` (the
// last one may lack its '\n'), reading in blocks; a line longer than a block
// grows the buffer. Stops early, returning false, when on_line does.
template <class OnLine>
bool ForEachLine(std::istream& in, std::uint64_t begin, std::uint64_t end, OnLine on_line) {
  std::vector<char> buffer(static_cast<std::size_t>(std::min<std::uint64_t>(kBlockBytes, end - begin)) + 1);
  in.clear();
  in.seekg(static_cast<std::streamoff>(begin));
  std::uint64_t position = begin;
  std::size_t kept = 0;  // bytes of an unfinished line at the front of buffer
  while (position < end) {
    if (kept == buffer.size()) buffer.resize(2 * buffer.size());
    const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size() - kept, end - position));
    in.read(buffer.data() + kept, static_cast<std::streamsize>(want));
    const auto got = static_cast<std::size_t>(in.gcount());
    if (got == 0) break;  // the file shrank under us; what was read is parsed
    position += got;
    const std::size_t filled = kept + got;
    std::size_t start = 0;
    for (;;) {
      const void* newline = std::memchr(buffer.data() + start, '\n', filled - start);
      if (newline == nullptr) break;
      const std::size_t stop = static_cast<const char*>(newline) - buffer.data();
      if (!on_line(std::string_view(buffer.data() + start, stop - start))) return false;
      start = stop + 1;
    }
    kept = filled - start;
    std::memmove(buffer.data(), buffer.data() + start, kept);
  }
  if (kept > 0) return on_line(std::string_view(buffer.data(), kept));
  return true;
}

// The first line start at or after `offset`: offset itself if the byte before
// it ends a line, else just past the next '\n' (or the end of the file).
std::uint64_t AlignToLineStart(std::istream& in, std::uint64_t offset, std::uint64_t size) {
  if (offset == 0 || offset >= size) return std::min(offset, size);
  std::uint64_t aligned = size;
  ForEachLine(in, offset - 1, size, [&](std::string_view line) {
    aligned = offset - 1 + line.size() + 1;
    return false;  // only the first (partial) line matters
  });
  return std::min(aligned, size);
}

// Opens `path` as LIBSVM text after the checks that name what is wrong with it:
// missing, a folder, binary, or gzip asked for in byte ranges (a stream
// cannot be split). gzip is decompressed in memory.
Result<std::unique_ptr<std::istream>> OpenLibsvm(const std::filesystem::path& path, FilePart part) {
  const std::string name = path.string();
  if (part.count < 1 || part.index < 0 || part.index >= part.count) {
    return Status::InvalidArgument(name + ": part " + std::to_string(part.index) + " of " + std::to_string(part.count) +
                                   " does not exist");
  }
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return Status::NotFound(name + ": no such file");
  if (std::filesystem::is_directory(path, ec))
    return Status::InvalidArgument(name + ": is a directory, expected a LIBSVM file");
  // A binary file gets a message naming what it looks like, not its bytes.
  if (const std::string kind = data::DescribeContent(data::Head(path, 512)); kind != "text") {
    return Status::Corruption(name + ": looks like " + kind +
                              ", not LIBSVM text (--format auto reads .npy, IDX, CIFAR-10, tensors, CSV and "
                              "LIBSVM, plain or gzip)");
  }
  std::unique_ptr<std::istream> stream;
  if (data::IsGzip(path)) {
    if (part.count > 1) {
      return Status::InvalidArgument(name +
                                     ": is gzip-compressed, which cannot be read in byte ranges: use "
                                     "--sharding random, or gunzip it");
    }
    CRPSGD_ASSIGN_OR_RETURN(std::string text, data::ReadAllBytes(path));
    stream = std::make_unique<std::istringstream>(std::move(text));
  } else {
    stream = std::make_unique<std::ifstream>(path, std::ios::binary);
  }
  if (!*stream) return Status::IOError(name + ": cannot open for reading");
  return stream;
}

// Pass 2's parser: one call a line, into CSR arrays reserved from pass 1's
// bounds. The first bad line stops it with `error` (its line number is added
// by the caller, which knows where the part starts).
class LibsvmParser {
 public:
  LibsvmParser(const LibsvmOptions& options, std::size_t lines, std::size_t nonzeros) : options_(options) {
    outer.reserve(lines + 1);
    labels.reserve(lines);
    inner.reserve(nonzeros);
    values.reserve(nonzeros);
  }

  bool operator()(std::string_view line) {
    ++line_in_part;
    std::string_view rest = line;
    if (auto hash = rest.find('#'); hash != std::string_view::npos) rest = rest.substr(0, hash);
    rest = Trim(rest);
    if (rest.empty()) return true;
    const std::size_t token_end = rest.find_first_of(" \t");
    const std::string_view label_text = rest.substr(0, token_end);
    double label = 0;
    if (!ParseDouble(label_text, label)) return Fail("label '" + std::string(label_text) + "' is not a finite number");
    if (options_.labels == LabelKind::kBinary) {
      if (label == 1.0) {
        label = 1.0;
      } else if (label == -1.0 || label == 0.0) {
        label = -1.0;
      } else {
        return Fail("label '" + std::string(label_text) + "' is not a binary label (expected +1/-1 or 1/0)");
      }
    }
    if (!ParseFeatures(token_end == std::string_view::npos ? std::string_view() : rest.substr(token_end))) return false;
    labels.push_back(label);
    outer.push_back(static_cast<std::int64_t>(inner.size()));
    return true;
  }

  std::vector<std::int64_t> outer{0};
  std::vector<std::int64_t> inner;
  std::vector<double> values, labels;
  std::int64_t max_index = 0;
  std::size_t line_in_part = 0;
  Status error;

 private:
  bool Fail(const std::string& what) {
    error = Status::Corruption(what);
    return false;
  }

  // The index:value tokens, scanned by hand: this loop is the reader's speed.
  bool ParseFeatures(std::string_view rest) {
    std::int64_t previous = 0;
    const char* p = rest.data();
    const char* const stop = p + rest.size();
    for (;;) {
      while (p < stop && IsBlank(*p)) ++p;
      if (p == stop) return true;
      const char* colon_at = nullptr;
      const char* token_stop = p;
      for (; token_stop < stop && !IsBlank(*token_stop); ++token_stop) {
        if (*token_stop == ':' && colon_at == nullptr) colon_at = token_stop;
      }
      const std::string_view token(p, static_cast<std::size_t>(token_stop - p));
      p = token_stop;
      if (colon_at == nullptr) return Fail(std::string("'").append(token).append("' is not of the form index:value"));
      const std::size_t colon = static_cast<std::size_t>(colon_at - token.data());
      std::int64_t feature = 0;
      if (!ParseIndex(token.substr(0, colon), feature)) {
        return Fail("feature index '" + std::string(token.substr(0, colon)) + "' is not an integer");
      }
      if (!CheckIndex(feature, previous)) return false;
      double value = 0;
      if (!ParseDouble(token.substr(colon + 1), value)) {
        return Fail("feature value '" + std::string(token.substr(colon + 1)) + "' is not a finite number");
      }
      previous = feature;
      max_index = std::max(max_index, feature);
      inner.push_back(feature - 1);
      values.push_back(value);
    }
  }

  bool CheckIndex(std::int64_t feature, std::int64_t previous) {
    if (feature < 1) return Fail("feature index " + std::to_string(feature) + " is below 1 (indices are 1-based)");
    if (feature > kMaxFeatureIndex) {
      return Fail("feature index " + std::to_string(feature) + " exceeds the limit of " +
                  std::to_string(kMaxFeatureIndex) + " features");
    }
    if (feature <= previous) {
      return Fail("feature index " + std::to_string(feature) + " does not increase (previous " +
                  std::to_string(previous) + ")");
    }
    if (options_.num_features != 0 && static_cast<std::size_t>(feature) > options_.num_features) {
      return Fail("feature index " + std::to_string(feature) + " exceeds the " + std::to_string(options_.num_features) +
                  " features expected");
    }
    return true;
  }

  const LibsvmOptions& options_;
};

// The parsed arrays into a Dataset, one array at a time, each freed once
// copied: the peak is the parsed arrays plus one more of indices, not two
// copies of everything.
Dataset ToDataset(LibsvmParser& parsed, const LibsvmOptions& options, const std::string& name) {
  Dataset data;
  data.is_sparse = true;
  data.source = name;
  data.labels = std::move(parsed.labels);
  const auto cols = static_cast<Eigen::Index>(options.num_features != 0 ? options.num_features : parsed.max_index);
  data.sparse.resize(static_cast<Eigen::Index>(data.labels.size()), cols);
  data.sparse.resizeNonZeros(static_cast<Eigen::Index>(parsed.inner.size()));
  std::copy(parsed.outer.begin(), parsed.outer.end(), data.sparse.outerIndexPtr());
  std::copy(parsed.inner.begin(), parsed.inner.end(), data.sparse.innerIndexPtr());
  std::vector<std::int64_t>().swap(parsed.inner);
  std::copy(parsed.values.begin(), parsed.values.end(), data.sparse.valuePtr());
  return data;
}

}  // namespace

Result<Dataset> ReadLibsvm(const std::filesystem::path& path, const LibsvmOptions& options, FilePart part) {
  const std::string name = path.string();
  CRPSGD_ASSIGN_OR_RETURN(const std::unique_ptr<std::istream> stream, OpenLibsvm(path, part));
  std::istream& in = *stream;
  in.seekg(0, std::ios::end);
  const auto size = static_cast<std::uint64_t>(std::max<std::streamoff>(in.tellg(), 0));
  const std::uint64_t count = static_cast<std::uint64_t>(part.count), index = static_cast<std::uint64_t>(part.index);
  // Part k holds the lines that start in [k·S/count, (k+1)·S/count).
  const std::uint64_t begin = AlignToLineStart(in, size / count * index + size % count * index / count, size);
  const std::uint64_t end = AlignToLineStart(in, size / count * (index + 1) + size % count * (index + 1) / count, size);

  // Pass 1: bounds on samples (lines) and non-zeros (colons, and at most one
  // per 4 bytes: " i:v" is the shortest feature).
  std::size_t lines = 0, colons = 0;
  ForEachLine(in, begin, end, [&](std::string_view line) {
    ++lines;
    colons += static_cast<std::size_t>(std::count(line.begin(), line.end(), ':'));
    return true;
  });
  if (in.bad()) return Status::IOError(name + ": read error");

  // Pass 2: parse.
  LibsvmParser parser(options, lines, std::min<std::size_t>(colons, static_cast<std::size_t>((end - begin) / 4 + 1)));
  ForEachLine(in, begin, end, [&](std::string_view line) { return parser(line); });
  if (!parser.error.ok()) {
    // The line's number in the whole file: the lines before this part, counted
    // only now that there is an error to report.
    std::size_t before = 0;
    if (begin > 0) ForEachLine(in, 0, begin, [&](std::string_view) { return ++before, true; });
    return Status::Corruption(name + ":" + std::to_string(before + parser.line_in_part) + ": " +
                              parser.error.message());
  }
  if (in.bad()) return Status::IOError(name + ": read error");
  if (parser.labels.empty() && part.count == 1) return Status::Corruption(name + ": contains no samples");
  return ToDataset(parser, options, name);
}

}  // namespace crpsgd
