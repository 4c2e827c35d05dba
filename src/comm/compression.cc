#include "crpsgd/compression.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <string>

#include "crpsgd/enum_table.h"
#include "util/check.h"

namespace crpsgd {
namespace {

std::uint16_t ToBf16(float value) {
  std::uint32_t bits = 0;
  std::memcpy(&bits, &value, sizeof bits);
  bits += 0x7FFFu + ((bits >> 16) & 1u);  // round to nearest, ties to even
  return static_cast<std::uint16_t>(bits >> 16);
}

float FromBf16(std::uint16_t half) {
  const std::uint32_t bits = static_cast<std::uint32_t>(half) << 16;
  float value = 0.0F;
  std::memcpy(&value, &bits, sizeof value);
  return value;
}

// One int8 block of `length` steps holding `count` <= length values (the rest zeros).
void EncodeBlock(const double* values, std::size_t count, std::size_t length, std::byte* block) {
  double largest = 0.0;
  for (std::size_t i = 0; i < count; ++i) largest = std::max(largest, std::abs(values[i]));
  const auto scale = static_cast<float>(largest / 127.0);
  std::memcpy(block, &scale, sizeof scale);
  auto* steps = reinterpret_cast<std::int8_t*>(block + sizeof scale);
  for (std::size_t i = 0; i < length; ++i) {
    const double step = (i < count && scale > 0.0F) ? std::nearbyint(values[i] / static_cast<double>(scale)) : 0.0;
    steps[i] = static_cast<std::int8_t>(std::clamp(step, -127.0, 127.0));
  }
}

void DecodeBlock(const std::byte* block, double* values, std::size_t count) {
  float scale = 0.0F;
  std::memcpy(&scale, block, sizeof scale);
  const auto* steps = reinterpret_cast<const std::int8_t*>(block + sizeof scale);
  for (std::size_t i = 0; i < count; ++i) values[i] = static_cast<double>(steps[i]) * static_cast<double>(scale);
}

}  // namespace

constexpr EnumTable<Compression, 4> kCompressions{{{{Compression::kNone, "none"},
                                                    {Compression::kBf16, "bf16"},
                                                    {Compression::kInt8, "int8"},
                                                    {Compression::kPowerSgd, "powersgd"}}}};

const char* CompressionName(Compression compression) { return kCompressions.Name(compression); }

Result<Compression> ParseCompression(std::string_view name) { return kCompressions.Parse(name, "--compress"); }

Result<CompressionChoice> ParseCompressionChoice(std::string_view text) {
  const auto bad = [&] {
    return Status::InvalidArgument(
        "--compress must be none, bf16, int8, powersgd:R or powersgd:R:bf16 (R >= 1, the rank), got '" +
        std::string(text) + "'");
  };
  CompressionChoice choice;
  const std::size_t colon = text.find(':');
  const Result<Compression> kind = ParseCompression(text.substr(0, colon));
  if (!kind.ok() || (*kind == Compression::kPowerSgd) != (colon != std::string_view::npos)) return bad();
  choice.kind = *kind;
  if (choice.kind == Compression::kPowerSgd) {
    std::string_view digits = text.substr(colon + 1);
    const std::size_t wire = digits.find(':');
    if (wire != std::string_view::npos) {
      if (digits.substr(wire + 1) != "bf16") return bad();
      choice.bf16_factors = true;
      digits = digits.substr(0, wire);
    }
    if (digits.empty() || digits.size() > 4 || digits.find_first_not_of("0123456789") != std::string_view::npos) {
      return bad();
    }
    choice.rank = std::stoi(std::string(digits));
    if (choice.rank < 1) return bad();
  }
  return choice;
}

std::string CompressionChoiceName(Compression kind, int rank, bool bf16_factors) {
  std::string name = CompressionName(kind);
  if (kind == Compression::kPowerSgd) name.append(":").append(std::to_string(rank));
  if (kind == Compression::kPowerSgd && bf16_factors) name.append(":bf16");
  return name;
}

DataType Int8BlocksOf(std::size_t block_values) {
  CRPSGD_CHECK(block_values >= 1 && block_values <= kInt8BlockValues);
  return static_cast<DataType>(static_cast<std::uint32_t>(DataType::kInt8Blocks) + block_values);
}

bool IsInt8Blocks(DataType type) {
  const auto base = static_cast<std::uint32_t>(DataType::kInt8Blocks), t = static_cast<std::uint32_t>(type);
  return t > base && t <= base + kInt8BlockValues;
}

std::size_t Int8BlockValuesOf(DataType type) {
  return static_cast<std::size_t>(type) - static_cast<std::size_t>(DataType::kInt8Blocks);
}

DataType WireTypeOf(Compression compression, std::size_t n) {
  switch (compression) {
    case Compression::kBf16: return DataType::kBf16;
    case Compression::kInt8: {
      const std::size_t blocks = std::max<std::size_t>(1, (n + kInt8BlockValues - 1) / kInt8BlockValues);
      return Int8BlocksOf(std::max<std::size_t>(1, (n + blocks - 1) / blocks));
    }
    case Compression::kNone:
    case Compression::kPowerSgd: break;  // not a wire of its own (RoundExchange)
  }
  return DataType::kFloat64;
}

std::size_t EncodedBytes(Compression compression, std::size_t n) {
  if (compression == Compression::kBf16) return n * sizeof(std::uint16_t);
  if (compression != Compression::kInt8) return n * sizeof(double);
  const std::size_t length = Int8BlockValuesOf(WireTypeOf(compression, n));
  return std::max<std::size_t>(1, (n + length - 1) / length) * (sizeof(float) + length);
}

std::vector<std::byte> EncodeValues(std::span<const double> values, Compression compression) {
  std::vector<std::byte> wire(EncodedBytes(compression, values.size()));
  if (compression == Compression::kBf16) {
    for (std::size_t i = 0; i < values.size(); ++i) {
      const std::uint16_t half = ToBf16(static_cast<float>(values[i]));
      std::memcpy(wire.data() + i * sizeof half, &half, sizeof half);
    }
  } else if (compression == Compression::kInt8) {
    const std::size_t length = Int8BlockValuesOf(WireTypeOf(compression, values.size()));
    const std::size_t block_bytes = sizeof(float) + length;
    const std::size_t blocks = wire.size() / block_bytes;
    for (std::size_t b = 0; b < blocks; ++b) {
      const std::size_t first = std::min(b * length, values.size());
      EncodeBlock(values.data() + first, std::min(length, values.size() - first), length,
                  wire.data() + b * block_bytes);
    }
  } else {
    std::memcpy(wire.data(), values.data(), values.size_bytes());
  }
  return wire;
}

void DecodeValues(std::span<const std::byte> wire, Compression compression, std::span<double> values) {
  if (compression == Compression::kBf16) {
    for (std::size_t i = 0; i < values.size(); ++i) {
      std::uint16_t half = 0;
      std::memcpy(&half, wire.data() + i * sizeof half, sizeof half);
      values[i] = FromBf16(half);
    }
  } else if (compression == Compression::kInt8) {
    const std::size_t length = Int8BlockValuesOf(WireTypeOf(compression, values.size()));
    for (std::size_t first = 0; first < values.size(); first += length) {
      DecodeBlock(wire.data() + first / length * (sizeof(float) + length), values.data() + first,
                  std::min(length, values.size() - first));
    }
  } else {
    std::memcpy(values.data(), wire.data(), values.size_bytes());
  }
}

void CompressionRoundTrip(std::span<double> values, Compression compression) {
  if (compression == Compression::kNone) return;
  DecodeValues(EncodeValues(values, compression), compression, values);
}

void MeanOfEncoded(std::byte* out, std::span<const std::byte* const> sources, std::size_t count, DataType type) {
  CRPSGD_CHECK(type == DataType::kBf16 || IsInt8Blocks(type));
  const double n = static_cast<double>(sources.size());
  if (type == DataType::kBf16) {
    for (std::size_t i = 0; i < count; ++i) {
      double sum = 0.0;
      for (const std::byte* source : sources) {
        std::uint16_t half = 0;
        std::memcpy(&half, source + i * sizeof half, sizeof half);
        sum += FromBf16(half);
      }
      const std::uint16_t mean = ToBf16(static_cast<float>(sum / n));
      std::memcpy(out + i * sizeof mean, &mean, sizeof mean);
    }
    return;
  }
  const std::size_t length = Int8BlockValuesOf(type), block_bytes = sizeof(float) + length;
  std::array<double, kInt8BlockValues> sum{}, part{};
  for (std::size_t b = 0; b < count; ++b) {  // count: blocks
    sum.fill(0.0);
    for (const std::byte* source : sources) {
      DecodeBlock(source + b * block_bytes, part.data(), length);
      for (std::size_t i = 0; i < length; ++i) sum[i] += part[i];
    }
    for (std::size_t i = 0; i < length; ++i) sum[i] /= n;
    EncodeBlock(sum.data(), length, length, out + b * block_bytes);  // after every source is read
  }
}

}  // namespace crpsgd
