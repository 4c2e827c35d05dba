#include "crpsgd/round_record.h"

namespace crpsgd {

void AlgorithmFields::Set(const std::string& name, FieldValue value) {
  for (auto& [key, held] : entries_) {
    if (key == name) {
      held = std::move(value);
      return;
    }
  }
  entries_.emplace_back(name, std::move(value));
}

const FieldValue* AlgorithmFields::Find(std::string_view name) const {
  for (const auto& [key, value] : entries_) {
    if (key == name) return &value;
  }
  return nullptr;
}

std::optional<double> AlgorithmFields::Number(std::string_view name) const {
  const FieldValue* value = Find(name);
  if (value == nullptr) return std::nullopt;
  if (const auto* count = std::get_if<std::uint64_t>(value)) return static_cast<double>(*count);
  if (const auto* number = std::get_if<double>(value)) return *number;
  return std::nullopt;
}

FieldValue AlgorithmFields::ValueOr(std::string_view name, FieldValue otherwise) const {
  const FieldValue* value = Find(name);
  return value != nullptr ? *value : otherwise;
}

}  // namespace crpsgd
