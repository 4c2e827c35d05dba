// Tables: CSV/TSV text and NumPy .npy arrays, one sample a row.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <string_view>
#include <vector>

#include "crpsgd/dataset.h"
#include "data/file_bytes.h"

namespace crpsgd {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::string_view Unquote(std::string_view s) {
  s = Trim(s);
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
  return s;
}

bool ParseNumber(std::string_view s, double& out) {
  s = Unquote(s);
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && ptr == s.data() + s.size() && std::isfinite(out);
}

std::vector<std::string_view> SplitFields(std::string_view line, char separator) {
  std::vector<std::string_view> fields;
  std::size_t start = 0;
  for (;;) {
    const std::size_t at = line.find(separator, start);
    fields.push_back(line.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
    if (at == std::string_view::npos) return fields;
    start = at + 1;
  }
}

// The label column of `columns`: TableOptions::label_column as an index or a header's name.
Result<std::size_t> LabelColumn(const std::string& name, const std::string& spec, std::size_t columns,
                                const std::vector<std::string>& header) {
  long long index = 0;
  const auto [ptr, ec] = std::from_chars(spec.data(), spec.data() + spec.size(), index);
  if (ec == std::errc() && ptr == spec.data() + spec.size()) {
    const long long resolved = index < 0 ? static_cast<long long>(columns) + index : index;
    if (resolved < 0 || resolved >= static_cast<long long>(columns)) {
      return Status::InvalidArgument("--label-column " + spec + ": " + name + " has " + std::to_string(columns) +
                                     " columns (0.." + std::to_string(columns - 1) + ", or -1 for the last)");
    }
    return static_cast<std::size_t>(resolved);
  }
  const auto found = std::find(header.begin(), header.end(), spec);
  if (found == header.end()) {
    std::string names;
    for (const std::string& h : header) names += (names.empty() ? "" : ", ") + h;
    return Status::InvalidArgument("--label-column " + spec + ": " + name +
                                   (header.empty() ? " has no header row (give the column's index)"
                                                   : " has no column of that name (its columns: " + names + ")"));
  }
  return static_cast<std::size_t>(found - header.begin());
}

// Rows of numbers into a dense Dataset: the label column out, the rest features.
Dataset FromRows(const std::string& name, const std::vector<double>& values, std::size_t rows, std::size_t columns,
                 std::size_t label_column) {
  Dataset data;
  data.source = name;
  ResizeDense(data, rows, columns - 1);
  data.labels.resize(rows);
  for (std::size_t i = 0; i < rows; ++i) {
    const double* row = values.data() + i * columns;
    data.labels[i] = row[label_column];
    double* out = data.dense.data() + i * (columns - 1);
    for (std::size_t j = 0; j < columns; ++j) {
      if (j != label_column) *out++ = row[j];
    }
  }
  return data;
}

}  // namespace

Result<Dataset> ReadCsv(const std::filesystem::path& path, const TableOptions& options) {
  const std::string name = path.string();
  CRPSGD_ASSIGN_OR_RETURN(const std::string text, data::ReadAllBytes(path));
  if (const std::string kind = data::DescribeContent(std::string_view(text).substr(0, 512)); kind != "text") {
    return Status::InvalidArgument(name + ": looks like " + kind + ", not CSV text");
  }
  std::vector<double> values;
  std::vector<std::string> header;
  std::size_t columns = 0, rows = 0, line_no = 0;
  char separator = 0;
  std::string_view rest = text;
  while (!rest.empty()) {
    const std::size_t newline = rest.find('\n');
    const std::string_view line = Trim(rest.substr(0, newline));
    rest = newline == std::string_view::npos ? std::string_view() : rest.substr(newline + 1);
    ++line_no;
    if (line.empty() || line.front() == '#') continue;
    if (separator == 0) separator = line.find('\t') != std::string_view::npos ? '\t' : ',';
    const std::vector<std::string_view> fields = SplitFields(line, separator);
    if (columns == 0) {  // the first row: the header, unless it is all numbers
      columns = fields.size();
      if (columns < 2) {
        return Status::InvalidArgument(name + ":" + std::to_string(line_no) + ": one column only; a table needs a " +
                                       "label column and at least one feature (separated by commas or tabs)");
      }
      double unused = 0;
      if (!std::all_of(fields.begin(), fields.end(), [&](std::string_view f) { return ParseNumber(f, unused); })) {
        for (std::string_view f : fields) header.emplace_back(Unquote(f));
        continue;
      }
    }
    if (fields.size() != columns) {
      return Status::InvalidArgument(name + ":" + std::to_string(line_no) + ": " + std::to_string(fields.size()) +
                                     " fields, the first row has " + std::to_string(columns));
    }
    for (std::size_t j = 0; j < columns; ++j) {
      double v = 0;
      if (!ParseNumber(fields[j], v)) {
        const std::string field(Trim(fields[j]).substr(0, 40));
        return Status::InvalidArgument(name + ":" + std::to_string(line_no) + ": column " + std::to_string(j) +
                                       (field.empty() ? " is empty" : ": '" + field + "' is not a finite number") +
                                       " (missing values are not filled in: drop or impute them first)");
      }
      values.push_back(v);
    }
    ++rows;
  }
  if (rows == 0) return Status::InvalidArgument(name + ": has no rows of numbers");
  CRPSGD_ASSIGN_OR_RETURN(const std::size_t label, LabelColumn(name, options.label_column, columns, header));
  return FromRows(name, values, rows, columns, label);
}

Result<Dataset> ReadNpy(const std::filesystem::path& path, const TableOptions& options) {
  const std::string name = path.string();
  CRPSGD_ASSIGN_OR_RETURN(const std::string bytes, data::ReadAllBytes(path));
  const auto bad = [&](const std::string& what) { return Status::InvalidArgument(name + ": " + what); };
  const std::string_view view = bytes;
  if (view.size() < 10 || !view.starts_with("\x93NUMPY")) {
    return bad("looks like " + data::DescribeContent(std::string_view(bytes).substr(0, 512)) +
               ", not a NumPy .npy file");
  }
  const auto byte = [&](std::size_t i) { return static_cast<std::size_t>(static_cast<unsigned char>(view[i])); };
  const std::size_t major = byte(6);
  std::size_t header_length = 0, offset = 0;
  if (major == 1) {
    header_length = byte(8) | byte(9) << 8;
    offset = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) return bad("truncated .npy header");
    for (std::size_t b = 0; b < 4; ++b) header_length |= byte(8 + b) << (8 * b);
    offset = 12;
  } else {
    return bad(".npy format version " + std::to_string(major) + " is not supported (1 to 3)");
  }
  if (offset + header_length > bytes.size()) return bad("truncated .npy header");
  const std::string header = bytes.substr(offset, header_length);
  offset += header_length;
  // The header is a Python dict: {'descr': '<f8', 'fortran_order': False, 'shape': (150, 5), }
  const auto value_of = [&](const std::string& key) -> std::string {
    const std::size_t at = header.find("'" + key + "'");
    if (at == std::string::npos) return {};
    const std::size_t colon = header.find(':', at);
    return colon == std::string::npos ? std::string() : header.substr(colon + 1);
  };
  std::string descr = value_of("descr");
  const std::size_t quote = descr.find('\'');
  descr = quote == std::string::npos ? std::string() : descr.substr(quote + 1, descr.find('\'', quote + 1) - quote - 1);
  const bool fortran = Trim(value_of("fortran_order")).starts_with("True");
  const std::string shape_text = value_of("shape");
  std::vector<std::size_t> shape;
  {
    const std::size_t open = shape_text.find('('), close = shape_text.find(')');
    if (open == std::string::npos || close == std::string::npos) return bad("the .npy header has no shape");
    std::string_view dims = std::string_view(shape_text).substr(open + 1, close - open - 1);
    for (std::string_view d : SplitFields(dims, ',')) {
      d = Trim(d);
      if (d.empty()) continue;
      std::size_t n = 0;
      const auto [ptr, ec] = std::from_chars(d.data(), d.data() + d.size(), n);
      if (ec != std::errc() || ptr != d.data() + d.size())
        return bad("the .npy shape '" + shape_text + "' is not read");
      shape.push_back(n);
    }
  }
  if (shape.size() != 2) {
    return bad("a " + std::to_string(shape.size()) +
               "-D array; crpsgd reads one 2-D array [samples, columns] with the label in one column "
               "(--label-column)");
  }
  if (descr.size() < 3 || (descr[0] != '<' && descr[0] != '|' && descr[0] != '=')) {
    return bad("dtype '" + descr + "' is not supported (little-endian float or integer arrays)");
  }
  const char kind = descr[1];
  std::size_t width = 0;
  std::from_chars(descr.data() + 2, descr.data() + descr.size(), width);
  const bool known = (kind == 'f' && (width == 4 || width == 8)) ||
                     ((kind == 'i' || kind == 'u') && (width == 1 || width == 2 || width == 4 || width == 8));
  if (!known) return bad("dtype '" + descr + "' is not supported (float32/64 or integers)");
  const std::size_t rows = shape[0], columns = shape[1];
  if (columns < 2)
    return bad("a table needs a label column and at least one feature, got " + std::to_string(columns) + " column");
  if (rows == 0) return bad("has no rows");
  if (rows > (bytes.size() - offset) / columns / width || rows * columns * width != bytes.size() - offset) {
    return bad("holds " + std::to_string(bytes.size() - offset) + " bytes of data, its shape (" + std::to_string(rows) +
               ", " + std::to_string(columns) + ") needs " + std::to_string(rows * columns * width));
  }
  std::vector<double> values(rows * columns);
  const char* data = bytes.data() + offset;
  for (std::size_t i = 0; i < rows; ++i) {
    for (std::size_t j = 0; j < columns; ++j) {
      const char* p = data + width * (fortran ? j * rows + i : i * columns + j);
      double v = 0;
      if (kind == 'f' && width == 8) {
        std::memcpy(&v, p, 8);
      } else if (kind == 'f') {
        float f;
        std::memcpy(&f, p, 4);
        v = f;
      } else {
        std::uint64_t raw = 0;
        std::memcpy(&raw, p, width);  // little-endian hosts (x86-64, ARM64)
        if (kind == 'i' && width < 8 && (raw >> (8 * width - 1)) != 0) raw |= ~std::uint64_t{0} << (8 * width);
        v = kind == 'i' ? static_cast<double>(static_cast<std::int64_t>(raw)) : static_cast<double>(raw);
      }
      if (!std::isfinite(v)) {
        return bad("row " + std::to_string(i) + ", column " + std::to_string(j) +
                   " is not a finite number (NaN or infinity)");
      }
      values[i * columns + j] = v;
    }
  }
  CRPSGD_ASSIGN_OR_RETURN(const std::size_t label, LabelColumn(name, options.label_column, columns, {}));
  return FromRows(name, values, rows, columns, label);
}

}  // namespace crpsgd
