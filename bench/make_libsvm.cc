// Writes a synthetic LIBSVM file of about --gigabytes GB for the shard-memory
// benchmark: independent rows (so any byte range is a fair sample), `--nnz`
// non-zeros each (one random index in each of nnz stripes of --features),
// values 0.dddddd, labels from a hidden linear model. Seeded: the same flags
// give the same bytes.
//
//   ./build/bench/make_libsvm OUT.libsvm [--gigabytes 2] [--features 100000] [--nnz 100]
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "bench_random.h"

using crpsgd::bench::NextSplitMix;
using crpsgd::bench::NextUniform;

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: make_libsvm OUT [--gigabytes G] [--features D] [--nnz K]\n");
    return 2;
  }
  double gigabytes = 2.0;
  std::uint64_t features = 100000, nnz = 100;
  for (int i = 2; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--gigabytes"))
      gigabytes = std::atof(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--features"))
      features = std::strtoull(argv[i + 1], nullptr, 10);
    else if (!std::strcmp(argv[i], "--nnz"))
      nnz = std::strtoull(argv[i + 1], nullptr, 10);
    else {
      std::fprintf(stderr, "make_libsvm: unknown flag %s\n", argv[i]);
      return 2;
    }
  }
  if (!(gigabytes > 0) || features < 1 || nnz < 1 || nnz > features) {
    std::fprintf(stderr, "make_libsvm: need --gigabytes > 0 and 1 <= --nnz <= --features\n");
    return 2;
  }
  FILE* out = std::fopen(argv[1], "w");
  if (out == nullptr) {
    std::perror(argv[1]);
    return 1;
  }
  std::uint64_t state = 12345;
  std::vector<double> hidden(features);
  for (double& w : hidden) w = NextUniform(state) - 0.5;
  const auto target = static_cast<std::uint64_t>(gigabytes * 1e9);
  std::uint64_t written = 0;
  // Column k of a row lies in stripe k of the features (so the indices of a
  // row increase without sorting); a value is 0.dddddd.
  const std::uint64_t stripe = features / nnz;
  std::string line;
  std::vector<std::uint64_t> columns(nnz), micros(nnz);
  while (written < target) {
    double score = 0.0;
    for (std::uint64_t k = 0; k < nnz; ++k) {
      columns[k] = k * stripe + NextSplitMix(state) % stripe;
      micros[k] = NextSplitMix(state) % 1000000;
      score += hidden[columns[k]] * static_cast<double>(micros[k]) * 1e-6;
    }
    line.assign(score >= 0 ? "+1" : "-1");
    for (std::uint64_t k = 0; k < nnz; ++k) {
      line += ' ';
      line += std::to_string(columns[k] + 1);
      line += ":0.";
      const std::string digits = std::to_string(micros[k]);
      line.append(6 - digits.size(), '0');
      line += digits;
    }
    line += '\n';
    if (std::fwrite(line.data(), 1, line.size(), out) != line.size()) {
      std::perror(argv[1]);
      return 1;
    }
    written += line.size();
  }
  if (std::fclose(out) != 0) {
    std::perror(argv[1]);
    return 1;
  }
  std::printf("%llu\n", static_cast<unsigned long long>(written));
  return 0;
}
