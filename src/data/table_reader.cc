// Tables: CSV/TSV text and NumPy .npy arrays, one sample a row.
#include <zlib.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <map>
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

namespace {

// One NumPy array: its shape and its values as doubles, in C order.
struct NpyArray {
  std::vector<std::size_t> shape;
  std::vector<double> values;
};

// What a .npy header says: the shape, the dtype (kind 'f', 'i' or 'u' and
// width in bytes), the order, and where the data start.
struct NpyHeader {
  std::vector<std::size_t> shape;
  char kind = 'f';
  std::size_t width = 8;
  bool fortran = false;
  std::size_t data_offset = 0;
};

Status NpyError(const std::string& name, const std::string& what) {
  return Status::InvalidArgument(name + ": " + what);
}

// The header dict's text, after the magic and the version's length field.
Result<std::string> NpyHeaderText(const std::string& name, std::string_view view, std::size_t& offset) {
  if (view.size() < 10 || !view.starts_with("\x93NUMPY")) {
    return NpyError(name, "looks like " + data::DescribeContent(view.substr(0, 512)) + ", not a NumPy .npy file");
  }
  const auto byte = [&](std::size_t i) { return static_cast<std::size_t>(static_cast<unsigned char>(view[i])); };
  const std::size_t major = byte(6);
  std::size_t header_length = 0;
  if (major == 1) {
    header_length = byte(8) | byte(9) << 8;
    offset = 10;
  } else if (major == 2 || major == 3) {
    if (view.size() < 12) return NpyError(name, "truncated .npy header");
    for (std::size_t b = 0; b < 4; ++b) header_length |= byte(8 + b) << (8 * b);
    offset = 12;
  } else {
    return NpyError(name, ".npy format version " + std::to_string(major) + " is not supported (1 to 3)");
  }
  if (header_length > view.size() - offset) return NpyError(name, "truncated .npy header");
  std::string header(view.substr(offset, header_length));
  offset += header_length;
  return header;
}

// The header is a Python dict: {'descr': '<f8', 'fortran_order': False, 'shape': (150, 5), }
Result<NpyHeader> ParseNpyHeader(const std::string& name, std::string_view view) {
  NpyHeader parsed;
  CRPSGD_ASSIGN_OR_RETURN(const std::string header, NpyHeaderText(name, view, parsed.data_offset));
  const auto value_of = [&](const std::string& key) -> std::string {
    const std::size_t at = header.find("'" + key + "'");
    if (at == std::string::npos) return {};
    const std::size_t colon = header.find(':', at);
    return colon == std::string::npos ? std::string() : header.substr(colon + 1);
  };
  std::string descr = value_of("descr");
  const std::size_t quote = descr.find('\'');
  descr = quote == std::string::npos ? std::string() : descr.substr(quote + 1, descr.find('\'', quote + 1) - quote - 1);
  parsed.fortran = Trim(value_of("fortran_order")).starts_with("True");
  const std::string shape_text = value_of("shape");
  const std::size_t open = shape_text.find('('), close = shape_text.find(')');
  if (open == std::string::npos || close == std::string::npos || close < open) {
    return NpyError(name, "the .npy header has no shape");
  }
  for (std::string_view d : SplitFields(std::string_view(shape_text).substr(open + 1, close - open - 1), ',')) {
    d = Trim(d);
    if (d.empty()) continue;
    std::size_t n = 0;
    const auto [ptr, ec] = std::from_chars(d.data(), d.data() + d.size(), n);
    if (ec != std::errc() || ptr != d.data() + d.size()) {
      return NpyError(name, "the .npy shape '" + shape_text + "' is not read");
    }
    parsed.shape.push_back(n);
  }
  if (descr.size() < 3 || (descr[0] != '<' && descr[0] != '|' && descr[0] != '=')) {
    return NpyError(name, "dtype '" + descr + "' is not supported (little-endian float or integer arrays)");
  }
  parsed.kind = descr[1];
  parsed.width = 0;
  std::from_chars(descr.data() + 2, descr.data() + descr.size(), parsed.width);
  const std::size_t w = parsed.width;
  const bool known = (parsed.kind == 'f' && (w == 4 || w == 8)) ||
                     ((parsed.kind == 'i' || parsed.kind == 'u') && (w == 1 || w == 2 || w == 4 || w == 8));
  if (!known) return NpyError(name, "dtype '" + descr + "' is not supported (float32/64 or integers)");
  return parsed;
}

// The number of elements the shape holds, checked against the bytes there are.
Result<std::size_t> NpyElementCount(const std::string& name, const NpyHeader& header, std::size_t data_bytes) {
  const std::size_t available = data_bytes / header.width;
  std::size_t count = 1;
  for (std::size_t n : header.shape) {
    if (n != 0 && count > available / n)
      count = available + 1;  // more than the file holds: no overflow
    else
      count *= n;
  }
  if (count * header.width != data_bytes) {
    std::string shape;
    for (std::size_t n : header.shape) shape += (shape.empty() ? "" : ", ") + std::to_string(n);
    return NpyError(name, "holds " + std::to_string(data_bytes) + " bytes of data, its shape (" + shape + ") needs " +
                              (count > available ? std::string("more") : std::to_string(count * header.width)));
  }
  return count;
}

// One element at `p` as a double.
double NpyValue(const char* p, char kind, std::size_t width) {
  if (kind == 'f' && width == 8) {
    double v = 0;
    std::memcpy(&v, p, 8);
    return v;
  }
  if (kind == 'f') {
    float f;
    std::memcpy(&f, p, 4);
    return f;
  }
  std::uint64_t raw = 0;
  std::memcpy(&raw, p, width);  // little-endian hosts (x86-64, ARM64)
  if (kind == 'i' && width < 8 && (raw >> (8 * width - 1)) != 0) raw |= ~std::uint64_t{0} << (8 * width);
  return kind == 'i' ? static_cast<double>(static_cast<std::int64_t>(raw)) : static_cast<double>(raw);
}

// A .npy file's bytes (`name` for messages): version 1 to 3, little-endian
// float or integer dtypes, C or Fortran order.
Result<NpyArray> ParseNpy(const std::string& name, std::string_view view) {
  CRPSGD_ASSIGN_OR_RETURN(const NpyHeader header, ParseNpyHeader(name, view));
  CRPSGD_ASSIGN_OR_RETURN(const std::size_t count, NpyElementCount(name, header, view.size() - header.data_offset));
  // Fortran order of a 2-D array: column by column; other ranks are read in C order only.
  if (header.fortran && header.shape.size() > 2)
    return NpyError(name, "a Fortran-order array of more than 2 dimensions");
  NpyArray array;
  array.shape = header.shape;
  array.values.resize(count);
  const char* data = view.data() + header.data_offset;
  const std::size_t rows = array.shape.empty() ? 1 : array.shape[0];
  const std::size_t columns = rows == 0 ? 0 : count / rows;
  for (std::size_t k = 0; k < count; ++k) {
    const std::size_t i = k / std::max<std::size_t>(1, columns), j = k % std::max<std::size_t>(1, columns);
    const double v = NpyValue(data + header.width * (header.fortran ? j * rows + i : k), header.kind, header.width);
    if (!std::isfinite(v)) {
      return NpyError(name, "element " + std::to_string(k) + " (row " + std::to_string(i) + ") is not a finite number");
    }
    array.values[k] = v;
  }
  return array;
}

std::uint64_t Little(std::string_view bytes, std::size_t at, std::size_t width) {
  std::uint64_t v = 0;
  for (std::size_t b = 0; b < width; ++b) v |= std::uint64_t{static_cast<unsigned char>(bytes[at + b])} << (8 * b);
  return v;
}

// The members of a zip archive (np.savez, stored or deflated; zip64 too):
// name -> uncompressed bytes.
Result<std::map<std::string, std::string>> Unzip(const std::string& name, std::string_view zip) {
  const auto bad = [&](const std::string& what) { return Status::InvalidArgument(name + ": " + what); };
  // The end-of-central-directory record, within the last 64 KiB + 22 bytes.
  std::size_t eocd = std::string_view::npos;
  for (std::size_t at = zip.size() >= 22 ? zip.size() - 22 : std::string_view::npos;
       at != std::string_view::npos && zip.size() - at <= 65557; at = at == 0 ? std::string_view::npos : at - 1) {
    if (zip.substr(at, 4) == std::string_view("PK\x05\x06", 4)) {
      eocd = at;
      break;
    }
  }
  if (eocd == std::string_view::npos) return bad("a damaged zip archive (no central directory)");
  std::uint64_t entries = Little(zip, eocd + 10, 2), directory = Little(zip, eocd + 16, 4);
  if ((entries == 0xffff || directory == 0xffffffff) && eocd >= 20 &&
      zip.substr(eocd - 20, 4) == std::string_view("PK\x06\x07", 4)) {  // zip64
    const std::uint64_t record = Little(zip, eocd - 20 + 8, 8);
    if (record > zip.size() - 56 || zip.substr(record, 4) != std::string_view("PK\x06\x06", 4)) {
      return bad("a damaged zip64 archive");
    }
    entries = Little(zip, record + 32, 8);
    directory = Little(zip, record + 48, 8);
  }
  std::map<std::string, std::string> members;
  std::uint64_t at = directory;
  for (std::uint64_t e = 0; e < entries; ++e) {
    if (at > zip.size() || zip.size() - at < 46 || zip.substr(at, 4) != std::string_view("PK\x01\x02", 4)) {
      return bad("a damaged zip archive (central directory)");
    }
    const std::uint64_t method = Little(zip, at + 10, 2), name_length = Little(zip, at + 28, 2),
                        extra_length = Little(zip, at + 30, 2), comment_length = Little(zip, at + 32, 2);
    std::uint64_t compressed = Little(zip, at + 20, 4), size = Little(zip, at + 24, 4), local = Little(zip, at + 42, 4);
    if (zip.size() - at - 46 < name_length + extra_length) return bad("a damaged zip archive (file name)");
    const std::string member(zip.substr(at + 46, name_length));
    // zip64: the sizes and offset that do not fit 32 bits follow in extra field 1.
    for (std::uint64_t x = at + 46 + name_length; x + 4 <= at + 46 + name_length + extra_length;) {
      const std::uint64_t id = Little(zip, x, 2), length = Little(zip, x + 2, 2);
      std::uint64_t field = x + 4;
      if (id == 1) {
        for (std::uint64_t* value : {&size, &compressed, &local}) {
          if (*value == 0xffffffff && field + 8 <= x + 4 + length && field + 8 <= zip.size()) {
            *value = Little(zip, field, 8);
            field += 8;
          }
        }
      }
      x += 4 + length;
    }
    at += 46 + name_length + extra_length + comment_length;
    if (local > zip.size() || zip.size() - local < 30 || zip.substr(local, 4) != std::string_view("PK\x03\x04", 4)) {
      return bad("a damaged zip archive (" + member + ")");
    }
    const std::uint64_t begin = local + 30 + Little(zip, local + 26, 2) + Little(zip, local + 28, 2);
    if (begin > zip.size() || compressed > zip.size() - begin) return bad("a truncated zip archive (" + member + ")");
    const std::string_view packed = zip.substr(begin, compressed);
    if (size > (std::uint64_t{1} << 36)) return bad(member + ": too large (" + std::to_string(size) + " bytes)");
    std::string bytes(size, '\0');
    if (method == 0) {
      if (compressed != size) return bad("a damaged zip archive (" + member + ")");
      bytes.assign(packed);
    } else if (method == 8) {  // deflate, raw
      z_stream z{};
      if (inflateInit2(&z, -MAX_WBITS) != Z_OK) return Status::Internal("zlib: inflateInit2 failed");
      z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(packed.data()));
      z.avail_in = static_cast<uInt>(packed.size());
      z.next_out = reinterpret_cast<Bytef*>(bytes.data());
      z.avail_out = static_cast<uInt>(bytes.size());
      const int done = inflate(&z, Z_FINISH);
      const bool whole = done == Z_STREAM_END && z.total_out == size;
      inflateEnd(&z);
      if (!whole) return bad("a damaged compressed member (" + member + ")");
    } else {
      return bad(member + ": zip compression method " + std::to_string(method) +
                 " is not supported (stored or "
                 "deflate, as numpy.savez and savez_compressed write)");
    }
    members[member] = std::move(bytes);
  }
  return members;
}

}  // namespace

Result<Dataset> ReadNpy(const std::filesystem::path& path, const TableOptions& options) {
  const std::string name = path.string();
  CRPSGD_ASSIGN_OR_RETURN(const std::string bytes, data::ReadAllBytes(path));
  CRPSGD_ASSIGN_OR_RETURN(const NpyArray array, ParseNpy(name, bytes));
  if (array.shape.size() != 2) {
    return Status::InvalidArgument(name + ": a " + std::to_string(array.shape.size()) +
                                   "-D array; crpsgd reads one 2-D array [samples, columns] with the label in one "
                                   "column (--label-column), or an .npz with arrays x and y");
  }
  const std::size_t rows = array.shape[0], columns = array.shape[1];
  if (columns < 2) {
    return Status::InvalidArgument(name + ": a table needs a label column and at least one feature, got " +
                                   std::to_string(columns) + " column");
  }
  if (rows == 0) return Status::InvalidArgument(name + ": has no rows");
  CRPSGD_ASSIGN_OR_RETURN(const std::size_t label, LabelColumn(name, options.label_column, columns, {}));
  return FromRows(name, array.values, rows, columns, label);
}

Result<Dataset> ReadNpz(const std::filesystem::path& path) {
  const std::string name = path.string();
  CRPSGD_ASSIGN_OR_RETURN(const std::string bytes, data::ReadAllBytes(path));
  if (!std::string_view(bytes).starts_with(std::string_view("PK\x03\x04", 4))) {
    return Status::InvalidArgument(name + ": looks like " +
                                   data::DescribeContent(std::string_view(bytes).substr(0, 512)) +
                                   ", not a NumPy .npz archive");
  }
  CRPSGD_ASSIGN_OR_RETURN(const auto members, Unzip(name, bytes));
  const auto x_entry = members.find("x.npy"), y_entry = members.find("y.npy");
  if (x_entry == members.end() || y_entry == members.end()) {
    std::string names;
    for (const auto& [member, unused] : members) names += (names.empty() ? "" : ", ") + member;
    return Status::InvalidArgument(name + ": an .npz needs arrays x and y (np.savez(FILE, x=X, y=Y)); it has " +
                                   (names.empty() ? std::string("none") : names));
  }
  CRPSGD_ASSIGN_OR_RETURN(const NpyArray x, ParseNpy(name + ":x", x_entry->second));
  CRPSGD_ASSIGN_OR_RETURN(const NpyArray y, ParseNpy(name + ":y", y_entry->second));
  if (x.shape.size() < 2 || x.shape.size() > 4 || x.shape[0] == 0) {
    return Status::InvalidArgument(name + ": x must be [samples, features] (or images [n, H, W], [n, C, H, W])");
  }
  if (y.shape.size() != 1 || y.shape[0] != x.shape[0]) {
    return Status::InvalidArgument(name + ": y must be [samples] with x's " + std::to_string(x.shape[0]) + " samples");
  }
  const std::size_t rows = x.shape[0], columns = x.values.size() / rows;
  Dataset data;
  data.source = name;
  ResizeDense(data, rows, columns);
  std::copy(x.values.begin(), x.values.end(), data.dense.data());
  data.labels = y.values;
  if (x.shape.size() == 3) data.image_shape = {1, x.shape[1], x.shape[2]};
  if (x.shape.size() == 4) data.image_shape = {x.shape[1], x.shape[2], x.shape[3]};
  return data;
}

}  // namespace crpsgd
