// The one table of algorithms: a row each (algorithms/algorithm_spec.h),
// defined in the algorithm's own file with its name and what it takes of the
// shared machinery. A new algorithm adds its file (its row, its state), its
// value in AlgorithmKind, and a row here.
#include <array>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "algorithms/algorithm_spec.h"
#include "util/check.h"

namespace crpsgd {
namespace internal {

// Each defined in its algorithm's file.
extern const AlgorithmSpec kPsgdSpec, kCrPsgdSpec, kLocalSgdSpec, kCrPsgdCatalystSpec, kAutoSpec, kAccCrPsgdSpec;

namespace {
// In --help's and the messages' order.
std::span<const AlgorithmSpec* const> Rows() {
  static const std::array kRows{&kPsgdSpec,     &kCrPsgdSpec,         &kAccCrPsgdSpec,
                                &kLocalSgdSpec, &kCrPsgdCatalystSpec, &kAutoSpec};
  return kRows;
}
}  // namespace

const AlgorithmSpec& SpecOf(AlgorithmKind kind) {
  for (const AlgorithmSpec* row : Rows()) {
    if (row->kind == kind) return *row;
  }
  CRPSGD_CHECK(false && "an AlgorithmKind without a registry row");
  return kPsgdSpec;
}

// --rho auto: the fewest rounds the norm test can take, doubling from B₁,
// the budget spent as the run spends it (NextAdaptiveBatch).
static BudgetPlan PlanDoubling(std::uint64_t first_batch, std::uint64_t budget) {
  BudgetPlan plan;
  for (std::uint64_t batch = first_batch; plan.spent < budget; batch *= 2) {
    plan.last_batch = NextAdaptiveBatch(batch, budget - plan.spent);
    plan.spent += plan.last_batch;
    ++plan.rounds;
  }
  return plan;
}

BudgetPlan PlanGrowing(const AlgorithmOptions& options, std::uint64_t budget) {
  const GrowingBatch growing = GrowingBatchOf(options);
  return growing.adaptive ? PlanDoubling(growing.first_batch, budget)
                          : PlanBudget(GeometricBatch(growing.first_batch, growing.growth), budget);
}

}  // namespace internal

const char* AlgorithmName(AlgorithmKind kind) { return internal::SpecOf(kind).name; }

namespace internal {
const ParamSpec* FindParam(std::string_view name) {
  for (const AlgorithmSpec* row : Rows()) {
    for (const ParamSpec& param : row->params) {
      if (name == param.name) return &param;
    }
  }
  return nullptr;
}
}  // namespace internal

FieldValue ParamDefault(std::string_view name) {
  const internal::ParamSpec* param = internal::FindParam(name);
  return param != nullptr ? param->Default() : FieldValue(nullptr);
}

Result<AlgorithmKind> ParseAlgorithm(std::string_view name) {
  std::string choices;
  const auto& rows = internal::Rows();
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (name == rows[i]->name) return rows[i]->kind;
    choices += (i == 0 ? "" : i + 1 == rows.size() ? " or " : ", ") + std::string(rows[i]->name);
  }
  return Status::InvalidArgument("--algo must be " + choices + ", got '" + std::string(name) + "'");
}

Result<AlgorithmOptions> FitToRounds(AlgorithmOptions options, int workers, std::string* note) {
  if (note != nullptr) note->clear();
  CRPSGD_RETURN_IF_ERROR(options.Validate(workers));  // R's own checks too: a method that fits, R <= T
  if (options.rounds == 0) return options;
  CRPSGD_RETURN_IF_ERROR(internal::SpecOf(options.kind).fit_rounds(options, workers));
  if (note != nullptr) {
    const AlgorithmPlan plan = PlanAlgorithm(options, workers);
    *note = "--rounds " + std::to_string(options.rounds) + ": " + AlgorithmName(options.kind) + " " +
            options.Describe() + " takes " + std::to_string(plan.rounds) + " rounds and " +
            std::to_string(plan.sfo_per_worker) + " of " + std::to_string(options.budget) + " samples per worker";
  }
  return options;
}

AlgorithmFields SummaryFieldsOf(const RunSummary& summary) {
  AlgorithmFields fields;
  const AlgorithmOptions& options = summary.algorithm;
  for (auto& [name, value] : internal::SpecOf(options.kind).summary_fields(options, summary)) {
    fields.Set(name, std::move(value));
  }
  if (options.adaptive_batch()) fields.Set("norm_test_theta2", internal::GrowingBatchOf(options).theta2);
  return fields;
}

const char* AlgorithmChoices() {
  static const std::string kChoices = [] {
    std::string choices;
    for (const internal::AlgorithmSpec* row : internal::Rows()) {
      choices += (choices.empty() ? "" : ", ") + std::string(row->name) + " (" + row->help + ")";
    }
    return choices;
  }();
  return kChoices.c_str();
}

bool PlansOwnRounds(AlgorithmKind kind) { return internal::SpecOf(kind).plans_rounds; }

bool AlgorithmOptions::ChoosesOwnBatch() const { return internal::SpecOf(kind).step_per_batch && batch == kAutoBatch; }

std::unique_ptr<Algorithm> MakeAlgorithm(const AlgorithmOptions& options) {
  // Catalyst's budget split depends on N: its Run validates with comm.size().
  CRPSGD_CHECK(options.kind == AlgorithmKind::kCrPsgdCatalyst || options.Validate().ok());
  return internal::SpecOf(options.kind).make(options);
}

AlgorithmPlan PlanAlgorithm(const AlgorithmOptions& options, int workers) {
  AlgorithmPlan plan = internal::SpecOf(options.kind).plan(options, workers);
  plan.exact = !options.adaptive_batch();
  plan.budget_left = options.budget - plan.sfo_per_worker;
  return plan;
}

}  // namespace crpsgd
