#include "figures.h"

#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "crpsgd/metrics.h"

namespace crpsgd::cli {
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

}  // namespace

std::string GnuplotString(std::string s) {
  for (char& c : s) c = c == '"' ? '\'' : c;
  return "\"" + s + "\"";
}

Status RunGnuplot(const std::filesystem::path& path, const std::string& script) {
  CRPSGD_RETURN_IF_ERROR(WriteFileAtomic(path, script));
  std::filesystem::path log = path;
  log.replace_extension(".log");
  const std::string command = "gnuplot " + GnuplotString(path.string()) + " 2> " + GnuplotString(log.string());
  if (std::system(command.c_str()) != 0) {
    return Status::IOError("gnuplot failed on " + path.string() + " (see " + log.string() + "; is gnuplot installed?)");
  }
  std::error_code ec;
  std::filesystem::remove(log, ec);
  return Status::OK();
}

Status DrawFigures(const Job& job, const JobReport& report, const std::filesystem::path& out) {
  const std::filesystem::path dir = out / "figures";
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::IOError(dir.string() + ": cannot create: " + ec.message());
  const bool use_gap = report.f_star.has_value() && job.run.eval_samples == 0;
  const std::string y_label = use_gap ? "f(x) − f*" : "training loss f(x)";

  // One curve per run: the mean over seeds, aligned by evaluation (every seed
  // evaluates at the same rounds), with the min and max.
  std::map<int, std::vector<const RunOutcome*>> groups;
  for (const RunOutcome& o : report.runs) groups[o.request.group].push_back(&o);
  struct Series {
    std::string file, title;
    bool has_test = false;
  };
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
    s.title = std::string(AlgorithmName(first.request.options.kind)) + " " + first.request.options.Describe();
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
      dat << std::max(curves[0][i].sfo, 1.0) << " " << std::max(curves[0][i].round, 1.0) << " " << wall << " " << mean << " " << lo
          << " " << hi << " ";
      if (test) {
        dat << t_mean << " " << t_lo << " " << t_hi << "\n";
      } else {
        dat << "NaN NaN NaN\n";
      }
    }
    CRPSGD_RETURN_IF_ERROR(WriteFileAtomic(dir / s.file, dat.str()));
    series.push_back(s);
  }
  if (series.empty()) return Status::OK();

  // x column, axis label, log scale; rounds span decades, SFO and time do not always.
  struct Axis {
    const char* name;
    int column;
    const char* label;
    bool log;
  };
  const Axis axes[] = {{"SFO per worker", 1, "SFO calls per worker (stochastic gradients; log scale, start drawn at 1)",
                        true},
                       {"rounds", 2, "communication rounds (log scale; round 0 drawn at 1)", true},
                       {"wall time", 3, "wall time, seconds (training only; this machine)", false}};
  const bool several = job.seeds.size() > 1;
  std::ostringstream gp;
  gp << "# Generated by crpsgd compare; run with: gnuplot " << (dir / "figures.gp").string() << "\n"
     << "set datafile missing 'NaN'\nset key below\nset grid\n"
     << "set style fill transparent solid 0.2 noborder\n";
  auto plot = [&](const std::string& name, const Axis& axis, bool accuracy) {
    for (const char* term : {"pngcairo size 1000,600", "svg size 1000,600"}) {
      const std::string ext = std::string(term).rfind("png", 0) == 0 ? "png" : "svg";
      gp << "set terminal " << term << "\nset output " << GnuplotString((dir / (name + "." + ext)).string()) << "\n";
      gp << "set xlabel " << GnuplotString(axis.label) << "\n";
      gp << "set ylabel " << GnuplotString(accuracy ? "test accuracy" : y_label + (use_gap ? " (log scale)" : "")) << "\n";
      gp << (axis.log ? "set logscale x\n" : "unset logscale x\n");
      gp << (!accuracy && use_gap ? "set logscale y\n" : "unset logscale y\n");
      gp << "set title " << GnuplotString((accuracy ? std::string("test accuracy") : y_label) + " against " + axis.name +
                                  (several ? " (mean over " + std::to_string(job.seeds.size()) + " seeds, band: min–max)"
                                           : ""))
         << "\nplot ";
      bool first = true;
      int color = 1;
      for (const Series& s : series) {
        if (accuracy && !s.has_test) continue;
        const std::string file = GnuplotString((dir / s.file).string());
        const int mean = accuracy ? 7 : 4, lo = mean + 1, hi = mean + 2;
        if (!first) gp << ", \\\n     ";
        first = false;
        if (several) {
          gp << file << " using " << axis.column << ":" << lo << ":" << hi << " with filledcurves lc " << color
             << " notitle, \\\n     ";
        }
        gp << file << " using " << axis.column << ":" << mean << " with linespoints lc " << color << " lw 2 pt 7 ps 0.5 title "
           << GnuplotString(s.title);
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

}  // namespace crpsgd::cli
