// Full-data evaluation, the L estimate and f* (against closed forms and LIBLINEAR).
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <Eigen/Eigenvalues>
#include <gtest/gtest.h>

#include "crpsgd/evaluation.h"
#include "crpsgd/inproc.h"
#include "crpsgd/linear_models.h"
#include "crpsgd/train.h"
#include "testing/problems.h"
#include "testing/temp_dir.h"

namespace crpsgd {
namespace {

// Hides the linear model's type so that ComputeOptimum must use L-BFGS.
class Opaque final : public Objective {
 public:
  explicit Opaque(const Objective& f) : f_(f) {}
  std::size_t dim() const override { return f_.dim(); }
  std::size_t num_samples() const override { return f_.num_samples(); }
  double AccumulateGradient(std::span<const double> x, std::span<const std::size_t> s,
                            std::span<double> g) const override {
    return f_.AccumulateGradient(x, s, g);
  }
  bool convex() const override { return true; }

 private:
  const Objective& f_;
};

// Runs `body(f, comm)` on `workers` inproc workers, each holding its shard.
template <class Body>
void OnShards(const Dataset& data, Problem problem, double lambda, int workers, Body body) {
  const Status status = RunInProcess(workers, [&](Communicator& comm) {
    const LinearModelObjective f(problem, SelectRows(data, ShardIndices(data.num_samples(), comm.rank(), workers, 3)),
                                 lambda);
    return body(f, comm);
  });
  ASSERT_TRUE(status.ok()) << status.ToString();
}

TEST(EvaluationTest, FullLossIsTheSameForAnySharding) {
  const Dataset data = testing::SmallDense(101, 5, SyntheticTask::kBinary);
  const LinearModelObjective whole(Problem::kLogistic, data, 0.01);
  const std::vector<double> x = {0.2, -0.1, 0.4, 0.3, -0.5};
  const double expected = whole.Loss(x, testing::AllIndices(101)) / 101;
  for (int workers : {1, 4, 7}) {
    OnShards(data, Problem::kLogistic, 0.01, workers, [&](const Objective& f, Communicator& comm) -> Status {
      CRPSGD_ASSIGN_OR_RETURN(FullEvaluator eval, FullEvaluator::Create(f, comm));
      if (eval.total_samples() != 101) return Status::Internal("total samples");
      CRPSGD_ASSIGN_OR_RETURN(double loss, eval.Loss(x));
      if (std::abs(loss - expected) > 1e-13) return Status::Internal("loss " + std::to_string(loss));
      if (comm.stats().training.calls != 0) return Status::Internal("evaluation counted as a round");
      return Status::OK();
    });
  }
}

TEST(EvaluationTest, PowerIterationFindsTheLargestEigenvalue) {
  const Dataset data = testing::SmallDense(200, 8, SyntheticTask::kBinary);
  const Eigen::MatrixXd gram = data.dense.transpose() * data.dense / 200.0;
  const double lambda_max = Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(gram).eigenvalues().maxCoeff();
  OnShards(data, Problem::kLogistic, 0.01, 3, [&](const LinearModelObjective& f, Communicator& comm) -> Status {
    CRPSGD_ASSIGN_OR_RETURN(double l, EstimateSmoothness(f, comm, 200));
    if (std::abs(l - (0.25 * lambda_max + 0.01)) > 1e-5 * l) return Status::Internal("L = " + std::to_string(l));
    // The cheap per-sample bound is an upper bound on it.
    if (*f.SmoothnessBound() < l) return Status::Internal("bound below the estimate");
    return Status::OK();
  });
}

// L̄ = c·mean ‖a_i‖² + r over every shard, and the step --lr auto takes from it.
TEST(EvaluationTest, MeanSampleSmoothnessAndTheSafeStep) {
  const Dataset data = testing::SmallDense(200, 8, SyntheticTask::kBinary);
  const double mean_norm2 = data.dense.rowwise().squaredNorm().mean();
  OnShards(data, Problem::kLogistic, 0.01, 3, [&](const LinearModelObjective& f, Communicator& comm) -> Status {
    CRPSGD_ASSIGN_OR_RETURN(double mean_sample, EstimateMeanSampleSmoothness(f, comm, 200));
    if (std::abs(mean_sample - (0.25 * mean_norm2 + 0.01)) > 1e-12 * mean_sample) {
      return Status::Internal("L̄ = " + std::to_string(mean_sample));
    }
    CRPSGD_ASSIGN_OR_RETURN(SmoothnessEstimate estimate, EstimateLipschitz(f, comm));
    if (estimate.mean_sample != mean_sample) return Status::Internal("EstimateLipschitz gives another L̄");
    AlgorithmOptions psgd;
    psgd.kind = AlgorithmKind::kPsgd;
    psgd.batch = 5;
    const double l = estimate.value;
    // 3 workers x 5 samples are averaged into each step.
    if (SafeStep(estimate, psgd, comm.size()) != 1.0 / (l + mean_sample / 15.0)) return Status::Internal("psgd");
    AlgorithmOptions local = psgd;
    local.kind = AlgorithmKind::kLocalSgd;  // local steps average one worker's batch
    if (SafeStep(estimate, local, comm.size()) != 1.0 / (l + mean_sample / 5.0)) return Status::Internal("local");
    AlgorithmOptions cr = psgd;
    cr.kind = AlgorithmKind::kCrPsgd;
    cr.params.Set("b1", std::uint64_t{2});  // the first, smallest batch
    if (SafeStep(estimate, cr, comm.size()) != 1.0 / (l + mean_sample / 6.0)) return Status::Internal("cr-psgd");
    // A huge batch: the step tends to 1/L; without L̄ it is 1/L.
    psgd.batch = 1'000'000'000;
    if (std::abs(SafeStep(estimate, psgd, comm.size()) * l - 1.0) > 1e-6) return Status::Internal("large batch");
    if (SafeStep({l, "bound", std::nullopt}, cr, comm.size()) != 1.0 / l) return Status::Internal("no L̄");
    // --rho auto's first batch: the smallest B₁ with γ(L + L̄/(N·B₁)) ≤ 1.5.
    const double lr = 1.0 / l;
    const std::uint64_t b1 = StableFirstBatch(estimate, lr, comm.size(), 1);
    if (b1 < 2) return Status::Internal("this data (L̄ ≈ 5 L) needs a first batch above 1");
    auto factor = [&](std::uint64_t b) { return lr * (l + mean_sample / (3.0 * static_cast<double>(b))); };
    if (factor(b1) > kStableStepMargin || (b1 > 1 && factor(b1 - 1) <= kStableStepMargin)) {
      return Status::Internal("stable first batch " + std::to_string(b1));
    }
    if (StableFirstBatch(estimate, lr, comm.size(), b1 + 7) != b1 + 7) return Status::Internal("a larger B₁ stays");
    // No batch is stable by the bound at γ ≥ 1.5/L, and none is needed at a small step.
    if (StableFirstBatch(estimate, 2.0 / l, comm.size(), 1) != 1) return Status::Internal("γ above the margin");
    if (StableFirstBatch(estimate, 1.0 / (l + mean_sample), comm.size(), 1) != 1) return Status::Internal("small γ");
    if (StableFirstBatch({l, "bound", std::nullopt}, lr, comm.size(), 1) != 1) return Status::Internal("no L̄ (b1)");
    return Status::OK();
  });
}

TEST(EvaluationTest, LeastSquaresClosedFormAndLbfgsAgree) {
  const Dataset data = testing::SmallDense(300, 10, SyntheticTask::kRegression);
  // Reference: solve the ridge normal equations on the whole data directly.
  const Eigen::VectorXd y = Eigen::Map<const Eigen::VectorXd>(data.labels.data(), 300);
  Eigen::MatrixXd h = data.dense.transpose() * data.dense / 300.0;
  h.diagonal().array() += 0.1;
  const Eigen::VectorXd x_star = h.ldlt().solve(data.dense.transpose() * y / 300.0);
  const LinearModelObjective whole(Problem::kLeastSquares, data, 0.1);
  const std::vector<double> xs(x_star.data(), x_star.data() + 10);
  const double f_star = whole.Loss(xs, testing::AllIndices(300)) / 300;
  OnShards(data, Problem::kLeastSquares, 0.1, 4, [&](const LinearModelObjective& f, Communicator& comm) -> Status {
    CRPSGD_ASSIGN_OR_RETURN(Optimum closed, ComputeOptimum(f, comm));
    Opaque opaque(f);
    CRPSGD_ASSIGN_OR_RETURN(Optimum lbfgs, ComputeOptimum(opaque, comm));
    if (std::string(closed.method) != "normal-equations" || std::string(lbfgs.method) != "l-bfgs") {
      return Status::Internal("solver choice");
    }
    if (std::abs(closed.value - f_star) > 1e-12) return Status::Internal("closed form " + std::to_string(closed.value));
    if (std::abs(lbfgs.value - f_star) > 1e-10) return Status::Internal("l-bfgs " + std::to_string(lbfgs.value));
    return Status::OK();
  });
}

TEST(EvaluationTest, NonConvexObjectiveHasNoOptimum) {
  const Dataset data = testing::SmallDense(20, 3, SyntheticTask::kBinary);
  OnShards(data, Problem::kNonconvexLogistic, 0.1, 2, [&](const Objective& f, Communicator& comm) -> Status {
    return ComputeOptimum(f, comm).status().code() == StatusCode::kInvalidArgument ? Status::OK()
                                                                                   : Status::Internal("accepted");
  });
}

// LIBLINEAR (-s 0) minimises ½‖w‖² + C Σ log(1 + e^{−y wᵀa}), which is n·C
// times our f with λ = 1/(nC): the same minimiser. Its f is an upper bound on
// our f*, and a tight one at -e 1e-8.
TEST(EvaluationTest, LogisticOptimumMatchesLiblinearOnHeartScale) {
  const std::string data_path = "/usr/share/doc/liblinear-tools/examples/heart_scale";
  if (!std::filesystem::exists(data_path) || std::system("command -v liblinear-train > /dev/null") != 0) {
    GTEST_SKIP() << "liblinear-tools is not installed";
  }
  testing::TempDir dir;
  const double lambda = 0.01, n = 270;
  const double c = 1.0 / (n * lambda);
  const std::string model = (dir / "model").string();
  const std::string command =
      "liblinear-train -q -s 0 -e 1e-8 -c " + std::to_string(c) + " " + data_path + " " + model + " > /dev/null";
  ASSERT_EQ(std::system(command.c_str()), 0);
  std::ifstream in(model);
  std::string line;
  std::vector<double> w;
  int first_label = 0;
  bool weights = false;
  while (std::getline(in, line)) {
    if (line.rfind("label", 0) == 0) std::istringstream(line.substr(6)) >> first_label;
    if (weights) w.push_back(std::stod(line));
    if (line == "w") weights = true;
  }
  ASSERT_EQ(w.size(), 13u);
  if (first_label == -1) {  // LIBLINEAR's w scores the first label it saw
    for (double& v : w) v = -v;
  }
  const Dataset data = ReadLibsvm(data_path).value();
  const LinearModelObjective whole(Problem::kLogistic, data, lambda);
  const double f_liblinear = whole.Loss(w, testing::AllIndices(270)) / n;
  OnShards(data, Problem::kLogistic, lambda, 3, [&](const Objective& f, Communicator& comm) -> Status {
    CRPSGD_ASSIGN_OR_RETURN(Optimum opt, ComputeOptimum(f, comm));
    if (!(opt.value <= f_liblinear + 1e-9 && opt.value >= f_liblinear - 1e-6)) {
      return Status::Internal("f* " + std::to_string(opt.value) + " vs liblinear " + std::to_string(f_liblinear));
    }
    return Status::OK();
  });
}

}  // namespace
}  // namespace crpsgd
