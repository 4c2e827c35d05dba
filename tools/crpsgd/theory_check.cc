#include "theory_check.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <optional>
#include <sstream>
#include <vector>

#include <Eigen/Dense>

#include "crpsgd/inproc.h"
#include "crpsgd/linear_models.h"
#include "crpsgd/metrics.h"
#include "crpsgd/train.h"
#include "figures.h"

namespace crpsgd::cli {
namespace {

// The problem. Twenty features with variances from 1 down to 1/5 (κ ≈ 5), unit
// label noise, 2¹⁴ samples (a multiple of every N, so that the shards have equal
// sizes and the mean of the workers' gradients is an unbiased gradient of f).
constexpr std::size_t kSamples = 16384;
constexpr std::size_t kFeatures = 20;
constexpr double kCondition = 5.0;
constexpr double kNoise = 1.0;
constexpr std::uint64_t kDataSeed = 1;

// CR-PSGD: γ = 1/L and ρ = 1.1 < 1/(1 − μ/L) (the theory's condition: the
// batches must not grow faster than a gradient step contracts). B₁ = 16: with
// fewer samples a step of 1/L on a single worker is unstable in mean square
// (E‖a‖² = tr H ≈ 10 L).
constexpr double kGrowth = 1.1;
constexpr std::uint64_t kFirstBatch = 16;
constexpr int kWorkers[] = {1, 2, 4, 8};
constexpr std::uint64_t kMinBudget = 1000;
// PSGD with B = 1 needs T rounds: its sweep stops here to keep the check short.
constexpr std::uint64_t kBaselineMaxBudget = 100000;
constexpr std::uint64_t kSyncPeriod = 10;
// Catalyst: non-convex logistic regression with λ Σ x²/(1 + x²).
constexpr double kNonconvexLambda = 0.01;

struct Constants {
  double lipschitz = 0, mu = 0, trace = 0, sigma2 = 0, f_star = 0;
};

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

struct Sample {
  std::string method;
  int workers = 0;
  std::uint64_t budget = 0, seed = 0, rounds = 0, sfo_per_worker = 0;
  double gap = 0;                        // f − f* (least squares)
  std::optional<double> gradient_norm;  // catalyst
  double wall_s = 0;
};

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
  s.gradient_norm = summary.gradient_norm;
  s.wall_s = summary.wall_s;
  return s;
}

struct Fit {
  double intercept = 0, slope = 0, r_squared = 0;
};

// Least squares y ≈ intercept + slope·x.
Fit FitLine(const std::vector<double>& x, const std::vector<double>& y) {
  const auto n = static_cast<double>(x.size());
  double mx = 0, my = 0;
  for (std::size_t i = 0; i < x.size(); ++i) mx += x[i] / n, my += y[i] / n;
  double sxx = 0, sxy = 0, syy = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    sxx += (x[i] - mx) * (x[i] - mx);
    sxy += (x[i] - mx) * (y[i] - my);
    syy += (y[i] - my) * (y[i] - my);
  }
  Fit fit;
  fit.slope = sxx > 0 ? sxy / sxx : 0;
  fit.intercept = my - fit.slope * mx;
  fit.r_squared = syy > 0 ? sxy * sxy / (sxx * syy) : 1.0;
  return fit;
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

std::string Format(const char* format, double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, format, value);
  return buffer;
}

struct Stats {
  double mean = 0, min = 0, max = 0;
};

Stats Summarize(const std::vector<double>& values) {
  Stats s{0, values.front(), values.front()};
  for (double v : values) {
    s.mean += v / static_cast<double>(values.size());
    s.min = std::min(s.min, v);
    s.max = std::max(s.max, v);
  }
  return s;
}

class TheoryCheck {
 public:
  explicit TheoryCheck(const TheoryCheckFlags& flags) : flags_(flags), out_(flags.out) {}

  Status Run(bool* passed) {
    CRPSGD_RETURN_IF_ERROR(Validate());
    CRPSGD_RETURN_IF_ERROR(MakeData());
    CRPSGD_RETURN_IF_ERROR(SweepCrPsgd());
    CRPSGD_RETURN_IF_ERROR(SweepBaselines());
    CRPSGD_RETURN_IF_ERROR(SweepCatalyst());
    Judge();
    std::error_code ec;
    std::filesystem::create_directories(out_ / "figures", ec);
    if (ec) return Status::IOError(out_.string() + ": cannot create: " + ec.message());
    CRPSGD_RETURN_IF_ERROR(WriteFileAtomic(out_ / "results.csv", Csv()));
    const std::string table = Table();
    CRPSGD_RETURN_IF_ERROR(WriteFileAtomic(out_ / "table.md", table));
    CRPSGD_RETURN_IF_ERROR(DrawFigures());
    std::fputs(table.c_str(), stdout);
    *passed = passed_;
    return Status::OK();
  }

 private:
  Status Validate() const {
    if (flags_.max_budget < 100000) {
      return Status::InvalidArgument("--max-budget must be >= 100000 (the sweep covers T = 1000..max, and the "
                                     "N·T·(f − f*) criterion needs two budgets >= 10000), got " +
                                     std::to_string(flags_.max_budget));
    }
    if (flags_.seeds < 1) return Status::InvalidArgument("--seeds must be >= 1");
    if (flags_.out.empty()) return Status::InvalidArgument("--out must not be empty");
    return Status::OK();
  }

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
    constants_ = LeastSquaresConstants(regression_);
    Log("least squares, n = " + std::to_string(kSamples) + ", d = " + std::to_string(kFeatures) +
        ": L = " + Format("%.4g", constants_.lipschitz) + ", mu = " + Format("%.4g", constants_.mu) +
        ", sigma^2 = " + Format("%.4g", constants_.sigma2) + ", f* = " + Format("%.10g", constants_.f_star));
    return Status::OK();
  }

  Status SweepCrPsgd() {
    budgets_ = Budgets(kMinBudget, flags_.max_budget);
    AlgorithmOptions algorithm;
    algorithm.kind = AlgorithmKind::kCrPsgd;
    algorithm.first_batch = kFirstBatch;
    algorithm.growth = kGrowth;
    algorithm.lr = 1.0 / constants_.lipschitz;
    for (int n : kWorkers) {
      Log("cr-psgd, N = " + std::to_string(n) + ", T = " + std::to_string(budgets_.front()) + ".." +
          std::to_string(budgets_.back()) + ", " + std::to_string(flags_.seeds) + " seeds");
      for (std::uint64_t t : budgets_) {
        algorithm.budget = t;
        for (std::uint64_t seed = 1; seed <= flags_.seeds; ++seed) {
          CRPSGD_ASSIGN_OR_RETURN(Sample s, RunOnce(regression_, Problem::kLeastSquares, 0.0, algorithm, n, seed,
                                                    constants_.f_star));
          samples_.push_back(s);
        }
      }
    }
    return Status::OK();
  }

  // PSGD (B = 1) and local SGD (b = 1, I = 10) at the step that is stable for
  // single samples, 1/(L + tr H); one seed (their rounds do not depend on it).
  Status SweepBaselines() {
    AlgorithmOptions algorithm;
    algorithm.lr = 1.0 / (constants_.lipschitz + constants_.trace);
    algorithm.batch = 1;
    algorithm.sync_period = kSyncPeriod;
    for (AlgorithmKind kind : {AlgorithmKind::kPsgd, AlgorithmKind::kLocalSgd}) {
      algorithm.kind = kind;
      for (int n : kWorkers) {
        Log(std::string(AlgorithmName(kind)) + ", N = " + std::to_string(n));
        for (std::uint64_t t : budgets_) {
          if (t > kBaselineMaxBudget) break;
          algorithm.budget = t;
          CRPSGD_ASSIGN_OR_RETURN(Sample s, RunOnce(regression_, Problem::kLeastSquares, 0.0, algorithm, n, 1,
                                                    constants_.f_star));
          samples_.push_back(s);
        }
      }
    }
    return Status::OK();
  }

  // Catalyst on non-convex logistic regression: θ = 2L (the theory asks for
  // θ > L), γ = 1/(L + θ), B₁ = 1, ρ = 1.1, K = ⌊√(NT)⌋, inner budget ⌊√(T/N)⌋.
  Status SweepCatalyst() {
    const double lipschitz = constants_.lipschitz / 4 + 2 * kNonconvexLambda;  // φ'' ≤ 1/4, R'' ≤ 2λ
    AlgorithmOptions algorithm;
    algorithm.kind = AlgorithmKind::kCrPsgdCatalyst;
    algorithm.theta = 2 * lipschitz;
    algorithm.lr = 1.0 / (lipschitz + algorithm.theta);
    algorithm.first_batch = 1;
    algorithm.growth = kGrowth;
    for (int n : kWorkers) {
      Log("cr-psgd-catalyst, N = " + std::to_string(n));
      for (std::uint64_t t : budgets_) {
        if (t > kBaselineMaxBudget) break;
        algorithm.budget = t;
        CRPSGD_ASSIGN_OR_RETURN(Sample s, RunOnce(binary_, Problem::kNonconvexLogistic, kNonconvexLambda, algorithm,
                                                  n, 1, std::nullopt));
        samples_.push_back(s);
      }
    }
    return Status::OK();
  }

  std::vector<const Sample*> Select(const std::string& method, int workers, std::uint64_t budget) const {
    std::vector<const Sample*> out;
    for (const Sample& s : samples_) {
      if (s.method == method && s.workers == workers && s.budget == budget) out.push_back(&s);
    }
    return out;
  }

  // N·T·(f − f*) of cr-psgd over the seeds.
  Stats ScaledError(int workers, std::uint64_t budget) const {
    std::vector<double> v;
    for (const Sample* s : Select("cr-psgd", workers, budget)) v.push_back(workers * static_cast<double>(budget) * s->gap);
    return Summarize(v);
  }

  double MeanGap(const std::string& method, int workers, std::uint64_t budget) const {
    std::vector<double> v;
    for (const Sample* s : Select(method, workers, budget)) v.push_back(s->gap);
    return Summarize(v).mean;
  }

  static double CatalystX(int workers, std::uint64_t budget) {
    const double t = static_cast<double>(budget);
    return std::sqrt(workers * t) * std::log(t / workers);
  }

  void Judge() {
    for (int n : kWorkers) {
      std::vector<double> x, y;
      for (std::uint64_t t : budgets_) {
        x.push_back(std::log(static_cast<double>(t)));
        y.push_back(static_cast<double>(Select("cr-psgd", n, t).front()->rounds));
      }
      round_fits_[n] = FitLine(x, y);
      std::vector<double> scaled;
      for (std::uint64_t t : budgets_) {
        if (t >= 10000) scaled.push_back(ScaledError(n, t).mean);
      }
      flat_ratio_[n] = *std::max_element(scaled.begin(), scaled.end()) / *std::min_element(scaled.begin(), scaled.end());
    }
    speedup_ = MeanGap("cr-psgd", 1, budgets_.back()) / MeanGap("cr-psgd", 8, budgets_.back());
    std::vector<double> x, y;
    for (const Sample& s : samples_) {
      if (s.method != "cr-psgd-catalyst") continue;
      x.push_back(CatalystX(s.workers, s.budget));
      y.push_back(static_cast<double>(s.rounds));
    }
    catalyst_fit_ = FitLine(x, y);
    passed_ = speedup_ >= criteria_.min_speedup;
    for (int n : kWorkers) {
      passed_ = passed_ && round_fits_[n].r_squared >= criteria_.min_r_squared &&
                flat_ratio_[n] <= criteria_.max_flat_ratio;
    }
  }

  std::string Csv() const {
    std::ostringstream os;
    os << "method,workers,budget,seed,rounds,sfo_per_worker,f_minus_f_star,gradient_norm,wall_s\n";
    os.precision(10);
    for (const Sample& s : samples_) {
      os << s.method << "," << s.workers << "," << s.budget << "," << s.seed << "," << s.rounds << ","
         << s.sfo_per_worker << ",";
      if (!s.gradient_norm) os << s.gap;
      os << ",";
      if (s.gradient_norm) os << *s.gradient_norm;
      os << "," << s.wall_s << "\n";
    }
    return os.str();
  }

  std::string Verdict(bool ok) const { return ok ? "**pass**" : "**FAIL**"; }

  std::string Table() const {
    const Constants& c = constants_;
    std::ostringstream md;
    md << "# crpsgd theory-check\n\n"
       << "Least squares f(x) = (1/2n)‖Ax − y‖² on generated data: n = " << kSamples << ", d = " << kFeatures
       << ", feature variances from 1 to 1/" << kCondition << ", label noise " << kNoise << ", data seed "
       << kDataSeed << ".\nConstants, exact from the data: L = " << Format("%.5g", c.lipschitz)
       << ", μ = " << Format("%.5g", c.mu) << " (L/μ = " << Format("%.3g", c.lipschitz / c.mu)
       << "), σ² = E‖∇F(x*; i)‖² = " << Format("%.5g", c.sigma2) << ", f* = " << Format("%.10g", c.f_star)
       << ".\nCR-PSGD: γ = 1/L, B₁ = " << kFirstBatch << ", ρ = " << kGrowth << "; N·T·(f − f*) is the mean over seeds 1.."
       << flags_.seeds << " (min–max in the figure).\n\n";

    md << "## CR-PSGD: rounds and N·T·(f − f*) against T\n\n| T | rounds |";
    for (int n : kWorkers) md << " N·T·(f − f*), N = " << n << " |";
    md << "\n|---|---|";
    for (std::size_t i = 0; i < std::size(kWorkers); ++i) md << "---|";
    md << "\n";
    for (std::uint64_t t : budgets_) {
      md << "| " << t << " | " << Select("cr-psgd", 1, t).front()->rounds << " |";
      for (int n : kWorkers) md << " " << Format("%.4g", ScaledError(n, t).mean) << " |";
      md << "\n";
    }
    md << "\nRounds do not depend on N (B_t is per worker). The O(1/(NT)) bound predicts a flat N·T·(f − f*) once the "
          "start is forgotten (the bias term shrinks like T^(−2) here).\n\n";

    md << "## Criteria\n\n| criterion | measured | floor | verdict |\n|---|---|---|---|\n";
    for (int n : kWorkers) {
      const Fit& f = round_fits_.at(n);
      md << "| rounds = a + b·ln T, N = " << n << " (a = " << Format("%.3g", f.intercept) << ", b = "
         << Format("%.3g", f.slope) << ") | R² = " << Format("%.4f", f.r_squared) << " | R² ≥ " << criteria_.min_r_squared
         << " | " << Verdict(f.r_squared >= criteria_.min_r_squared) << " |\n";
    }
    for (int n : kWorkers) {
      md << "| N·T·(f − f*) over T ≥ 10⁴, N = " << n << " | max/min = " << Format("%.3g", flat_ratio_.at(n))
         << " | ≤ " << criteria_.max_flat_ratio << " | " << Verdict(flat_ratio_.at(n) <= criteria_.max_flat_ratio)
         << " |\n";
    }
    md << "| (f − f*)(N = 1) / (f − f*)(N = 8) at T = " << budgets_.back() << " | " << Format("%.3g", speedup_)
       << "× | ≥ " << criteria_.min_speedup << "× (ideal 8×) | " << Verdict(speedup_ >= criteria_.min_speedup) << " |\n\n";

    md << "## Error against N at T = " << budgets_.back() << "\n\n| N | f − f* (mean) | N·(f − f*) |\n|---|---|---|\n";
    for (int n : kWorkers) {
      const double gap = MeanGap("cr-psgd", n, budgets_.back());
      md << "| " << n << " | " << Format("%.4g", gap) << " | " << Format("%.4g", n * gap) << " |\n";
    }

    md << "\n## Rounds of the baselines (N = 8)\n\nPSGD (B = 1) and local SGD (b = 1, I = " << kSyncPeriod
       << ") at γ = 1/(L + tr H) = " << Format("%.4g", 1.0 / (c.lipschitz + c.trace))
       << ", the step that is stable for single samples; seed 1; T ≤ " << kBaselineMaxBudget
       << " (PSGD needs T rounds).\n\n| T | cr-psgd rounds | psgd rounds | local-sgd rounds | cr-psgd f − f* | psgd f − f* | "
          "local-sgd f − f* |\n|---|---|---|---|---|---|---|\n";
    for (std::uint64_t t : budgets_) {
      if (t > kBaselineMaxBudget) break;
      md << "| " << t << " | " << Select("cr-psgd", 8, t).front()->rounds << " | "
         << Select("psgd", 8, t).front()->rounds << " | " << Select("local-sgd", 8, t).front()->rounds << " | "
         << Format("%.3g", MeanGap("cr-psgd", 8, t)) << " | " << Format("%.3g", Select("psgd", 8, t).front()->gap)
         << " | " << Format("%.3g", Select("local-sgd", 8, t).front()->gap) << " |\n";
    }

    md << "\n## CR-PSGD-Catalyst: rounds against √(NT)·ln(T/N)\n\nNon-convex logistic regression (λ Σ x²/(1 + x²), "
          "λ = "
       << kNonconvexLambda << ") on the same features with ±1 labels; θ = 2L, γ = 1/(L + θ), B₁ = 1, ρ = " << kGrowth
       << ", K = ⌊√(NT)⌋, inner budget ⌊√(T/N)⌋; seed 1.\nFit over all N and T: rounds = "
       << Format("%.3g", catalyst_fit_.intercept) << " + " << Format("%.3g", catalyst_fit_.slope)
       << "·√(NT)·ln(T/N), R² = " << Format("%.4f", catalyst_fit_.r_squared)
       << ".\n\n| N | T | rounds | √(NT)·ln(T/N) | rounds / (√(NT)·ln(T/N)) | ‖∇f‖ at the end |\n|---|---|---|---|---|---|\n";
    for (const Sample& s : samples_) {
      if (s.method != "cr-psgd-catalyst") continue;
      const double x = CatalystX(s.workers, s.budget);
      md << "| " << s.workers << " | " << s.budget << " | " << s.rounds << " | " << Format("%.4g", x) << " | "
         << Format("%.3g", static_cast<double>(s.rounds) / x) << " | " << Format("%.3g", s.gradient_norm.value_or(0))
         << " |\n";
    }
    md << "\nVerdict: " << (passed_ ? "every criterion holds." : "at least one criterion FAILED.") << "\n";
    return md.str();
  }

  Status DrawFigures() const {
    const std::filesystem::path dir = out_ / "figures";
    // cr-psgd: T, rounds, then mean/min/max of N·T·(f − f*) for each N.
    std::ostringstream cr;
    cr << "# T rounds";
    for (int n : kWorkers) cr << " mean_N" << n << " min_N" << n << " max_N" << n;
    cr << "\n";
    for (std::uint64_t t : budgets_) {
      cr << t << " " << Select("cr-psgd", 1, t).front()->rounds;
      for (int n : kWorkers) {
        const Stats s = ScaledError(n, t);
        cr << " " << s.mean << " " << s.min << " " << s.max;
      }
      cr << "\n";
    }
    CRPSGD_RETURN_IF_ERROR(WriteFileAtomic(dir / "cr_psgd.dat", cr.str()));
    std::ostringstream base;
    base << "# T psgd_rounds local_sgd_rounds (N = 8)\n";
    for (std::uint64_t t : budgets_) {
      if (t > kBaselineMaxBudget) break;
      base << t << " " << Select("psgd", 8, t).front()->rounds << " " << Select("local-sgd", 8, t).front()->rounds << "\n";
    }
    CRPSGD_RETURN_IF_ERROR(WriteFileAtomic(dir / "baselines.dat", base.str()));
    std::ostringstream speed;
    speed << "# N mean_gap min_gap max_gap at T = " << budgets_.back() << "\n";
    for (int n : kWorkers) {
      std::vector<double> v;
      for (const Sample* s : Select("cr-psgd", n, budgets_.back())) v.push_back(s->gap);
      const Stats st = Summarize(v);
      speed << n << " " << st.mean << " " << st.min << " " << st.max << "\n";
    }
    CRPSGD_RETURN_IF_ERROR(WriteFileAtomic(dir / "speedup.dat", speed.str()));
    std::ostringstream cat;
    cat << "# sqrt(NT)ln(T/N) rounds N T\n";
    for (int n : kWorkers) {
      for (const Sample& s : samples_) {
        if (s.method == "cr-psgd-catalyst" && s.workers == n) {
          cat << CatalystX(n, s.budget) << " " << s.rounds << " " << n << " " << s.budget << "\n";
        }
      }
      cat << "\n\n";  // one gnuplot data block per N
    }
    CRPSGD_RETURN_IF_ERROR(WriteFileAtomic(dir / "catalyst.dat", cat.str()));

    // Paths relative to the script's folder (GnuplotPreamble cds there).
    auto q = [](const std::filesystem::path& p) { return GnuplotString(p.filename().string()); };
    const std::string cr_dat = q(dir / "cr_psgd.dat");
    std::ostringstream gp;
    gp << GnuplotPreamble("crpsgd theory-check")
       << kGnuplotKeyBeside << "set grid\nset autoscale xfix\n"
       << "set format x '10^{%T}'\nset format y '%g'\n"
       << "set style fill transparent solid 0.1 noborder\n";
    auto output = [&](const std::string& name, const char* term, const char* ext) {
      gp << "set terminal " << term << "\nset output " << q(dir / (name + ext)) << "\n";
    };
    for (const auto& [term, ext] : {std::pair{"pngcairo size 1200,600", ".png"}, std::pair{"svg size 1200,600", ".svg"}}) {
      const Fit& fit = round_fits_.at(1);
      output("cr_psgd_rounds", term, ext);
      gp << "set title " << GnuplotString("CR-PSGD rounds against T: a straight line on a log T axis is O(log T) (fit R² = " +
                                          Format("%.4f", fit.r_squared) + ")")
         << "\nset xlabel 'per-worker SFO budget T (log scale)'\nset ylabel 'communication rounds'\n"
         << "set logscale x\nunset logscale y\n"
         << "plot " << cr_dat << " using 1:2 with points pt 7 ps 1.2 title 'cr-psgd (B1 = " << kFirstBatch
         << ", rho = " << kGrowth << "; every N)', " << fit.intercept << " + " << fit.slope
         << "*log(x) with lines lc rgb 'black' lw 2 title " << GnuplotString("fit " + Format("%.3g", fit.intercept) + " + " +
                                                              Format("%.3g", fit.slope) + "·ln T")
         << "\n";
      output("rounds_vs_budget", term, ext);
      gp << "set title 'Communication rounds against T, N = 8'\nset xlabel 'per-worker SFO budget T (log scale)'\n"
         << "set ylabel 'communication rounds (log scale)'\nset logscale xy\n"
         << "plot " << q(dir / "baselines.dat") << " using 1:2 with linespoints lw 2 pt 7 title 'psgd B = 1', "
         << q(dir / "baselines.dat") << " using 1:3 with linespoints lw 2 pt 7 title 'local-sgd b = 1, I = " << kSyncPeriod
         << "', " << cr_dat << " using 1:2 with linespoints lw 2 pt 7 title 'cr-psgd B1 = " << kFirstBatch
         << ", rho = " << kGrowth << "'\n";
      // One panel per N on a shared y range: four min–max bands drawn over
      // each other would hide one another.
      double highest = 0.0;
      for (int n : kWorkers) {
        for (std::uint64_t t : budgets_) highest = std::max(highest, ScaledError(n, t).max);
      }
      output("scaled_error", term, ext);
      gp << "set multiplot layout 2,2 title 'N·T·(f − f*) of CR-PSGD against T: flat means O(1/(NT)) (mean over "
         << flags_.seeds << " seeds, band: min–max)'\n"
         << "set xlabel 'per-worker SFO budget T (log scale)'\nset ylabel 'N·T·(f(x) − f*)'\n"
         << "set logscale x\nunset logscale y\n"  // from 0, so that flat looks flat
         << "set yrange [0:" << highest * 1.15 << "]\nset key inside bottom right horizontal\n";
      for (std::size_t i = 0; i < std::size(kWorkers); ++i) {
        const std::size_t mean = 3 + 3 * i;
        gp << "set title 'N = " << kWorkers[i] << "'\nplot " << cr_dat << " using 1:" << mean + 1 << ":" << mean + 2
           << " with filledcurves lc " << i + 1 << " fs transparent solid 0.25 title 'min–max', " << cr_dat
           << " using 1:" << mean << " with linespoints lc " << i + 1 << " lw 2 pt 7 title 'mean'\n";
      }
      gp << "unset multiplot\nset yrange [*:*]\nset title\n"
         << kGnuplotKeyBeside;
      const double gap1 = MeanGap("cr-psgd", 1, budgets_.back());
      output("speedup", term, ext);
      gp << "set title 'CR-PSGD error against workers at T = " << budgets_.back()
         << " (mean over seeds, bars: min–max)'\nset xlabel 'workers N (log scale)'\n"
         << "set ylabel 'f(x) − f* (log scale)'\nset logscale xy\nset xtics ('1' 1, '2' 2, '4' 4, '8' 8)\n"
         << "plot " << q(dir / "speedup.dat") << " using 1:2:3:4 with yerrorlines lw 2 pt 7 title 'cr-psgd', " << gap1
         << "/x with lines lc rgb 'black' dt 2 lw 2 title 'linear speedup: (f − f*)(N = 1)/N'\nset xtics autofreq\n";
      output("catalyst_rounds", term, ext);
      gp << "set title " << GnuplotString("CR-PSGD-Catalyst rounds against √(NT)·ln(T/N) (non-convex; fit R² = " +
                                          Format("%.4f", catalyst_fit_.r_squared) + ")")
         << "\nset xlabel '√(NT)·ln(T/N) (log scale)'\nset ylabel 'communication rounds (log scale)'\nset logscale xy\nplot ";
      for (std::size_t i = 0; i < std::size(kWorkers); ++i) {
        gp << q(dir / "catalyst.dat") << " index " << i << " using 1:2 with points pt 7 ps 1.2 title 'N = " << kWorkers[i]
           << "', ";
      }
      gp << catalyst_fit_.intercept << " + " << catalyst_fit_.slope << "*x with lines lc rgb 'black' lw 2 title 'fit'\n";
    }
    return RunGnuplot(dir / "figures.gp", gp.str());
  }

  const TheoryCheckFlags flags_;
  const TheoryCriteria criteria_;
  const std::filesystem::path out_;
  Dataset regression_, binary_;
  Constants constants_;
  std::vector<std::uint64_t> budgets_;
  std::vector<Sample> samples_;
  std::map<int, Fit> round_fits_;
  std::map<int, double> flat_ratio_;
  double speedup_ = 0;
  Fit catalyst_fit_;
  bool passed_ = false;
};

}  // namespace

Status RunTheoryCheck(const TheoryCheckFlags& flags, bool* passed) { return TheoryCheck(flags).Run(passed); }

}  // namespace crpsgd::cli
