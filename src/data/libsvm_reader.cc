// LIBSVM / SVMlight text reader.
#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>
#include <string_view>

#include "crpsgd/dataset.h"

namespace crpsgd {
namespace {

// The model has one coordinate per feature: beyond 2^26 (512 MiB of doubles)
// an index is far more likely a damaged file than a real data set.
constexpr std::int64_t kMaxFeatureIndex = std::int64_t{1} << 26;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
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

}  // namespace

Result<Dataset> ReadLibsvm(const std::filesystem::path& path, const LibsvmOptions& options) {
  const std::string name = path.string();
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return Status::NotFound(name + ": no such file");
  if (std::filesystem::is_directory(path, ec)) return Status::InvalidArgument(name + ": is a directory, expected a LIBSVM file");
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IOError(name + ": cannot open for reading");

  std::vector<std::int64_t> outer{0};
  std::vector<std::int64_t> inner;
  std::vector<double> values;
  std::vector<double> labels;
  std::int64_t max_index = 0;
  std::string line;
  std::size_t line_no = 0;
  auto fail = [&](const std::string& what) {
    return Status::Corruption(name + ":" + std::to_string(line_no) + ": " + what);
  };
  while (std::getline(in, line)) {
    ++line_no;
    std::string_view rest(line);
    if (auto hash = rest.find('#'); hash != std::string_view::npos) rest = rest.substr(0, hash);
    rest = Trim(rest);
    if (rest.empty()) continue;

    std::size_t token_end = rest.find_first_of(" \t");
    const std::string_view label_text = rest.substr(0, token_end);
    double label = 0;
    if (!ParseDouble(label_text, label)) return fail("label '" + std::string(label_text) + "' is not a finite number");
    if (options.labels == LabelKind::kBinary) {
      if (label == 1.0) {
        label = 1.0;
      } else if (label == -1.0 || label == 0.0) {
        label = -1.0;
      } else {
        return fail("label '" + std::string(label_text) + "' is not a binary label (expected +1/-1 or 1/0)");
      }
    }
    labels.push_back(label);

    std::int64_t previous = 0;
    rest = token_end == std::string_view::npos ? std::string_view() : Trim(rest.substr(token_end));
    while (!rest.empty()) {
      token_end = rest.find_first_of(" \t");
      const std::string_view token = rest.substr(0, token_end);
      rest = token_end == std::string_view::npos ? std::string_view() : Trim(rest.substr(token_end));
      const std::size_t colon = token.find(':');
      if (colon == std::string_view::npos) return fail("'" + std::string(token) + "' is not of the form index:value");
      std::int64_t index = 0;
      if (!ParseIndex(token.substr(0, colon), index)) {
        return fail("feature index '" + std::string(token.substr(0, colon)) + "' is not an integer");
      }
      if (index < 1) return fail("feature index " + std::to_string(index) + " is below 1 (indices are 1-based)");
      if (index > kMaxFeatureIndex) {
        return fail("feature index " + std::to_string(index) + " exceeds the limit of " +
                    std::to_string(kMaxFeatureIndex) + " features");
      }
      if (index <= previous) {
        return fail("feature index " + std::to_string(index) + " does not increase (previous " + std::to_string(previous) + ")");
      }
      if (options.num_features != 0 && static_cast<std::size_t>(index) > options.num_features) {
        return fail("feature index " + std::to_string(index) + " exceeds the " + std::to_string(options.num_features) +
                    " features expected");
      }
      double value = 0;
      if (!ParseDouble(token.substr(colon + 1), value)) {
        return fail("feature value '" + std::string(token.substr(colon + 1)) + "' is not a finite number");
      }
      previous = index;
      max_index = std::max(max_index, index);
      inner.push_back(index - 1);
      values.push_back(value);
    }
    outer.push_back(static_cast<std::int64_t>(inner.size()));
  }
  if (in.bad()) return Status::IOError(name + ": read error");
  if (labels.empty()) return Status::Corruption(name + ": contains no samples");

  Dataset data;
  data.is_sparse = true;
  data.source = name;
  data.labels = std::move(labels);
  const auto cols = static_cast<Eigen::Index>(options.num_features != 0 ? options.num_features : max_index);
  data.sparse = Eigen::Map<const SparseMatrix>(static_cast<Eigen::Index>(data.labels.size()), cols,
                                               static_cast<Eigen::Index>(inner.size()), outer.data(), inner.data(),
                                               values.data());
  return data;
}

}  // namespace crpsgd
