// `crpsgd theory-check`: orchestration and measuring. Judging is in
// theory_check_judge.cc, rendering in theory_check_render.cc.
#include "crpsgd/theory_check.h"

#include <cstdio>
#include <filesystem>
#include <limits>

#include <Eigen/Dense>

#include "crpsgd/inproc.h"
#include "crpsgd/linear_models.h"
#include "crpsgd/metrics.h"
#include "crpsgd/train.h"
#include "theory_check_parts.h"

namespace crpsgd::theory {
namespace {

// L and μ (extreme eigenvalues of H = AᵀA/n), tr H, f* and σ² = E‖∇F(x*; i)‖²,
// all exact (to rounding) for f(x) = (1/2n)‖Ax − y‖².
Constants LeastSquaresConstants(const Dataset& data) {
  const Eigen::MatrixXd& a = data.dense;
  const auto n = static_cast<double>(a.rows());
  const Eigen::Map<const Eigen::VectorXd> y(data.labels.data(), a.rows());
  const Eigen::MatrixXd h = a.transpose() * a / n;
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eigen(h, Eigen::EigenvaluesOnly);
  const Eigen::VectorXd x_star = h.ldlt().solve(a.transpose() * y / n);
  const Eigen::VectorXd residual = a * x_star - y;
  Constants c;
  c.lipschitz = eigen.eigenvalues().maxCoeff();
  c.mu = eigen.eigenvalues().minCoeff();
  c.trace = h.trace();
  c.f_star = residual.squaredNorm() / (2 * n);
  c.sigma2 = (residual.array().square() * a.rowwise().squaredNorm().array()).sum() / n;
  return c;
}

// One run on `workers` threads, each on its seeded shard of `data`.
Result<Sample> RunOnce(const Dataset& data, Problem problem, double lambda, const AlgorithmOptions& algorithm,
                       int workers, std::uint64_t seed, std::optional<double> f_star) {
  RunSummary summary;
  CRPSGD_RETURN_IF_ERROR(RunInProcess(workers, [&](Communicator& comm) -> Status {
    const std::vector<std::size_t> rows = ShardIndices(data.num_samples(), comm.rank(), workers, seed);
    const LinearModelObjective f(problem, SelectRows(data, rows), lambda);
    TrainOptions options;
    options.algorithm = algorithm;
    options.seed = seed;
    options.eval_every = std::numeric_limits<std::uint64_t>::max();  // the start and the end only
    options.f_star = f_star;
    options.end_below_start = false;  // at small T the noise floor may lie above f(x₀): a measurement
    CRPSGD_ASSIGN_OR_RETURN(RunSummary mine, Train(options, f, comm));
    if (comm.rank() == 0) summary = std::move(mine);
    return Status::OK();
  }));
  Sample s;
  s.method = AlgorithmName(algorithm.kind);
  s.workers = workers;
  s.budget = algorithm.budget;
  s.seed = seed;
  s.rounds = summary.rounds;
  s.sfo_per_worker = summary.sfo_per_worker;
  s.gap = f_star ? summary.final_loss - *f_star : 0.0;
  s.gradient_norm = summary.fields.Number("gradient_norm");
  s.wall_s = summary.wall_s;
  return s;
}

// T = 1000·10^(k/2) up to max: half-decade steps.
std::vector<std::uint64_t> Budgets(std::uint64_t min, std::uint64_t max) {
  std::vector<std::uint64_t> out;
  for (int k = 0;; ++k) {
    const auto t = static_cast<std::uint64_t>(std::llround(static_cast<double>(min) * std::pow(10.0, k / 2.0)));
    if (t > max) break;
    out.push_back(t);
  }
  return out;
}

class Measurer {
 public:
  explicit Measurer(const TheoryCheckOptions& flags) : flags_(flags) {}

  Result<Measurements> Run() {
    CRPSGD_RETURN_IF_ERROR(MakeData());
    for (std::uint64_t t : Budgets(kMinBudget, flags_.max_budget))
      m_.points.push_back(BudgetPoint{t, 0, {}, {}, {}, {}});
    std::size_t large = 0;
    for (const BudgetPoint& p : m_.points) large += p.budget >= 10000 ? 1 : 0;
    if (large < 2) return Status::InvalidArgument("--max-budget: the sweep needs two budgets >= 10000");
    m_.seeds = flags_.seeds;
    CRPSGD_RETURN_IF_ERROR(SweepCrPsgd());
    CRPSGD_RETURN_IF_ERROR(SweepBaselines());
    CRPSGD_RETURN_IF_ERROR(SweepCatalyst());
    return std::move(m_);
  }

 private:
  void Log(const std::string& line) const {
    if (!flags_.quiet) std::fprintf(stderr, "crpsgd theory-check: %s\n", line.c_str());
  }

  Status MakeData() {
    SyntheticOptions options;
    options.samples = kSamples;
    options.features = kFeatures;
    options.noise = kNoise;
    options.condition_number = kCondition;
    options.seed = kDataSeed;
    CRPSGD_ASSIGN_OR_RETURN(regression_, MakeSynthetic(options));
    options.task = SyntheticTask::kBinary;
    CRPSGD_ASSIGN_OR_RETURN(binary_, MakeSynthetic(options));
    m_.constants = LeastSquaresConstants(regression_);
    const Constants& c = m_.constants;
    Log("least squares, n = " + std::to_string(kSamples) + ", d = " + std::to_string(kFeatures) +
        ": L = " + Format("%.4g", c.lipschitz) + ", mu = " + Format("%.4g", c.mu) +
        ", sigma^2 = " + Format("%.4g", c.sigma2) + ", f* = " + Format("%.10g", c.f_star));
    return Status::OK();
  }

  Status SweepCrPsgd() {
    AlgorithmOptions algorithm;
    algorithm.kind = AlgorithmKind::kCrPsgd;
    algorithm.params.Set("b1", std::uint64_t{kFirstBatch});
    algorithm.params.Set("rho", kGrowth);
    algorithm.lr = 1.0 / m_.constants.lipschitz;
    for (std::size_t i = 0; i < kWorkers.size(); ++i) {
      const int n = kWorkers[i];
      Log("cr-psgd, N = " + std::to_string(n) + ", T = " + std::to_string(m_.points.front().budget) + ".." +
          std::to_string(m_.points.back().budget) + ", " + std::to_string(flags_.seeds) + " seeds");
      for (BudgetPoint& point : m_.points) {
        algorithm.budget = point.budget;
        for (std::uint64_t seed = 1; seed <= flags_.seeds; ++seed) {
          CRPSGD_ASSIGN_OR_RETURN(
              Sample s, RunOnce(regression_, Problem::kLeastSquares, 0.0, algorithm, n, seed, m_.constants.f_star));
          if (i == 0 && seed == 1) point.cr_psgd_rounds = s.rounds;
          point.cr_psgd_gaps[i].push_back(s.gap);
          m_.samples.push_back(std::move(s));
        }
      }
    }
    return Status::OK();
  }

  // PSGD (B = 1) and local SGD (b = 1, I = 10) at the step that is stable for
  // single samples, 1/(L + tr H); one seed (their rounds do not depend on it).
  Status SweepBaselines() {
    AlgorithmOptions algorithm;
    algorithm.lr = 1.0 / (m_.constants.lipschitz + m_.constants.trace);
    algorithm.batch = 1;
    algorithm.params.Set("sync_period", std::uint64_t{kSyncPeriod});
    for (AlgorithmKind kind : {AlgorithmKind::kPsgd, AlgorithmKind::kLocalSgd}) {
      algorithm.kind = kind;
      for (std::size_t i = 0; i < kWorkers.size(); ++i) {
        Log(std::string(AlgorithmName(kind)) + ", N = " + std::to_string(kWorkers[i]));
        for (BudgetPoint& point : m_.points) {
          if (point.budget > kBaselineMaxBudget) break;
          algorithm.budget = point.budget;
          CRPSGD_ASSIGN_OR_RETURN(Sample s, RunOnce(regression_, Problem::kLeastSquares, 0.0, algorithm, kWorkers[i], 1,
                                                    m_.constants.f_star));
          auto& runs = kind == AlgorithmKind::kPsgd ? point.psgd : point.local_sgd;
          if (!runs) runs.emplace();
          (*runs)[i] = s;
          m_.samples.push_back(std::move(s));
        }
      }
    }
    return Status::OK();
  }

  // Catalyst on non-convex logistic regression: θ = 2L (the theory asks for
  // θ > L), γ = 1/(L + θ), B₁ = 1, ρ = 1.1, K = ⌊√(NT)⌋, inner budget ⌊√(T/N)⌋.
  Status SweepCatalyst() {
    const double lipschitz = m_.constants.lipschitz / 4 + 2 * kNonconvexLambda;  // φ'' ≤ 1/4, R'' ≤ 2λ
    AlgorithmOptions algorithm;
    algorithm.kind = AlgorithmKind::kCrPsgdCatalyst;
    const double theta = 2 * lipschitz;
    algorithm.params.Set("theta", theta);
    algorithm.lr = 1.0 / (lipschitz + theta);
    algorithm.params.Set("b1", std::uint64_t{1});
    algorithm.params.Set("rho", kGrowth);
    for (std::size_t i = 0; i < kWorkers.size(); ++i) {
      Log("cr-psgd-catalyst, N = " + std::to_string(kWorkers[i]));
      for (BudgetPoint& point : m_.points) {
        if (point.budget > kBaselineMaxBudget) break;
        algorithm.budget = point.budget;
        CRPSGD_ASSIGN_OR_RETURN(Sample s, RunOnce(binary_, Problem::kNonconvexLogistic, kNonconvexLambda, algorithm,
                                                  kWorkers[i], 1, std::nullopt));
        if (!point.catalyst) point.catalyst.emplace();
        (*point.catalyst)[i] = s;
        m_.samples.push_back(std::move(s));
      }
    }
    return Status::OK();
  }

  const TheoryCheckOptions flags_;
  Dataset regression_, binary_;
  Measurements m_;
};

Status Validate(const TheoryCheckOptions& flags) {
  if (flags.max_budget < 100000) {
    return Status::InvalidArgument(
        "--max-budget must be >= 100000 (the sweep covers T = 1000..max, and the "
        "N·T·(f − f*) criterion needs two budgets >= 10000), got " +
        std::to_string(flags.max_budget));
  }
  if (flags.seeds < 1) return Status::InvalidArgument("--seeds must be >= 1");
  if (flags.out.empty()) return Status::InvalidArgument("--out must not be empty");
  return Status::OK();
}

}  // namespace

Result<Measurements> Measure(const TheoryCheckOptions& flags) { return Measurer(flags).Run(); }

}  // namespace crpsgd::theory

namespace crpsgd {

Result<TheoryCheckResult> RunTheoryCheck(const TheoryCheckOptions& flags) {
  CRPSGD_RETURN_IF_ERROR(theory::Validate(flags));
  CRPSGD_ASSIGN_OR_RETURN(const theory::Measurements measured, theory::Measure(flags));
  const theory::Judgement judgement = theory::Judge(measured, TheoryCriteria{});
  const std::filesystem::path out(flags.out);
  std::error_code ec;
  std::filesystem::create_directories(out / "figures", ec);
  if (ec) return Status::IOError(out.string() + ": cannot create: " + ec.message());
  CRPSGD_RETURN_IF_ERROR(WriteFileAtomic(out / "results.csv", theory::RenderCsv(measured)));
  const std::string table = theory::RenderTable(measured, judgement);
  CRPSGD_RETURN_IF_ERROR(WriteFileAtomic(out / "table.md", table));
  CRPSGD_RETURN_IF_ERROR(theory::DrawFigures(measured, judgement, out / "figures"));
  return TheoryCheckResult{table, judgement.passed};
}

}  // namespace crpsgd
