// The logistic-regression batch gradient against this machine's memory read
// bandwidth. The gradient of a batch reads each sampled row once (the dot
// product; the axpy that follows finds the row still in L1), so at large
// batches it is memory-bound, and its bytes read per second should come close
// to what a plain streaming sum reads per second (STREAM-like, measured in
// the same run). Data sets are larger than the last-level cache.
//
//   ./build/bench/kernel_bench --benchmark_min_time=1
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstddef>
#include <span>
#include <vector>

#include "crpsgd/dataset.h"
#include "crpsgd/linear_models.h"
#include "bench_random.h"
#include "objectives/row_kernels.h"

namespace {

constexpr Eigen::Index kFeatures = 785;                       // Fashion-MNIST pixels and a bias
constexpr Eigen::Index kDenseRows = 1 << 16;                  // 65536 x 785 doubles = 411 MB
constexpr std::size_t kStreamDoubles = std::size_t{1} << 26;  // 512 MB

using crpsgd::bench::NextSplitMix;
using crpsgd::bench::NextUniform;

// Reads the array once per iteration with four independent sums (so the
// adds do not serialise): the read bandwidth a kernel can hope for.
void BM_StreamRead(benchmark::State& state) {
  std::vector<double> a(kStreamDoubles);
  std::uint64_t seed = 1;
  for (double& v : a) v = NextUniform(seed);
  for (auto _ : state) {
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (std::size_t i = 0; i < a.size(); i += 4) {
      s0 += a[i];
      s1 += a[i + 1];
      s2 += a[i + 2];
      s3 += a[i + 3];
    }
    benchmark::DoNotOptimize(s0 + s1 + s2 + s3);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * a.size() * sizeof(double)));
}

// Times one batch gradient an iteration as a training round computes it
// (AddGradient into a zeroed buffer, at x = 0.01), on the batches that
// next_batch() returns; counts their samples as items.
template <class NextBatch>
void TimeGradients(benchmark::State& state, const crpsgd::LinearModelObjective& f, NextBatch next_batch) {
  std::vector<double> x(f.dim(), 0.01), grad(f.dim());
  std::int64_t samples = 0;
  for (auto _ : state) {
    const std::span<const std::size_t> batch = next_batch();
    std::fill(grad.begin(), grad.end(), 0.0);
    f.AddGradient(x, batch, grad);
    benchmark::DoNotOptimize(grad.data());
    benchmark::ClobberMemory();
    samples += static_cast<std::int64_t>(batch.size());
  }
  state.SetItemsProcessed(samples);
}

// The dense data set, its features stored at `bits` (64 or 32) bits.
crpsgd::LinearModelObjective& DenseObjective(std::int64_t bits) {
  static const auto make = [](crpsgd::Precision precision) {
    crpsgd::Dataset data;
    crpsgd::ResizeDense(data, kDenseRows, kFeatures);  // as a shard is: on huge pages
    std::uint64_t seed = 2;
    for (Eigen::Index i = 0; i < data.dense.size(); ++i) data.dense.data()[i] = NextUniform(seed) - 0.5;
    for (Eigen::Index i = 0; i < kDenseRows; ++i) data.labels.push_back(NextUniform(seed) < 0.5 ? -1.0 : 1.0);
    return crpsgd::LinearModelObjective(crpsgd::Problem::kLogistic, std::move(data), 1e-4, precision);
  };
  if (bits == 32) {
    static crpsgd::LinearModelObjective f32 = make(crpsgd::Precision::kFloat32);
    return f32;
  }
  static crpsgd::LinearModelObjective f64 = make(crpsgd::Precision::kFloat64);
  return f64;
}

std::size_t BytesPerValue(std::int64_t bits) { return bits == 32 ? sizeof(float) : sizeof(double); }

std::vector<std::size_t> RandomBatch(std::size_t size, std::size_t n, std::uint64_t seed) {
  std::vector<std::size_t> batch(size);
  for (std::size_t& i : batch) i = NextSplitMix(seed) % n;
  return batch;
}

// The batch gradient of dense logistic regression, batch = state.range(0)
// samples drawn at random (with replacement) from the 411 MB data set (206 MB
// at float32), on state.range(1) threads (--threads), features of
// state.range(2) bits (--precision).
void BM_LogregGradientDense(benchmark::State& state) {
  auto& f = DenseObjective(state.range(2));
  f.set_threads(static_cast<int>(state.range(1)));
  const auto size = static_cast<std::size_t>(state.range(0));
  // A fresh batch every round, as in training: slices of one long random
  // sequence, so rows come from memory, not from a cache warmed by the last round.
  const auto draws = RandomBatch(std::max<std::size_t>(size, 1 << 18), kDenseRows, 3);
  std::size_t round = 0;
  TimeGradients(state, f, [&] { return std::span(draws).subspan((round++ * size) % (draws.size() - size + 1), size); });
  state.SetBytesProcessed(
      static_cast<std::int64_t>(state.iterations() * size * kFeatures * BytesPerValue(state.range(2))));
}

// For contrast, the same kernel over all rows in file order (a full pass, as
// an evaluation makes): the hardware prefetcher streams them, so this is what
// the arithmetic allows when memory latency is out of the way.
void BM_LogregGradientDenseInOrder(benchmark::State& state) {
  auto& f = DenseObjective(state.range(0));
  f.set_threads(1);
  std::vector<std::size_t> all(kDenseRows);
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
  TimeGradients(state, f, [&] { return std::span<const std::size_t>(all); });
  state.SetBytesProcessed(
      static_cast<std::int64_t>(state.iterations() * all.size() * kFeatures * BytesPerValue(state.range(0))));
}

// The same for a sparse data set (64 non-zeros per row of 65536 features),
// values of state.range(1) bits: bytes are the CSR values and indices of the
// sampled rows.
void BM_LogregGradientSparse(benchmark::State& state) {
  static const auto make = [](crpsgd::Precision precision) {
    constexpr Eigen::Index rows = 1 << 18, cols = 1 << 16;
    std::vector<Eigen::Triplet<double, std::int64_t>> entries;
    std::uint64_t seed = 4;
    crpsgd::Dataset data;
    data.is_sparse = true;
    for (Eigen::Index i = 0; i < rows; ++i) {
      for (int k = 0; k < 64; ++k) entries.emplace_back(i, static_cast<std::int64_t>(NextSplitMix(seed) % cols), 1.0);
      data.labels.push_back(NextUniform(seed) < 0.5 ? -1.0 : 1.0);
    }
    data.sparse.resize(rows, cols);
    data.sparse.setFromTriplets(entries.begin(), entries.end(), [](double a, double) { return a; });
    data.sparse.makeCompressed();
    return new crpsgd::LinearModelObjective(crpsgd::Problem::kLogistic, std::move(data), 1e-4, precision);
  };
  static const crpsgd::LinearModelObjective* f64 = make(crpsgd::Precision::kFloat64);
  static const crpsgd::LinearModelObjective* f32 = make(crpsgd::Precision::kFloat32);
  const crpsgd::LinearModelObjective* objective = state.range(1) == 32 ? f32 : f64;
  const auto batch = RandomBatch(static_cast<std::size_t>(state.range(0)), objective->num_samples(), 5);
  std::size_t nnz = 0;
  for (std::size_t i : batch) nnz += objective->row_nonzeros(i);
  TimeGradients(state, *objective, [&] { return std::span<const std::size_t>(batch); });
  state.SetBytesProcessed(
      static_cast<std::int64_t>(state.iterations() * nnz * (BytesPerValue(state.range(1)) + sizeof(std::int64_t))));
}

}  // namespace

// Wall-clock rates: bytes per second of real time, as a user sees them.
BENCHMARK(BM_StreamRead)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_StreamRead)->Unit(benchmark::kMillisecond)->UseRealTime()->Threads(2);  // against --threads 2
// Arguments: batch, threads, bits of a feature.
BENCHMARK(BM_LogregGradientDense)
    ->Args({256, 1, 64})
    ->Args({4096, 1, 64})
    ->Args({16384, 1, 64})
    ->Args({65536, 1, 64})
    ->Args({16384, 2, 64})
    ->Args({65536, 2, 64})
    ->Args({4096, 1, 32})
    ->Args({65536, 1, 32})
    ->Args({65536, 2, 32})
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();
BENCHMARK(BM_LogregGradientDenseInOrder)->Arg(64)->Arg(32)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_LogregGradientSparse)
    ->Args({4096, 64})
    ->Args({65536, 64})
    ->Args({4096, 32})
    ->Args({65536, 32})
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();
int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  benchmark::AddCustomContext("row_kernels", crpsgd::kernels::IsaName(crpsgd::kernels::BestIsa()));
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
