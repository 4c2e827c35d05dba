#include "crpsgd/job_figures.h"

#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <vector>

#include <nlohmann/json.hpp>

#include "crpsgd/gnuplot.h"
#include "crpsgd/job.h"
#include "crpsgd/metrics.h"

namespace crpsgd {
namespace {

struct Point {
  double sfo = 0, round = 0, wall = 0, y = 0;
  std::optional<double> test_accuracy;
};

Result<std::vector<Point>> ReadCurve(const std::filesystem::path& metrics, bool use_gap) {
  std::ifstream in(metrics);
  if (!in) return Status::IOError(metrics.string() + ": cannot open for reading");
  std::vector<Point> curve;
  std::string line;
  while (std::getline(in, line)) {
    const auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) return Status::Corruption(metrics.string() + ": a line is not JSON");
    const auto& y = use_gap ? j["f_gap"] : j["loss"];
    if (y.is_null()) continue;
    Point p;
    p.sfo = j["sfo_per_worker"].get<double>();
    p.round = j["round"].get<double>();
    p.wall = j["wall_s"].get<double>();
    p.y = y.get<double>();
    if (j.contains("test_accuracy")) p.test_accuracy = j["test_accuracy"].get<double>();
    curve.push_back(p);
  }
  return curve;
}

// A legend entry in lines of at most about 24 characters, so that a long
// run description does not squeeze the plot beside it. gnuplot's key does
// not space multi-line titles, so each further line is a keyentry of its own.
std::vector<std::string> WrapForKey(const std::string& title) {
  constexpr std::size_t kWidth = 24;
  std::istringstream words(title);
  std::vector<std::string> lines(1);
  std::string word;
  while (words >> word) {
    if (!lines.back().empty() && lines.back().size() + 1 + word.size() > kWidth) lines.emplace_back("  ");
    lines.back() += (lines.back().empty() || lines.back() == "  " ? "" : " ") + word;
  }
  return lines;
}

struct Series {
  std::string file;
  std::vector<std::string> title;  // the legend entry's lines
  bool has_test = false;
};

// One curve per run, written to dir/runK.dat: the mean over seeds, aligned by
// evaluation (every seed evaluates at the same rounds), with the min and max.
Result<std::vector<Series>> WriteSeries(const JobSpec& job, const JobReport& report, const std::filesystem::path& out,
                                        const std::filesystem::path& dir, bool use_gap) {
  std::map<int, std::vector<const RunOutcome*>> groups;
  for (const RunOutcome& o : report.runs) groups[o.request.group].push_back(&o);
  std::vector<Series> series;
  for (const auto& [group, outcomes] : groups) {
    std::vector<std::vector<Point>> curves;
    for (const RunOutcome* o : outcomes) {
      if (!o->status.ok()) continue;
      std::filesystem::path metrics = out;
      if (job.seeds.size() > 1) metrics /= "seed-" + std::to_string(o->seed);
      metrics /= o->request.name;
      CRPSGD_ASSIGN_OR_RETURN(std::vector<Point> curve, ReadCurve(metrics / "metrics.jsonl", use_gap));
      curves.push_back(std::move(curve));
    }
    if (curves.empty()) continue;
    std::size_t length = curves.front().size();
    for (const auto& c : curves) length = std::min(length, c.size());
    Series s;
    s.file = "run" + std::to_string(group + 1) + ".dat";
    const RunOutcome& first = *outcomes.front();
    s.title = WrapForKey(std::string(AlgorithmName(first.request.options.kind)) + " " + first.Parameters());
    std::ostringstream dat;
    dat << "# sfo_per_worker round wall_s mean min max test_mean test_min test_max (" << curves.size() << " seeds)\n";
    for (std::size_t i = 0; i < length; ++i) {
      double mean = 0, lo = curves[0][i].y, hi = lo, wall = 0, t_mean = 0, t_lo = 1, t_hi = 0;
      bool test = true;
      for (const auto& c : curves) {
        mean += c[i].y / curves.size();
        wall += c[i].wall / curves.size();
        lo = std::min(lo, c[i].y);
        hi = std::max(hi, c[i].y);
        if (!c[i].test_accuracy) {
          test = false;
          continue;
        }
        t_mean += *c[i].test_accuracy / curves.size();
        t_lo = std::min(t_lo, *c[i].test_accuracy);
        t_hi = std::max(t_hi, *c[i].test_accuracy);
      }
      s.has_test = s.has_test || test;
      dat << curves[0][i].sfo << " " << curves[0][i].round << " " << wall << " " << mean << " " << lo << " " << hi
          << " ";
      if (test) {
        dat << t_mean << " " << t_lo << " " << t_hi << "\n";
      } else {
        dat << "NaN NaN NaN\n";
      }
    }
    CRPSGD_RETURN_IF_ERROR(WriteFileAtomic(dir / s.file, dat.str()));
    series.push_back(s);
  }
  return series;
}

}  // namespace

Status DrawJobFigures(const JobSpec& job, const JobReport& report, const std::filesystem::path& out) {
  const std::filesystem::path dir = out / "figures";
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::IOError(dir.string() + ": cannot create: " + ec.message());
  const bool use_gap = report.f_star.has_value() && job.eval_samples == 0;
  const std::string y_label = use_gap ? "f(x) − f*" : "training loss f(x)";
  CRPSGD_ASSIGN_OR_RETURN(const std::vector<Series> series, WriteSeries(job, report, out, dir, use_gap));
  if (series.empty()) return Status::OK();

  // Every x axis is logarithmic: rounds span decades, and so do the methods'
  // SFO and wall times (CR-PSGD ends in a few percent of PSGD's time). The
  // start (x = 0) has no place on a log axis and is left out.
  struct Axis {
    const char* name;
    int column;
    const char* label;
  };
  const Axis axes[] = {{"SFO per worker", 1, "SFO calls per worker (stochastic gradients; log scale)"},
                       {"rounds", 2, "communication rounds (log scale)"},
                       {"wall time", 3, "wall time, seconds (training only, this machine; log scale)"}};
  const bool several = job.seeds.size() > 1;
  std::ostringstream gp;
  gp << GnuplotPreamble("crpsgd compare") << "set datafile missing 'NaN'\n"
     << kGnuplotKeyBeside
     << "set grid\nset autoscale fix\nset offsets 0, 0, graph 0.04, graph 0.04\n"  // axes fit the data
     << "set format x '%g'\nset format y '%g'\n"
     << "set style fill transparent solid 0.12 noborder\n";
  auto plot = [&](const std::string& name, const Axis& axis, bool accuracy) {
    for (const char* term : {"pngcairo size 1200,600", "svg size 1200,600"}) {
      const std::string ext = std::string(term).rfind("png", 0) == 0 ? "png" : "svg";
      gp << "set terminal " << term << "\nset output " << GnuplotString(name + "." + ext) << "\n";
      gp << "set xlabel " << GnuplotString(axis.label) << "\n";
      gp << "set ylabel " << GnuplotString(accuracy ? "test accuracy" : y_label + (use_gap ? " (log scale)" : ""))
         << "\n";
      gp << "set logscale x\n";
      gp << (!accuracy && use_gap ? "set logscale y\n" : "unset logscale y\n");
      gp << "set title "
         << GnuplotString((accuracy ? std::string("test accuracy") : y_label) + " against " + axis.name +
                          (several ? " (mean over " + std::to_string(job.seeds.size()) + " seeds, band: min–max)" : ""))
         << "\nplot ";
      bool first = true;
      int color = 1;
      // Round 0 (the start) is left out on every axis: its x is 0, or on the
      // wall-time axis a few nanoseconds, decades left of the run.
      const std::string x = "($2 > 0 ? $" + std::to_string(axis.column) + " : NaN)";
      for (const Series& s : series) {
        if (accuracy && !s.has_test) continue;
        const std::string file = GnuplotString(s.file);
        const int mean = accuracy ? 7 : 4, lo = mean + 1, hi = mean + 2;
        if (!first) gp << ", \\\n     ";
        first = false;
        if (several) {
          gp << file << " using " << x << ":" << lo << ":" << hi << " with filledcurves lc " << color
             << " notitle, \\\n     ";
        }
        gp << file << " using " << x << ":" << mean << " with linespoints lc " << color << " lw 2 pt 7 ps 0.5 title "
           << GnuplotString(s.title.front());
        for (std::size_t k = 1; k < s.title.size(); ++k) gp << ", keyentry title " << GnuplotString(s.title[k]);
        ++color;
      }
      gp << "\n";
    }
  };
  const char* files[] = {"sfo", "rounds", "wall"};
  for (int a = 0; a < 3; ++a) plot(std::string("loss_vs_") + files[a], axes[a], false);
  bool any_test = false;
  for (const Series& s : series) any_test = any_test || s.has_test;
  if (any_test) {
    plot("test_accuracy_vs_sfo", axes[0], true);
    plot("test_accuracy_vs_rounds", axes[1], true);
  }
  return RunGnuplot(dir / "figures.gp", gp.str());
}

}  // namespace crpsgd
