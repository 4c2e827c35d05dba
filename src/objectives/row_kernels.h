// The inner loops of the linear models' gradients on dense rows: row · x and
// out += scale · row, for rows of double or float, with x and out in double.
//
// Two instruction sets, picked once at run time: AVX2 where the CPU has it,
// else SSE2 (every x86-64). Both compute the same bits: the dot product keeps
// eight running sums, s_l over the elements j ≡ l (mod 8), added up as
// ((s0+s1)+(s2+s3))+((s4+s5)+(s6+s7)); every product is rounded before its
// sum (no fused multiply-add); a float element is widened to double exactly.
// So results do not depend on the machine's vector width.
#pragma once

#include <cstddef>

namespace crpsgd::kernels {

enum class Isa { kSse2, kAvx2 };

// The best this CPU runs (the one the gradients use).
Isa BestIsa();
const char* IsaName(Isa isa);  // "sse2" / "avx2"

// row · x over n elements. With `next`, the row to be worked on after this
// one, it asks the memory system for the cache lines of `next` while it works
// (one line per 8 elements, into L2), so that rows sampled at random arrive
// before they are needed.
template <class Scalar>
double Dot(const Scalar* row, const double* x, std::size_t n, const Scalar* next, Isa isa = BestIsa());

// out += scale · row over n elements.
template <class Scalar>
void AddScaled(const Scalar* row, double scale, double* out, std::size_t n, Isa isa = BestIsa());

}  // namespace crpsgd::kernels
