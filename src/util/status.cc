#include "crpsgd/status.h"

#include <string_view>

namespace crpsgd {

const char* StatusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return "OK";
    case StatusCode::kInvalidArgument: return "Invalid argument";
    case StatusCode::kNotFound: return "Not found";
    case StatusCode::kCorruption: return "Corruption";
    case StatusCode::kIOError: return "IO error";
    case StatusCode::kUnavailable: return "Unavailable";
    case StatusCode::kDiverged: return "Diverged";
    case StatusCode::kInternal: return "Internal error";
    case StatusCode::kStopped: return "Stopped";
  }
  return "Unknown";
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  return std::string(StatusCodeName(code_)) + ": " + message_;
}

Status Status::WithContext(const std::string& context) const {
  if (ok()) return *this;
  return {code_, context + ": " + message_};
}

namespace {
constexpr std::string_view kListHead = " settings are wrong:";
constexpr std::string_view kListItem = "\n  ";
}  // namespace

void StatusList::Add(const Status& status, const std::string& context) {
  if (status.ok()) return;
  const std::string& message = status.message();
  const std::size_t head = message.find(kListHead);
  const bool is_list = head != std::string::npos && head > 0 &&
                       message.find_first_not_of("0123456789") == head;  // another list's ToStatus: flatten it
  // Each error once: two checks of one value (a flag's and the library's) say the same.
  auto add = [this](Status item) {
    for (const Status& e : errors_) {
      if (e.message() == item.message()) return;
    }
    errors_.push_back(std::move(item));
  };
  if (!is_list) {
    add(context.empty() ? status : status.WithContext(context));
    return;
  }
  for (std::size_t at = message.find(kListItem, head); at != std::string::npos;) {
    const std::size_t next = message.find(kListItem, at + kListItem.size());
    const Status item(status.code(), message.substr(at + kListItem.size(), next - at - kListItem.size()));
    add(context.empty() ? item : item.WithContext(context));
    at = next;
  }
}

Status StatusList::ToStatus() const {
  if (errors_.size() <= 1) return errors_.empty() ? Status::OK() : errors_.front();
  std::string message = std::to_string(errors_.size()) + std::string(kListHead);
  for (const Status& e : errors_) message += std::string(kListItem) + e.message();
  return {errors_.front().code(), message};
}

}  // namespace crpsgd
