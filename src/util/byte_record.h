// Length-prefixed binary records: u64 and f64 in the machine's byte order,
// strings and vectors as a u64 length and their bytes. The checkpoint files
// and a network's saved state (ModelState::SaveState) are written with them.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace crpsgd {

class ByteWriter {
 public:
  void U64(std::uint64_t v) { out_.append(reinterpret_cast<const char*>(&v), sizeof v); }
  void F64(double v) { out_.append(reinterpret_cast<const char*>(&v), sizeof v); }
  void Str(std::string_view s) {
    U64(s.size());
    out_ += s;
  }
  void Doubles(const std::vector<double>& v) {
    U64(v.size());
    if (!v.empty()) out_.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(double));
  }
  std::string& bytes() { return out_; }

 private:
  std::string out_;
};

class ByteReader {
 public:
  explicit ByteReader(std::string_view bytes) : in_(bytes) {}
  bool ok() const { return ok_; }
  bool AtEnd() const { return at_ == in_.size(); }
  std::uint64_t U64() {
    std::uint64_t v = 0;
    Take(&v, sizeof v);
    return v;
  }
  double F64() {
    double v = 0;
    Take(&v, sizeof v);
    return v;
  }
  std::string Str() {
    const std::uint64_t n = U64();
    if (!ok_ || n > in_.size() - at_) return ok_ = false, std::string();
    std::string s(in_.substr(at_, n));
    at_ += n;
    return s;
  }
  std::vector<double> Doubles() {
    const std::uint64_t n = U64();
    if (!ok_ || n > (in_.size() - at_) / sizeof(double)) return ok_ = false, std::vector<double>();
    std::vector<double> v(n);
    Take(v.data(), n * sizeof(double));
    return v;
  }

 private:
  void Take(void* out, std::size_t n) {
    if (n == 0) return;  // an empty vector's data() may be null
    if (!ok_ || n > in_.size() - at_) {
      ok_ = false;
      return;
    }
    std::memcpy(out, in_.data() + at_, n);
    at_ += n;
  }
  std::string_view in_;
  std::size_t at_ = 0;
  bool ok_ = true;
};

}  // namespace crpsgd
