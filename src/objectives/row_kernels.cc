#include "objectives/row_kernels.h"

#include <cstdint>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CRPSGD_X86 1
#endif

namespace crpsgd::kernels {
namespace {

// Walks the cache lines of the next row, one request per step, from its first
// line to the one holding its last byte.
class LinePrefetcher {
 public:
  template <class Scalar>
  LinePrefetcher(const Scalar* next, std::size_t n) {
    if (next == nullptr || n == 0) return;
    const auto begin = reinterpret_cast<std::uintptr_t>(next) & ~std::uintptr_t{63};
    const auto end = reinterpret_cast<std::uintptr_t>(next + n);
    line_ = reinterpret_cast<const char*>(begin);
    end_ = reinterpret_cast<const char*>(end);
  }
  void Step() {
    if (line_ < end_) {
      __builtin_prefetch(line_, 0, 2);  // into L2: L1 keeps x and the gradient
      line_ += 64;
    }
  }
  void Finish() {
    while (line_ < end_) Step();
  }

 private:
  const char* line_ = nullptr;
  const char* end_ = nullptr;
};

double AddUp(const double s[8]) { return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7])); }

// The elements past the last multiple of 8 go to s[0], s[1], ... in order.
template <class Scalar>
double Tail(const Scalar* row, const double* x, std::size_t j, std::size_t n, double s[8]) {
  for (std::size_t l = 0; j < n; ++j, ++l) s[l] += static_cast<double>(row[j]) * x[j];
  return AddUp(s);
}

#if CRPSGD_X86
// Eight widened elements of a row as four pairs (SSE2) or two quads (AVX2).
inline void Load8(const double* row, __m128d r[4]) {
  for (int k = 0; k < 4; ++k) r[k] = _mm_loadu_pd(row + 2 * k);
}
inline void Load8(const float* row, __m128d r[4]) {
  const __m128 lo = _mm_loadu_ps(row), hi = _mm_loadu_ps(row + 4);
  r[0] = _mm_cvtps_pd(lo);
  r[1] = _mm_cvtps_pd(_mm_movehl_ps(lo, lo));
  r[2] = _mm_cvtps_pd(hi);
  r[3] = _mm_cvtps_pd(_mm_movehl_ps(hi, hi));
}

template <class Scalar>
double DotSse2(const Scalar* row, const double* x, std::size_t n, const Scalar* next) {
  LinePrefetcher prefetch(next, n);
  __m128d a[4] = {_mm_setzero_pd(), _mm_setzero_pd(), _mm_setzero_pd(), _mm_setzero_pd()};
  std::size_t j = 0;
  for (; j + 8 <= n; j += 8) {
    prefetch.Step();
    __m128d r[4];
    Load8(row + j, r);
    for (int k = 0; k < 4; ++k) a[k] = _mm_add_pd(a[k], _mm_mul_pd(r[k], _mm_loadu_pd(x + j + 2 * k)));
  }
  prefetch.Finish();
  double s[8];
  for (int k = 0; k < 4; ++k) _mm_storeu_pd(s + 2 * k, a[k]);
  return Tail(row, x, j, n, s);
}

template <class Scalar>
void AddScaledSse2(const Scalar* row, double scale, double* out, std::size_t n) {
  const __m128d c = _mm_set1_pd(scale);
  std::size_t j = 0;
  for (; j + 8 <= n; j += 8) {
    __m128d r[4];
    Load8(row + j, r);
    for (int k = 0; k < 4; ++k) {
      _mm_storeu_pd(out + j + 2 * k, _mm_add_pd(_mm_loadu_pd(out + j + 2 * k), _mm_mul_pd(c, r[k])));
    }
  }
  for (; j < n; ++j) out[j] += scale * static_cast<double>(row[j]);
}

// AVX2 without FMA (the target does not enable it): the same roundings as SSE2.
__attribute__((target("avx2"))) inline void Load8Avx(const double* row, __m256d r[2]) {
  r[0] = _mm256_loadu_pd(row);
  r[1] = _mm256_loadu_pd(row + 4);
}
__attribute__((target("avx2"))) inline void Load8Avx(const float* row, __m256d r[2]) {
  const __m256 v = _mm256_loadu_ps(row);
  r[0] = _mm256_cvtps_pd(_mm256_castps256_ps128(v));
  r[1] = _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
}

template <class Scalar>
__attribute__((target("avx2"))) double DotAvx2(const Scalar* row, const double* x, std::size_t n, const Scalar* next) {
  LinePrefetcher prefetch(next, n);
  __m256d a0 = _mm256_setzero_pd(), a1 = _mm256_setzero_pd();  // lanes s0..s3, s4..s7
  std::size_t j = 0;
  for (; j + 8 <= n; j += 8) {
    prefetch.Step();
    __m256d r[2];
    Load8Avx(row + j, r);
    a0 = _mm256_add_pd(a0, _mm256_mul_pd(r[0], _mm256_loadu_pd(x + j)));
    a1 = _mm256_add_pd(a1, _mm256_mul_pd(r[1], _mm256_loadu_pd(x + j + 4)));
  }
  prefetch.Finish();
  double s[8];
  _mm256_storeu_pd(s, a0);
  _mm256_storeu_pd(s + 4, a1);
  return Tail(row, x, j, n, s);
}

template <class Scalar>
__attribute__((target("avx2"))) void AddScaledAvx2(const Scalar* row, double scale, double* out, std::size_t n) {
  const __m256d c = _mm256_set1_pd(scale);
  std::size_t j = 0;
  for (; j + 8 <= n; j += 8) {
    __m256d r[2];
    Load8Avx(row + j, r);
    _mm256_storeu_pd(out + j, _mm256_add_pd(_mm256_loadu_pd(out + j), _mm256_mul_pd(c, r[0])));
    _mm256_storeu_pd(out + j + 4, _mm256_add_pd(_mm256_loadu_pd(out + j + 4), _mm256_mul_pd(c, r[1])));
  }
  for (; j < n; ++j) out[j] += scale * static_cast<double>(row[j]);
}
#else
// Other processors: the same order in plain C++.
template <class Scalar>
double DotSse2(const Scalar* row, const double* x, std::size_t n, const Scalar* next) {
  LinePrefetcher prefetch(next, n);
  double s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  std::size_t j = 0;
  for (; j + 8 <= n; j += 8) {
    prefetch.Step();
    for (int l = 0; l < 8; ++l) s[l] += static_cast<double>(row[j + l]) * x[j + l];
  }
  prefetch.Finish();
  return Tail(row, x, j, n, s);
}
template <class Scalar>
void AddScaledSse2(const Scalar* row, double scale, double* out, std::size_t n) {
  for (std::size_t j = 0; j < n; ++j) out[j] += scale * static_cast<double>(row[j]);
}
#endif

}  // namespace

Isa BestIsa() {
#if CRPSGD_X86
  static const Isa best = __builtin_cpu_supports("avx2") ? Isa::kAvx2 : Isa::kSse2;
  return best;
#else
  return Isa::kSse2;
#endif
}

const char* IsaName(Isa isa) { return isa == Isa::kAvx2 ? "avx2" : "sse2"; }

template <class Scalar>
double Dot(const Scalar* row, const double* x, std::size_t n, const Scalar* next, Isa isa) {
#if CRPSGD_X86
  if (isa == Isa::kAvx2) return DotAvx2(row, x, n, next);
#endif
  (void)isa;
  return DotSse2(row, x, n, next);
}

template <class Scalar>
void AddScaled(const Scalar* row, double scale, double* out, std::size_t n, Isa isa) {
#if CRPSGD_X86
  if (isa == Isa::kAvx2) return AddScaledAvx2(row, scale, out, n);
#endif
  (void)isa;
  AddScaledSse2(row, scale, out, n);
}

template double Dot<double>(const double*, const double*, std::size_t, const double*, Isa);
template double Dot<float>(const float*, const double*, std::size_t, const float*, Isa);
template void AddScaled<double>(const double*, double, double*, std::size_t, Isa);
template void AddScaled<float>(const float*, double, double*, std::size_t, Isa);

}  // namespace crpsgd::kernels
