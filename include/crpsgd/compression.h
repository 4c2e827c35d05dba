// --compress: a round's message sent in fewer bytes. The backends reduce a
// compressed buffer chunk by chunk, as they reduce any other: the owner of a
// chunk decodes every worker's part, takes the mean in double in rank order,
// and encodes it again for the way back. Deterministic (the inproc and mpi
// backends agree bit for bit) and lossy: what a worker's own message loses is
// CompressionRoundTrip's difference, which error feedback carries to the next
// round (RoundExchange); the mean's second rounding is not fed back.
//  * bf16: each value as bfloat16 (the top 16 bits of its float32, rounded to
//    nearest even): 2 bytes a value, 8 significant bits.
//  * int8: blocks of up to 256 values, each a float32 scale (its largest
//    magnitude / 127) and an int8 step a value, rounded to nearest: about
//    1.016 bytes a value (0.254× float32's). A block keeps its own scale, so
//    one large entry costs precision in its block only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "crpsgd/communicator.h"
#include "crpsgd/status.h"

namespace crpsgd {

// kPowerSgd: a network's matrices as rank-R factors (PowerSGD, Vogels et
// al. 2019), the rest as it is; RoundExchange does it with two all-reduces,
// not the encoded wire below.
enum class Compression { kNone, kBf16, kInt8, kPowerSgd };

const char* CompressionName(Compression compression);  // "none", "bf16", "int8", "powersgd"
Result<Compression> ParseCompression(std::string_view name);
// --compress's text: none, bf16, int8, or powersgd:R with its rank R >= 1,
// and powersgd:R:bf16, whose factors go as bf16 (PyTorch's
// bf16_compress_wrapper around powerSGD_hook).
struct CompressionChoice {
  Compression kind = Compression::kNone;
  int rank = 0;               // powersgd's R
  bool bf16_factors = false;  // powersgd:R:bf16
};
Result<CompressionChoice> ParseCompressionChoice(std::string_view text);
// "int8", "powersgd:2", "powersgd:2:bf16"
std::string CompressionChoiceName(Compression kind, int rank, bool bf16_factors = false);

// int8 blocks of L values (1 <= L <= kInt8BlockValues): a float32 scale and L
// steps, 4 + L bytes. A message of n values takes ⌈n/256⌉ blocks of equal
// length (the last padded with at most one value a block): WireTypeOf.
constexpr std::size_t kInt8BlockValues = 256;
DataType Int8BlocksOf(std::size_t block_values);
bool IsInt8Blocks(DataType type);
std::size_t Int8BlockValuesOf(DataType type);  // L
// The wire type of a compressed message of n values: kBf16, or int8 blocks; none: kFloat64.
DataType WireTypeOf(Compression compression, std::size_t n);

// The bytes of n values encoded: EncodeValues's buffer size (none: float64's).
std::size_t EncodedBytes(Compression compression, std::size_t n);
// `values` as the wire carries them: the buffer of WireTypeOf(compression, n)
// elements, and back.
std::vector<std::byte> EncodeValues(std::span<const double> values, Compression compression);
void DecodeValues(std::span<const std::byte> wire, Compression compression, std::span<double> values);
// values <- what they become on the wire (decode(encode(values))).
void CompressionRoundTrip(std::span<double> values, Compression compression);

// The reduction of compressed chunks (every backend's): out <- the encoded
// mean of `count` elements of each source, decoded and summed in rank order.
// `out` may be sources[0].
void MeanOfEncoded(std::byte* out, std::span<const std::byte* const> sources, std::size_t count, DataType type);

}  // namespace crpsgd
