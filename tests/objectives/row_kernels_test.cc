// The dense row kernels: AVX2 and SSE2 give the same bits, both follow the
// documented summation order, and float rows are widened exactly.
#include "objectives/row_kernels.h"

#include <cmath>
#include <vector>

#include <gtest/gtest.h>

namespace crpsgd::kernels {
namespace {

// The order row_kernels.h documents, written out one element at a time.
template <class Scalar>
double ReferenceDot(const std::vector<Scalar>& row, const std::vector<double>& x) {
  double s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  const std::size_t full = row.size() / 8 * 8;
  for (std::size_t j = 0; j < full; ++j) s[j % 8] += static_cast<double>(row[j]) * x[j];
  for (std::size_t j = full, l = 0; j < row.size(); ++j, ++l) s[l] += static_cast<double>(row[j]) * x[j];
  return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

template <class Scalar>
std::vector<Scalar> Row(std::size_t n) {
  std::vector<Scalar> row(n);
  for (std::size_t j = 0; j < n; ++j) row[j] = static_cast<Scalar>(std::sin(0.37 * static_cast<double>(j) + 1.0) * 3.1);
  return row;
}

std::vector<double> Point(std::size_t n) {
  std::vector<double> x(n);
  for (std::size_t j = 0; j < n; ++j) x[j] = std::cos(0.91 * static_cast<double>(j)) / 7.0;
  return x;
}

template <class Scalar>
void ExpectSameBitsOnEveryIsa() {
  const std::vector<Isa> isas =
      BestIsa() == Isa::kAvx2 ? std::vector<Isa>{Isa::kSse2, Isa::kAvx2} : std::vector<Isa>{Isa::kSse2};
  for (const std::size_t n : {0, 1, 7, 8, 9, 16, 63, 785}) {
    const std::vector<Scalar> row = Row<Scalar>(n), next = Row<Scalar>(n + 3);
    const std::vector<double> x = Point(n);
    const double expected = ReferenceDot(row, x);
    for (const Isa isa : isas) {
      // Bit equality, not closeness: the order is part of the contract.
      EXPECT_EQ(Dot(row.data(), x.data(), n, next.data(), isa), expected) << IsaName(isa) << " n=" << n;
      EXPECT_EQ(Dot(row.data(), x.data(), n, static_cast<const Scalar*>(nullptr), isa), expected);
      std::vector<double> out = Point(n), reference = Point(n);
      AddScaled(row.data(), -0.3, out.data(), n, isa);
      for (std::size_t j = 0; j < n; ++j) reference[j] += -0.3 * static_cast<double>(row[j]);
      EXPECT_EQ(out, reference) << IsaName(isa) << " n=" << n;
    }
  }
}

TEST(RowKernelsTest, DoubleRowsGiveTheSameBitsOnEveryInstructionSet) { ExpectSameBitsOnEveryIsa<double>(); }

TEST(RowKernelsTest, FloatRowsGiveTheSameBitsOnEveryInstructionSet) { ExpectSameBitsOnEveryIsa<float>(); }

TEST(RowKernelsTest, AFloatRowGivesTheBitsOfTheDoubleRowHoldingItsValues) {
  const std::vector<float> narrow = Row<float>(785);
  const std::vector<double> wide(narrow.begin(), narrow.end()), x = Point(785);
  EXPECT_EQ(Dot(narrow.data(), x.data(), 785, static_cast<const float*>(nullptr)),
            Dot(wide.data(), x.data(), 785, static_cast<const double*>(nullptr)));
}

}  // namespace
}  // namespace crpsgd::kernels
