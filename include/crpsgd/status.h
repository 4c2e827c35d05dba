// Status and Result<T>: errors as values at the library's edges.
//
// A Status is either OK or a code plus a one-line message that names the thing
// that was wrong and what was expected ("heart.libsvm:2: feature value 'abc' is
// not a number"). Bugs are not Statuses: they are CRPSGD_CHECK failures.
// Thread safety: plain values; copy freely.
#pragma once

#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace crpsgd {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,  // a flag, option or config value the user gave is wrong
  kNotFound,         // a file that does not exist
  kCorruption,       // a file that exists but is malformed
  kIOError,          // the OS failed a read or write
  kUnavailable,      // a peer worker died, stopped answering or aborted
  kDiverged,         // a non-finite loss, gradient or iterate
  kInternal,         // anything else; a bug if it happens
  kStopped,          // a run stopped early on purpose (its target reached): Train makes it a result
};

const char* StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status OK() { return {}; }
  static Status InvalidArgument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
  static Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
  static Status Corruption(std::string m) { return {StatusCode::kCorruption, std::move(m)}; }
  static Status IOError(std::string m) { return {StatusCode::kIOError, std::move(m)}; }
  static Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
  static Status Diverged(std::string m) { return {StatusCode::kDiverged, std::move(m)}; }
  static Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }
  static Status Stopped(std::string m) { return {StatusCode::kStopped, std::move(m)}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "Corruption: a.libsvm:3: ..." ; "OK" when ok.
  std::string ToString() const;
  // The same status with "context: " put in front of the message.
  Status WithContext(const std::string& context) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// The errors of several independent checks, reported together: none is OK,
// one is itself, more are one status (the first one's code) whose message
// counts them and gives each on its own line.
class StatusList {
 public:
  void Add(const Status& status, const std::string& context = "");  // an error already listed is not added again
  bool ok() const { return errors_.empty(); }
  Status ToStatus() const;

 private:
  std::vector<Status> errors_;
};

// A value or the Status that explains why there is none.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : data_(std::move(value)) {}         // NOLINT(google-explicit-constructor)
  Result(Status status) : data_(std::move(status)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return std::holds_alternative<T>(data_); }
  Status status() const { return ok() ? Status::OK() : std::get<Status>(data_); }
  T& value() & { return std::get<T>(data_); }
  const T& value() const& { return std::get<T>(data_); }
  T&& value() && { return std::get<T>(std::move(data_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> data_;
};

}  // namespace crpsgd

#define CRPSGD_CONCAT_INNER(a, b) a##b
#define CRPSGD_CONCAT(a, b) CRPSGD_CONCAT_INNER(a, b)

// Returns the Status of `expr` from the enclosing function if it is not OK.
#define CRPSGD_RETURN_IF_ERROR(expr)                 \
  do {                                               \
    ::crpsgd::Status crpsgd_status_ = (expr);        \
    if (!crpsgd_status_.ok()) return crpsgd_status_; \
  } while (0)

// `lhs = value of expr`, or returns its Status from the enclosing function.
#define CRPSGD_ASSIGN_OR_RETURN(lhs, expr) \
  CRPSGD_ASSIGN_OR_RETURN_IMPL(CRPSGD_CONCAT(crpsgd_result_, __LINE__), lhs, expr)
#define CRPSGD_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) return tmp.status();                \
  lhs = std::move(tmp).value()
