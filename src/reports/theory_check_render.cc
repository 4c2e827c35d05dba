// theory-check's rendering: table.md, results.csv and the figures, from the
// measurements and the judgement.
#include <algorithm>
#include <filesystem>
#include <sstream>

#include "crpsgd/metrics.h"
#include "crpsgd/gnuplot.h"
#include "theory_check_parts.h"

namespace crpsgd::theory {
namespace {

std::string Verdict(bool ok) { return ok ? "**pass**" : "**FAIL**"; }

}  // namespace

std::string RenderCsv(const Measurements& m) {
  std::ostringstream os;
  os << "method,workers,budget,seed,rounds,sfo_per_worker,f_minus_f_star,gradient_norm,wall_s\n";
  os.precision(10);
  for (const Sample& s : m.samples) {
    os << s.method << "," << s.workers << "," << s.budget << "," << s.seed << "," << s.rounds << "," << s.sfo_per_worker
       << ",";
    if (!s.gradient_norm) os << s.gap;
    os << ",";
    if (s.gradient_norm) os << *s.gradient_norm;
    os << "," << s.wall_s << "\n";
  }
  return os.str();
}

std::string RenderTable(const Measurements& m, const Judgement& j) {
  const Constants& c = m.constants;
  const BudgetPoint& largest = m.points.back();
  std::ostringstream md;
  md << "# crpsgd theory-check\n\n"
     << "Least squares f(x) = (1/2n)‖Ax − y‖² on generated data: n = " << kSamples << ", d = " << kFeatures
     << ", feature variances from 1 to 1/" << kCondition << ", label noise " << kNoise << ", data seed " << kDataSeed
     << ".\nConstants, exact from the data: L = " << Format("%.5g", c.lipschitz) << ", μ = " << Format("%.5g", c.mu)
     << " (L/μ = " << Format("%.3g", c.lipschitz / c.mu) << "), σ² = E‖∇F(x*; i)‖² = " << Format("%.5g", c.sigma2)
     << ", f* = " << Format("%.10g", c.f_star) << ".\nCR-PSGD: γ = 1/L, B₁ = " << kFirstBatch << ", ρ = " << kGrowth
     << "; N·T·(f − f*) is the mean over seeds 1.." << m.seeds << " (min–max in the figure).\n\n";

  md << "## CR-PSGD: rounds and N·T·(f − f*) against T\n\n| T | rounds |";
  for (int n : kWorkers) md << " N·T·(f − f*), N = " << n << " |";
  md << "\n|---|---|";
  for (std::size_t i = 0; i < kWorkers.size(); ++i) md << "---|";
  md << "\n";
  for (const BudgetPoint& p : m.points) {
    md << "| " << p.budget << " | " << p.cr_psgd_rounds << " |";
    for (std::size_t i = 0; i < kWorkers.size(); ++i) md << " " << Format("%.4g", ScaledError(p, i).mean) << " |";
    md << "\n";
  }
  md << "\nRounds do not depend on N (B_t is per worker). The O(1/(NT)) bound predicts a flat N·T·(f − f*) once the "
        "start is forgotten (the bias term shrinks like T^(−2) here).\n\n";

  md << "## Criteria\n\n| criterion | measured | floor | verdict |\n|---|---|---|---|\n";
  for (const Claim& claim : j.claims) {
    md << "| " << claim.statement << " | " << claim.measured << " | " << claim.floor << " | " << Verdict(claim.holds)
       << " |\n";
  }
  md << "\n";

  md << "## Error against N at T = " << largest.budget << "\n\n| N | f − f* (mean) | N·(f − f*) |\n|---|---|---|\n";
  for (std::size_t i = 0; i < kWorkers.size(); ++i) {
    const double gap = Summarize(largest.cr_psgd_gaps[i]).mean;
    md << "| " << kWorkers[i] << " | " << Format("%.4g", gap) << " | " << Format("%.4g", kWorkers[i] * gap) << " |\n";
  }

  md << "\n## Rounds of the baselines (N = 8)\n\nPSGD (B = 1) and local SGD (b = 1, I = " << kSyncPeriod
     << ") at γ = 1/(L + tr H) = " << Format("%.4g", 1.0 / (c.lipschitz + c.trace))
     << ", the step that is stable for single samples; seed 1; T ≤ " << kBaselineMaxBudget
     << " (PSGD needs T rounds).\n\n| T | cr-psgd rounds | psgd rounds | local-sgd rounds | cr-psgd f − f* | psgd f − "
        "f* | "
        "local-sgd f − f* |\n|---|---|---|---|---|---|---|\n";
  constexpr std::size_t kEight = kWorkers.size() - 1;  // N = 8
  for (const BudgetPoint& p : m.points) {
    if (!p.psgd || !p.local_sgd) continue;  // T > kBaselineMaxBudget
    const Sample &psgd = (*p.psgd)[kEight], &local = (*p.local_sgd)[kEight];
    md << "| " << p.budget << " | " << p.cr_psgd_rounds << " | " << psgd.rounds << " | " << local.rounds << " | "
       << Format("%.3g", Summarize(p.cr_psgd_gaps[kEight]).mean) << " | " << Format("%.3g", psgd.gap) << " | "
       << Format("%.3g", local.gap) << " |\n";
  }

  md << "\n## CR-PSGD-Catalyst: rounds against √(NT)·ln(T/N)\n\nNon-convex logistic regression (λ Σ x²/(1 + x²), "
        "λ = "
     << kNonconvexLambda << ") on the same features with ±1 labels; θ = 2L, γ = 1/(L + θ), B₁ = 1, ρ = " << kGrowth
     << ", K = ⌊√(NT)⌋, inner budget ⌊√(T/N)⌋; seed 1.\nFit over all N and T: rounds = "
     << Format("%.3g", j.catalyst_fit.intercept) << " + " << Format("%.3g", j.catalyst_fit.slope)
     << "·√(NT)·ln(T/N), R² = " << Format("%.4f", j.catalyst_fit.r_squared)
     << ".\n\n| N | T | rounds | √(NT)·ln(T/N) | rounds / (√(NT)·ln(T/N)) | ‖∇f‖ at the end "
        "|\n|---|---|---|---|---|---|\n";
  for (const Sample& s : m.samples) {
    if (s.method != "cr-psgd-catalyst") continue;
    const double x = CatalystX(s.workers, s.budget);
    md << "| " << s.workers << " | " << s.budget << " | " << s.rounds << " | " << Format("%.4g", x) << " | "
       << Format("%.3g", static_cast<double>(s.rounds) / x) << " | " << Format("%.3g", s.gradient_norm.value_or(0))
       << " |\n";
  }
  md << "\nVerdict: " << (j.passed ? "every criterion holds." : "at least one criterion FAILED.") << "\n";
  return md.str();
}

namespace {

// The data files the figures plot: cr_psgd.dat, baselines.dat, speedup.dat, catalyst.dat.
Status WriteFigureData(const Measurements& m, const std::filesystem::path& dir) {
  const BudgetPoint& largest = m.points.back();
  // cr-psgd: T, rounds, then mean/min/max of N·T·(f − f*) for each N.
  std::ostringstream cr;
  cr << "# T rounds";
  for (int n : kWorkers) cr << " mean_N" << n << " min_N" << n << " max_N" << n;
  cr << "\n";
  for (const BudgetPoint& p : m.points) {
    cr << p.budget << " " << p.cr_psgd_rounds;
    for (std::size_t i = 0; i < kWorkers.size(); ++i) {
      const Stats s = ScaledError(p, i);
      cr << " " << s.mean << " " << s.min << " " << s.max;
    }
    cr << "\n";
  }
  CRPSGD_RETURN_IF_ERROR(WriteFileAtomic(dir / "cr_psgd.dat", cr.str()));
  std::ostringstream base;
  base << "# T psgd_rounds local_sgd_rounds (N = 8)\n";
  for (const BudgetPoint& p : m.points) {
    if (!p.psgd || !p.local_sgd) continue;  // T > kBaselineMaxBudget
    base << p.budget << " " << p.psgd->back().rounds << " " << p.local_sgd->back().rounds << "\n";
  }
  CRPSGD_RETURN_IF_ERROR(WriteFileAtomic(dir / "baselines.dat", base.str()));
  std::ostringstream speed;
  speed << "# N mean_gap min_gap max_gap at T = " << largest.budget << "\n";
  for (std::size_t i = 0; i < kWorkers.size(); ++i) {
    const Stats st = Summarize(largest.cr_psgd_gaps[i]);
    speed << kWorkers[i] << " " << st.mean << " " << st.min << " " << st.max << "\n";
  }
  CRPSGD_RETURN_IF_ERROR(WriteFileAtomic(dir / "speedup.dat", speed.str()));
  std::ostringstream cat;
  cat << "# sqrt(NT)ln(T/N) rounds N T\n";
  for (int n : kWorkers) {
    for (const Sample& s : m.samples) {
      if (s.method == "cr-psgd-catalyst" && s.workers == n) {
        cat << CatalystX(n, s.budget) << " " << s.rounds << " " << n << " " << s.budget << "\n";
      }
    }
    cat << "\n\n";  // one gnuplot data block per N
  }
  return WriteFileAtomic(dir / "catalyst.dat", cat.str());
}

// A file of the figures' folder as the script names it (GnuplotPreamble cds there).
std::string InFolder(const std::filesystem::path& file) { return GnuplotString(file.filename().string()); }

// Where the next plot goes: `name` + `ext` in `dir`, on terminal `term`.
struct FigureOutput {
  const std::filesystem::path& dir;
  const char* term;
  const char* ext;
  void Set(std::ostream& gp, const std::string& name) const {
    gp << "set terminal " << term << "\nset output " << InFolder(dir / (name + ext)) << "\n";
  }
};

// CR-PSGD's rounds against T with the log fit, and all three methods' rounds.
void PlotRounds(std::ostream& gp, const Judgement& j, const FigureOutput& out) {
  const std::string cr_dat = InFolder(out.dir / "cr_psgd.dat"), base_dat = InFolder(out.dir / "baselines.dat");
  const Fit& fit = j.round_fits.front();
  out.Set(gp, "cr_psgd_rounds");
  gp << "set title "
     << GnuplotString("CR-PSGD rounds against T: a straight line on a log T axis is O(log T) (fit R² = " +
                      Format("%.4f", fit.r_squared) + ")")
     << "\nset xlabel 'per-worker SFO budget T (log scale)'\nset ylabel 'communication rounds'\n"
     << "set logscale x\nunset logscale y\n"
     << "plot " << cr_dat << " using 1:2 with points pt 7 ps 1.2 title 'cr-psgd (B1 = " << kFirstBatch
     << ", rho = " << kGrowth << "; every N)', " << fit.intercept << " + " << fit.slope
     << "*log(x) with lines lc rgb 'black' lw 2 title "
     << GnuplotString("fit " + Format("%.3g", fit.intercept) + " + " + Format("%.3g", fit.slope) + "·ln T") << "\n";
  out.Set(gp, "rounds_vs_budget");
  gp << "set title 'Communication rounds against T, N = 8'\nset xlabel 'per-worker SFO budget T (log scale)'\n"
     << "set ylabel 'communication rounds (log scale)'\nset logscale xy\n"
     << "plot " << base_dat << " using 1:2 with linespoints lw 2 pt 7 title 'psgd B = 1', " << base_dat
     << " using 1:3 with linespoints lw 2 pt 7 title 'local-sgd b = 1, I = " << kSyncPeriod << "', " << cr_dat
     << " using 1:2 with linespoints lw 2 pt 7 title 'cr-psgd B1 = " << kFirstBatch << ", rho = " << kGrowth << "'\n";
}

// N·T·(f − f*) against T, one panel per N on a shared y range: four min–max
// bands drawn over each other would hide one another.
void PlotScaledError(std::ostream& gp, const Measurements& m, const FigureOutput& out) {
  const std::string cr_dat = InFolder(out.dir / "cr_psgd.dat");
  double highest = 0.0;
  for (std::size_t i = 0; i < kWorkers.size(); ++i) {
    for (const BudgetPoint& p : m.points) highest = std::max(highest, ScaledError(p, i).max);
  }
  out.Set(gp, "scaled_error");
  gp << "set multiplot layout 2,2 title 'N·T·(f − f*) of CR-PSGD against T: flat means O(1/(NT)) (mean over " << m.seeds
     << " seeds, band: min–max)'\n"
     << "set xlabel 'per-worker SFO budget T (log scale)'\nset ylabel 'N·T·(f(x) − f*)'\n"
     << "set logscale x\nunset logscale y\n"  // from 0, so that flat looks flat
     << "set yrange [0:" << highest * 1.15 << "]\nset key inside bottom right horizontal\n";
  for (std::size_t i = 0; i < kWorkers.size(); ++i) {
    const std::size_t mean = 3 + 3 * i;
    gp << "set title 'N = " << kWorkers[i] << "'\nplot " << cr_dat << " using 1:" << mean + 1 << ":" << mean + 2
       << " with filledcurves lc " << i + 1 << " fs transparent solid 0.25 title 'min–max', " << cr_dat
       << " using 1:" << mean << " with linespoints lc " << i + 1 << " lw 2 pt 7 title 'mean'\n";
  }
  gp << "unset multiplot\nset yrange [*:*]\nset title\n" << kGnuplotKeyBeside;
}

// The error against N at the largest T, and Catalyst's rounds against its bound.
void PlotSpeedupAndCatalyst(std::ostream& gp, const Measurements& m, const Judgement& j, const FigureOutput& out) {
  const BudgetPoint& largest = m.points.back();
  const double gap1 = Summarize(largest.cr_psgd_gaps.front()).mean;
  out.Set(gp, "speedup");
  gp << "set title 'CR-PSGD error against workers at T = " << largest.budget
     << " (mean over seeds, bars: min–max)'\nset xlabel 'workers N (log scale)'\n"
     << "set ylabel 'f(x) − f* (log scale)'\nset logscale xy\nset xtics ('1' 1, '2' 2, '4' 4, '8' 8)\n"
     << "plot " << InFolder(out.dir / "speedup.dat") << " using 1:2:3:4 with yerrorlines lw 2 pt 7 title 'cr-psgd', "
     << gap1
     << "/x with lines lc rgb 'black' dt 2 lw 2 title 'linear speedup: (f − f*)(N = 1)/N'\nset xtics autofreq\n";
  out.Set(gp, "catalyst_rounds");
  gp << "set title "
     << GnuplotString("CR-PSGD-Catalyst rounds against √(NT)·ln(T/N) (non-convex; fit R² = " +
                      Format("%.4f", j.catalyst_fit.r_squared) + ")")
     << "\nset xlabel '√(NT)·ln(T/N) (log scale)'\nset ylabel 'communication rounds (log scale)'\nset logscale "
        "xy\nplot ";
  for (std::size_t i = 0; i < kWorkers.size(); ++i) {
    gp << InFolder(out.dir / "catalyst.dat") << " index " << i
       << " using 1:2 with points pt 7 ps 1.2 title 'N = " << kWorkers[i] << "', ";
  }
  gp << j.catalyst_fit.intercept << " + " << j.catalyst_fit.slope << "*x with lines lc rgb 'black' lw 2 title 'fit'\n";
}

}  // namespace

Status DrawFigures(const Measurements& m, const Judgement& j, const std::filesystem::path& dir) {
  CRPSGD_RETURN_IF_ERROR(WriteFigureData(m, dir));
  std::ostringstream gp;
  gp << GnuplotPreamble("crpsgd theory-check") << kGnuplotKeyBeside << "set grid\nset autoscale xfix\n"
     << "set format x '10^{%T}'\nset format y '%g'\n"
     << "set style fill transparent solid 0.1 noborder\n";
  for (const auto& [term, ext] :
       {std::pair{"pngcairo size 1200,600", ".png"}, std::pair{"svg size 1200,600", ".svg"}}) {
    const FigureOutput out{dir, term, ext};
    PlotRounds(gp, j, out);
    PlotScaledError(gp, m, out);
    PlotSpeedupAndCatalyst(gp, m, j, out);
  }
  return RunGnuplot(dir / "figures.gp", gp.str());
}

}  // namespace crpsgd::theory
