// One table per enum: its values and their names, from which both the name of
// a value and the parser of a name (with an error that lists every name) come.
//
//   inline constexpr EnumTable<Color, 2> kColors{{{Color::kRed, "red"}, {Color::kBlue, "blue"}}};
//   kColors.Name(Color::kRed);          // "red"
//   kColors.Parse("green", "--color");  // InvalidArgument: --color must be red or blue, got 'green'
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

#include "crpsgd/status.h"

namespace crpsgd {

template <class Enum, std::size_t kSize>
struct EnumTable {
  std::array<std::pair<Enum, const char*>, kSize> entries;

  const char* Name(Enum value) const {
    for (const auto& [v, name] : entries) {
      if (v == value) return name;
    }
    return "?";
  }

  // "a, b or c": the names in table order, for messages.
  std::string Choices() const {
    std::string out;
    for (std::size_t i = 0; i < kSize; ++i) {
      if (i > 0) out += i + 1 == kSize ? " or " : ", ";
      out += entries[i].second;
    }
    return out;
  }

  // The value called `name`, or InvalidArgument naming `option` and every choice.
  Result<Enum> Parse(std::string_view name, std::string_view option) const {
    for (const auto& [v, n] : entries) {
      if (name == n) return v;
    }
    return Status::InvalidArgument(std::string(option) + " must be " + Choices() + ", got '" + std::string(name) + "'");
  }
};

}  // namespace crpsgd
