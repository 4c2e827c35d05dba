#include "report.h"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <map>
#include <sstream>

namespace crpsgd::cli {
namespace {

std::string Num(double v, int precision = 4) {
  std::ostringstream os;
  os << std::setprecision(precision) << v;
  return os.str();
}

// Whole rounds as they are; a mean over seeds (--rho auto) to one decimal.
std::string Rounds(double rounds) {
  std::ostringstream os;
  if (rounds == std::round(rounds)) {
    os << static_cast<std::uint64_t>(rounds);
  } else {
    os << std::fixed << std::setprecision(1) << rounds;
  }
  return os.str();
}

// The step as a multiple of 1/L̂: the grid's or auto*K's K, or γ·L̂ of --lr auto.
std::optional<double> StepMultiple(const RunOutcome& o) {
  if (o.request.lr_multiple) return o.request.lr_multiple;
  if (o.request.safe_step && o.summary.lipschitz) return o.summary.algorithm.lr * *o.summary.lipschitz;
  return std::nullopt;
}

TableRow Aggregate(std::vector<const RunOutcome*> outcomes) {
  TableRow row;
  row.seeds = std::move(outcomes);
  const double n = static_cast<double>(row.seeds.size());
  row.has_gap = true;
  row.min_gap = std::numeric_limits<double>::infinity();
  row.max_gap = -row.min_gap;
  for (const RunOutcome* o : row.seeds) {
    if (!o->status.ok()) {
      row.diverged = true;
      continue;
    }
    const RunSummary& s = o->summary;
    row.mean_loss += s.final_loss / n;
    row.mean_wall_s += s.wall_s / n;
    row.mean_comm_s += s.comm_s / n;
    row.mean_rounds += static_cast<double>(s.rounds) / n;
    row.mean_rounds_to_target +=
        s.reached ? static_cast<double>(s.reached->round) / n : std::numeric_limits<double>::infinity();
    if (!s.f_star) {
      row.has_gap = false;
      continue;
    }
    const double gap = s.final_loss - *s.f_star;
    row.mean_gap += gap / n;
    row.min_gap = std::min(row.min_gap, gap);
    row.max_gap = std::max(row.max_gap, gap);
  }
  return row;
}

}  // namespace

std::vector<TableRow> TableRows(const Job& job, const JobReport& report) {
  std::vector<TableRow> rows;
  if (!job.spec.sweep) {
    for (const RunOutcome& o : report.runs) rows.push_back(Aggregate({&o}));
    return rows;
  }
  // (group, step) -> outcomes over seeds, in the order given.
  std::map<int, std::vector<std::vector<const RunOutcome*>>> by_group;
  std::map<std::pair<int, double>, std::size_t> slot;
  for (const RunOutcome& o : report.runs) {
    const auto key = std::make_pair(o.request.group, o.request.lr_multiple.value_or(0.0));
    auto& steps = by_group[o.request.group];
    auto [it, inserted] = slot.emplace(key, steps.size());
    if (inserted) steps.emplace_back();
    steps[it->second].push_back(&o);
  }
  // The best step: the lowest mean final loss, or with targets the fewest
  // mean rounds to them (then the lowest loss).
  const bool targets = job.spec.targets.any();
  const auto better = [targets](const TableRow& a, const TableRow& b) {
    if (targets && a.mean_rounds_to_target != b.mean_rounds_to_target) {
      return a.mean_rounds_to_target < b.mean_rounds_to_target;
    }
    return a.mean_loss < b.mean_loss;
  };
  for (auto& [group, steps] : by_group) {
    std::optional<TableRow> best;
    for (auto& outcomes : steps) {
      TableRow row = Aggregate(outcomes);
      if (!best || (best->diverged && !row.diverged) || (!row.diverged && !best->diverged && better(row, *best))) {
        best = std::move(row);
      }
    }
    rows.push_back(std::move(*best));
  }
  return rows;
}

// Rounds and SFO to the target, means over the seeds that reached it ("not
// reached", or "(k of n seeds)" when only some did).
static std::string TargetColumns(const TableRow& row) {
  double rounds = 0.0, sfo = 0.0;
  std::size_t reached = 0;
  for (const RunOutcome* seed : row.seeds) {
    if (const auto& r = seed->summary.reached) {
      rounds += static_cast<double>(r->round), sfo += static_cast<double>(r->sfo_per_worker), ++reached;
    }
  }
  if (reached == 0) return " not reached | — |";
  const std::string some = reached < row.seeds.size()
                               ? " (" + std::to_string(reached) + " of " + std::to_string(row.seeds.size()) + " seeds)"
                               : "";
  std::string columns = " ";  // appended: GCC 12 warns (-Wrestrict, a false alarm) on " " + std::string
  columns += Rounds(rounds / reached) + some + " | " + Num(sfo / reached) + " |";
  return columns;
}

std::string FormatTable(const Job& job, const JobReport& report) {
  const std::vector<TableRow> rows = TableRows(job, report);
  const bool several_seeds = job.spec.seeds.size() > 1;
  bool has_test = false;
  for (const TableRow& row : rows) has_test = has_test || (!row.diverged && row.seeds.front()->summary.test_accuracy);
  std::ostringstream os;
  os << "| algorithm | parameters | step (×1/L) | γ | rounds | planned rounds | SFO/worker | budget left | final loss "
        "| "
        "f − f* |";
  if (several_seeds) os << " f − f* range |";
  const bool has_target = job.spec.targets.any();
  os << " f − f* vs first | rounds vs first | wall s | comm s |" << (has_test ? " test accuracy |" : "")
     << (has_target ? " rounds to target | SFO/worker to target |" : "") << "\n|";
  const int columns = (several_seeds ? 15 : 14) + (has_test ? 1 : 0) + (has_target ? 2 : 0);
  for (int i = 0; i < columns; ++i) os << "---|";
  os << "\n";
  const TableRow* first = rows.empty() || rows.front().diverged ? nullptr : &rows.front();
  for (const TableRow& row : rows) {
    const RunOutcome& o = *row.seeds.front();
    os << "| " << AlgorithmName(o.request.options.kind) << " | " << o.Parameters() << " | ";
    if (row.diverged) {
      os << (job.spec.sweep ? "diverged at every step |" : "diverged |");
      for (int i = 3; i < columns; ++i) os << " — |";
      os << "\n";
      continue;
    }
    const RunSummary& s = o.summary;  // SFO is the same for every seed, and so are rounds but with --rho auto
    const std::optional<double> multiple = StepMultiple(o);
    // Algorithm 1's plan (every fixed schedule's); --rho auto's fewest rounds, at
    // a doubling batch, as a lower bound.
    const AlgorithmPlan plan = PlanAlgorithm(s.algorithm, s.workers);
    os << (multiple ? Num(*multiple) : std::string("—")) << " | " << Num(s.algorithm.lr) << " | "
       << Rounds(row.mean_rounds) << " | " << (plan.exact ? "" : "≥ ") << plan.rounds << " | " << s.sfo_per_worker
       << " | " << s.budget_left << " | " << Num(row.mean_loss, 8) << " | " << (row.has_gap ? Num(row.mean_gap) : "—")
       << " | ";
    if (several_seeds) os << (row.has_gap ? Num(row.min_gap, 3) + "–" + Num(row.max_gap, 3) : "—") << " | ";
    if (first != nullptr && row.has_gap && first->has_gap && first->mean_gap > 0) {
      os << Num(row.mean_gap / first->mean_gap, 3) << "× | ";
    } else {
      os << "— | ";
    }
    const double first_rounds = first != nullptr ? first->mean_rounds : 0.0;
    os << (first_rounds > 0 && row.mean_rounds > 0 ? "1/" + Num(first_rounds / row.mean_rounds, 4) : "—") << " | "
       << Num(row.mean_wall_s, 3) << " | " << Num(row.mean_comm_s, 3) << " |";
    if (has_test) {
      double mean = 0.0;  // over the seeds
      for (const RunOutcome* seed : row.seeds) mean += seed->summary.test_accuracy.value_or(0.0) / row.seeds.size();
      os << " " << Num(mean, 4) << " |";
    }
    if (has_target) os << TargetColumns(row);
    os << "\n";
  }
  return os.str();
}

std::string ConditionLine(const Job& job, const JobReport& report) {
  if (!report.lipschitz || job.network() || !(job.data.lambda > 0)) return "";
  char line[256];
  std::snprintf(line, sizeof line, "κ̂ = L̂/λ = %.4g (L̂ = %.6g, λ = %g): the condition number the step and ρ face\n",
                report.lipschitz->value / job.data.lambda, report.lipschitz->value, job.data.lambda);
  return line;
}

std::string FormatCsv(const JobReport& report) {
  std::ostringstream os;
  os << "algo,params,seed,lr_multiple,lr,status,rounds,sfo_per_worker,sfo_total,budget_left,final_loss,f_star,f_gap,"
        "wall_s,comm_s,net_model_s,bytes,test_accuracy\n";
  for (const RunOutcome& o : report.runs) {
    const RunSummary& s = o.summary;
    const std::optional<double> multiple = StepMultiple(o);
    os << AlgorithmName(o.request.options.kind) << ",\"" << o.Parameters() << "\"," << o.seed << ","
       << (multiple ? Num(*multiple, 6) : "") << ",";
    if (!o.status.ok()) {  // the step it diverged at, where it was given (a safe step is resolved in the run)
      const bool given = !multiple && !o.request.safe_step && o.request.options.lr > 0.0;
      os << (given ? Num(o.request.options.lr, 10) : "") << ",diverged,,,,,,,,,,,,\n";
      continue;
    }
    os << Num(s.algorithm.lr, 10) << ",ok," << s.rounds << "," << s.sfo_per_worker << "," << s.sfo_total << ","
       << s.budget_left << "," << Num(s.final_loss, 12) << "," << (s.f_star ? Num(*s.f_star, 12) : "") << ","
       << (s.f_star ? Num(s.final_loss - *s.f_star, 8) : "") << "," << Num(s.wall_s, 6) << "," << Num(s.comm_s, 6)
       << "," << (s.net_model_s ? Num(*s.net_model_s, 6) : "") << "," << s.bytes << ","
       << (s.test_accuracy ? Num(*s.test_accuracy, 6) : "") << "\n";
  }
  return os.str();
}

}  // namespace crpsgd::cli
