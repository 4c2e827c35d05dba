// Every objective's gradient against central finite differences.
#include <gtest/gtest.h>

#include <thread>

#include "crpsgd/inproc.h"
#include "crpsgd/linear_models.h"
#include "testing/problems.h"

namespace crpsgd {
namespace {

using testing::AllIndices;
using testing::GradientError;

struct Case {
  Problem problem;
  bool sparse;
};

void PrintTo(const Case& c, std::ostream* os) { *os << ProblemName(c.problem) << (c.sparse ? " sparse" : " dense"); }

class LinearGradientTest : public ::testing::TestWithParam<Case> {};

std::vector<double> SomePoint(std::size_t d) {
  std::vector<double> x(d);
  for (std::size_t j = 0; j < d; ++j) x[j] = 0.3 * std::sin(1.7 * static_cast<double>(j) + 0.4);
  return x;
}

TEST_P(LinearGradientTest, MatchesFiniteDifferences) {
  const Case c = GetParam();
  Dataset data = testing::SmallDense(
      40, 6, c.problem == Problem::kLeastSquares ? SyntheticTask::kRegression : SyntheticTask::kBinary);
  if (c.sparse) data = testing::ToSparse(data);
  const LinearModelObjective f(c.problem, data, 0.05);
  const auto all = AllIndices(40);
  EXPECT_LT(GradientError(f, SomePoint(6), all), 1e-6);
  // A batch with repeats (sampling with replacement) counts each draw.
  const std::vector<std::size_t> batch = {3, 3, 17, 0};
  EXPECT_LT(GradientError(f, SomePoint(6), batch), 1e-6);
  // Far from the origin the logistic terms saturate; stays finite and exact.
  std::vector<double> far = SomePoint(6);
  for (double& v : far) v *= 200;
  std::vector<double> g(6, 0.0);
  EXPECT_TRUE(std::isfinite(f.AccumulateGradient(far, all, g)));
  for (double v : g) EXPECT_TRUE(std::isfinite(v));
}

INSTANTIATE_TEST_SUITE_P(Objectives, LinearGradientTest,
                         ::testing::Values(Case{Problem::kLogistic, false}, Case{Problem::kLogistic, true},
                                           Case{Problem::kLeastSquares, false}, Case{Problem::kLeastSquares, true},
                                           Case{Problem::kNonconvexLogistic, false},
                                           Case{Problem::kNonconvexLogistic, true}),
                         [](const auto& p) {
                           std::string name =
                               std::string(ProblemName(p.param.problem)) + (p.param.sparse ? "_sparse" : "_dense");
                           for (char& ch : name) ch = ch == '-' ? '_' : ch;
                           return name;
                         });

TEST(LinearModelTest, SparseAndDenseAgreeAndLossIsTheAverageTerm) {
  const Dataset dense = testing::SmallDense(30, 5, SyntheticTask::kBinary);
  const Dataset sparse_data = testing::ToSparse(dense);
  // Make the dense copy carry the same zeros as the sparse one.
  Dataset dense_zeros = dense;
  dense_zeros.dense = Eigen::MatrixXd(sparse_data.sparse);
  const LinearModelObjective a(Problem::kLogistic, dense_zeros, 0.1), b(Problem::kLogistic, sparse_data, 0.1);
  const auto all = AllIndices(30);
  const std::vector<double> x = {0.1, -0.2, 0.3, 0.0, 0.5};
  std::vector<double> ga(5, 0.0), gb(5, 0.0);
  EXPECT_NEAR(a.AccumulateGradient(x, all, ga), b.AccumulateGradient(x, all, gb), 1e-12);
  for (int j = 0; j < 5; ++j) EXPECT_NEAR(ga[j], gb[j], 1e-12);
  // At x = 0 every logistic term is log 2 and the regulariser is 0.
  const std::vector<double> zero(5, 0.0);
  EXPECT_NEAR(a.Loss(zero, all), 30 * std::log(2.0), 1e-12);
}

TEST(LinearModelTest, ClassifierAccuracyAndConvexity) {
  const Dataset data = testing::SmallDense(20, 3, SyntheticTask::kBinary);
  const LinearModelObjective logistic(Problem::kLogistic, data, 0.0);
  const LinearModelObjective ncvx(Problem::kNonconvexLogistic, data, 0.1);
  const LinearModelObjective ls(Problem::kLeastSquares, data, 0.0);
  EXPECT_TRUE(logistic.convex());
  EXPECT_TRUE(ls.convex());
  EXPECT_FALSE(ncvx.convex());
  EXPECT_FALSE(ls.CountCorrect(std::vector<double>(3, 0.0), AllIndices(20)).has_value());
  // x = 0 predicts +1 everywhere (score 0 >= 0).
  std::size_t positives = 0;
  for (double y : data.labels) positives += y > 0;
  EXPECT_EQ(*logistic.CountCorrect(std::vector<double>(3, 0.0), AllIndices(20)), positives);
}

// --threads for linear models: a batch split over threads gives the same
// gradient and loss as one thread up to rounding, the same bits on every call
// for a given count, and batches too small to split run exactly as on one.
TEST(LinearModelTest, ThreadsSplitLargeBatchesReproduciblyAndLeaveSmallOnesAlone) {
  for (const bool sparse : {false, true}) {
    Dataset dense = testing::SmallDense(5000, 30, SyntheticTask::kBinary);
    LinearModelObjective one(Problem::kLogistic, sparse ? testing::ToSparse(dense) : dense, 1e-3);
    LinearModelObjective three(Problem::kLogistic, sparse ? testing::ToSparse(dense) : dense, 1e-3);
    three.set_threads(3);
    ASSERT_EQ(three.threads(), 3);
    const std::vector<double> x = SomePoint(30);
    const auto batch = AllIndices(5000);  // 3 chunks of >= 1024

    std::vector<double> g1(30, 0.0), g3(30, 0.0), g3_again(30, 0.0);
    const double l1 = one.AccumulateGradient(x, batch, g1);
    const double l3 = three.AccumulateGradient(x, batch, g3);
    const double l3_again = three.AccumulateGradient(x, batch, g3_again);
    EXPECT_NEAR(l3, l1, 1e-12 * std::abs(l1));
    for (std::size_t j = 0; j < 30; ++j) EXPECT_NEAR(g3[j], g1[j], 1e-12 * (1.0 + std::abs(g1[j]))) << j;
    EXPECT_EQ(l3, l3_again);
    EXPECT_EQ(g3, g3_again);
    // Two callers at once on one objective (the helpers serve one; the other
    // runs the same chunks itself): both get those bits.
    std::vector<double> ga(30, 0.0), gb(30, 0.0);
    double la = 0, lb = 0;
    std::thread other([&] { la = three.AccumulateGradient(x, batch, ga); });
    lb = three.AccumulateGradient(x, batch, gb);
    other.join();
    EXPECT_EQ(la, l3);
    EXPECT_EQ(lb, l3);
    EXPECT_EQ(ga, g3);
    EXPECT_EQ(gb, g3);
    EXPECT_NEAR(three.Loss(x, batch), one.Loss(x, batch), 1e-12 * std::abs(l1));

    // 1500 samples: fewer than 1024 a thread for two threads, so one thread, the same bits.
    const std::span<const std::size_t> small(batch.data(), 1500);
    std::vector<double> s1(30, 0.0), s3(30, 0.0);
    EXPECT_EQ(three.AccumulateGradient(x, small, s3), one.AccumulateGradient(x, small, s1));
    EXPECT_EQ(s3, s1);
  }
}

// --precision float32: the features are rounded to float once and nothing
// else changes, so on data that floats hold exactly (multiples of 1/64 here)
// every result has the bits of float64; on other data it is within float
// rounding of it.
TEST(LinearModelTest, Float32FeaturesChangeNothingButTheRoundingOfTheData) {
  for (const bool sparse : {false, true}) {
    for (const Problem problem : {Problem::kLogistic, Problem::kLeastSquares}) {
      Dataset data = testing::SmallDense(
          3000, 20, problem == Problem::kLeastSquares ? SyntheticTask::kRegression : SyntheticTask::kBinary);
      Dataset exact = data;
      exact.dense = (data.dense * 64.0).array().round() / 64.0;
      if (sparse) data = testing::ToSparse(data), exact = testing::ToSparse(exact);
      const std::vector<double> x = SomePoint(20);
      const auto batch = AllIndices(3000);
      for (const Dataset* d : {&exact, &data}) {
        const LinearModelObjective f64(problem, *d, 1e-3, Precision::kFloat64);
        const LinearModelObjective f32(problem, *d, 1e-3, Precision::kFloat32);
        EXPECT_EQ(f32.precision(), Precision::kFloat32);
        EXPECT_EQ(f32.dim(), 20u);
        EXPECT_EQ(f32.num_samples(), 3000u);
        std::vector<double> g64(20, 0.0), g32(20, 0.0);
        const double l64 = f64.AccumulateGradient(x, batch, g64);
        const double l32 = f32.AccumulateGradient(x, batch, g32);
        Eigen::MatrixXd a64 = Eigen::MatrixXd::Zero(20, 20), a32 = a64;
        Eigen::VectorXd b64 = Eigen::VectorXd::Zero(20), b32 = b64;
        f64.AccumulateNormalEquations(a64, b64);
        f32.AccumulateNormalEquations(a32, b32);
        if (d == &exact) {
          EXPECT_EQ(l32, l64);
          EXPECT_EQ(g32, g64);
          EXPECT_EQ(f32.Loss(x, batch), f64.Loss(x, batch));
          EXPECT_EQ(*f32.SmoothnessBound(), *f64.SmoothnessBound());
          EXPECT_EQ(a32, a64);
          EXPECT_EQ(b32, b64);
        } else {
          EXPECT_NEAR(l32, l64, 1e-6 * std::abs(l64));
          for (std::size_t j = 0; j < 20; ++j) EXPECT_NEAR(g32[j], g64[j], 1e-5 * (1.0 + std::abs(g64[j]))) << j;
          EXPECT_NE(g32, g64);  // the data was rounded: float32 is really used
        }
        EXPECT_EQ(f32.CountCorrect(x, batch), f64.CountCorrect(x, batch));
      }
    }
  }
}

// A sparse matrix left uncompressed by insert() (no plain CSR arrays) gives
// the results of its compressed twin.
TEST(LinearModelTest, UncompressedSparseShardsAreRead) {
  Dataset compressed = testing::ToSparse(testing::SmallDense(50, 7, SyntheticTask::kBinary));
  Dataset loose = compressed;
  loose.sparse.reserve(Eigen::VectorXi::Constant(50, 2));  // leaves room: uncompressed
  loose.sparse.insert(0, 0) = 0.0;                         // an explicit zero changes no sum
  ASSERT_FALSE(loose.sparse.isCompressed());
  const LinearModelObjective a(Problem::kLogistic, compressed, 0.01), b(Problem::kLogistic, loose, 0.01);
  std::vector<double> ga(7, 0.0), gb(7, 0.0);
  EXPECT_EQ(b.AccumulateGradient(SomePoint(7), AllIndices(50), gb),
            a.AccumulateGradient(SomePoint(7), AllIndices(50), ga));
  EXPECT_EQ(gb, ga);
}

TEST(LinearModelTest, PrecisionNamesParseBackAndOthersAreRefused) {
  for (const Precision p : {Precision::kFloat64, Precision::kFloat32}) EXPECT_EQ(*ParsePrecision(PrecisionName(p)), p);
  const auto bad = ParsePrecision("float16");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("--precision must be float64 or float32, got 'float16'"), std::string::npos);
}

TEST(ProximalObjectiveTest, AddsThetaTimesDistancePerSampleAndNoSfo) {
  const Dataset data = testing::SmallDense(25, 4, SyntheticTask::kBinary);
  const LinearModelObjective f(Problem::kNonconvexLogistic, data, 0.2);
  const std::vector<double> center = {0.5, -1.0, 0.25, 2.0};
  const ProximalObjective h(f, 3.0, center);
  EXPECT_LT(GradientError(h, SomePoint(4), AllIndices(25)), 1e-6);
  const std::vector<std::size_t> batch = {1, 2, 2};
  std::vector<double> gf(4, 0.0), gh(4, 0.0);
  const std::vector<double> x = SomePoint(4);
  const double vf = f.AccumulateGradient(x, batch, gf);
  const double vh = h.AccumulateGradient(x, batch, gh);
  double sq = 0;
  for (int j = 0; j < 4; ++j) {
    EXPECT_NEAR(gh[j], gf[j] + 3 * 3.0 * (x[j] - center[j]), 1e-12);
    sq += (x[j] - center[j]) * (x[j] - center[j]);
  }
  EXPECT_NEAR(vh, vf + 3 * 0.5 * 3.0 * sq, 1e-12);
  EXPECT_NEAR(*h.SmoothnessBound(), *f.SmoothnessBound() + 3.0, 1e-12);
}

}  // namespace
}  // namespace crpsgd

namespace crpsgd {
namespace {

// Three classes from the binary synthetic data: the sign and the size of the
// first feature.
Dataset ThreeClasses(std::size_t n, std::size_t d) {
  Dataset data = testing::SmallDense(n, d, SyntheticTask::kBinary);
  for (std::size_t i = 0; i < n; ++i) {
    data.labels[i] = data.dense(static_cast<Eigen::Index>(i), 0) > 0.5 ? 2.0 : data.labels[i] > 0 ? 1.0 : 0.0;
  }
  return data;
}

TEST(MultinomialLogisticTest, MatchesFiniteDifferencesDenseAndSparse) {
  for (const bool sparse : {false, true}) {
    Dataset data = ThreeClasses(40, 5);
    if (sparse) data = testing::ToSparse(data);
    const MultinomialLogisticObjective f(std::make_shared<const Dataset>(data), 3, 0.05);
    ASSERT_EQ(f.dim(), 15u);
    std::vector<double> x(15);
    for (std::size_t j = 0; j < 15; ++j) x[j] = 0.4 * std::sin(1.3 * static_cast<double>(j) + 0.2);
    EXPECT_LT(GradientError(f, x, AllIndices(40)), 1e-6) << (sparse ? "sparse" : "dense");
    const std::vector<std::size_t> batch = {3, 3, 17, 0};
    EXPECT_LT(GradientError(f, x, batch), 1e-6);
    // Saturated scores stay finite.
    for (double& v : x) v *= 500;
    std::vector<double> g(15, 0.0);
    EXPECT_TRUE(std::isfinite(f.AccumulateGradient(x, AllIndices(40), g)));
    for (double v : g) EXPECT_TRUE(std::isfinite(v));
  }
}

// With two classes the multinomial model is the binary one with w = w_1 − w_0:
// the same loss (λ = 0), and at x = 0 each term is log K.
TEST(MultinomialLogisticTest, TwoClassesAreBinaryLogisticRegression) {
  Dataset binary = testing::SmallDense(30, 4, SyntheticTask::kBinary);
  Dataset classes = binary;
  for (double& y : classes.labels) y = y > 0 ? 1.0 : 0.0;
  const LinearModelObjective logistic(Problem::kLogistic, binary, 0.0);
  const MultinomialLogisticObjective softmax(std::make_shared<const Dataset>(classes), 2, 0.0);
  const std::vector<double> w = {0.3, -0.2, 0.5, 0.1};
  std::vector<double> x(8, 0.0);  // w_0 = 0, w_1 = w
  for (std::size_t j = 0; j < 4; ++j) x[2 * j + 1] = w[j];
  const auto all = AllIndices(30);
  EXPECT_NEAR(softmax.Loss(x, all), logistic.Loss(w, all), 1e-12);
  EXPECT_EQ(*softmax.CountCorrect(x, all), *logistic.CountCorrect(w, all));
  const MultinomialLogisticObjective three(std::make_shared<const Dataset>(ThreeClasses(30, 4)), 3, 0.0);
  EXPECT_NEAR(three.Loss(std::vector<double>(12, 0.0), all), 30 * std::log(3.0), 1e-12);
  // The bound holds: ½ max‖a‖² + λ is at least the curvature along any direction.
  EXPECT_GT(*three.SmoothnessBound(), 0.0);
  // L̂ and L̄ use the data's Gram matrix as the binary model does, with the
  // softmax's curvature ½ where the logistic one is ¼: twice the data term.
  const Status status = RunInProcess(1, [&](Communicator& comm) -> Status {
    const MultinomialLogisticObjective multi(std::make_shared<const Dataset>(ThreeClasses(30, 4)), 3, 0.01);
    const LinearModelObjective single(Problem::kLogistic, ThreeClasses(30, 4), 0.01);
    CRPSGD_ASSIGN_OR_RETURN(const auto m, multi.GlobalSmoothness(comm));
    CRPSGD_ASSIGN_OR_RETURN(const auto b, single.GlobalSmoothness(comm));
    EXPECT_NEAR(m->smoothness - 0.01, 2 * (b->smoothness - 0.01), 1e-12);
    EXPECT_NEAR(*m->mean_sample - 0.01, 2 * (*b->mean_sample - 0.01), 1e-12);
    return Status::OK();
  });
  EXPECT_TRUE(status.ok()) << status.ToString();
}

}  // namespace
}  // namespace crpsgd
