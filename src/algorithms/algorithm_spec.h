// An algorithm as one row of the registry: everything the generic code asks
// of it (Train, the round plan, the checks, the tables' parameters and
// summary.json's fields). An algorithm's file defines its row; registry.cc
// lists the rows. Internal to the library.
#pragma once

#include <cstdint>
#include <memory>
#include <ostream>
#include <span>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "algorithms/algorithm_internal.h"
#include "crpsgd/algorithm.h"
#include "crpsgd/batch_schedule.h"
#include "crpsgd/evaluation.h"
#include "crpsgd/train.h"

namespace crpsgd::internal {

// One of an algorithm's own fields in summary.json (round_record.h).
using SummaryValue = FieldValue;
using SummaryFields = std::vector<std::pair<std::string, SummaryValue>>;

// One of an algorithm's own parameters (AlgorithmOptions::params) and its
// default: a word, or a number (a count when `count`). With `or_auto` it also
// takes the other of a number and the word "auto" (rho: a number or auto;
// tail_average: auto or a share).
struct ParamSpec {
  const char* name;
  double number = 0.0;
  const char* word = nullptr;
  bool count = false;
  bool or_auto = false;
  FieldValue Default() const;
};

// The parameters of the growing-batch methods: B₁, ρ or the norm test, θ².
inline constexpr ParamSpec kFirstBatchParam{"b1", 1.0, nullptr, true};
inline constexpr ParamSpec kRhoParam{"rho", 1.1, nullptr, false, /*or_auto=*/true};
inline constexpr ParamSpec kNormTestParam{"norm_test_theta2", 1.0};
// The model-averaging methods' outer step: α = 1, μ = 0 is plain averaging.
inline constexpr ParamSpec kOuterLrParam{"outer_lr", 1.0};
inline constexpr ParamSpec kOuterMomentumParam{"outer_momentum", 0.0};

struct AlgorithmSpec {
  AlgorithmKind kind;
  const char* name;  // --algo's word, and summary.json's "algo"
  const char* help;  // what it is, for --algo's help: "growing batch: the paper's Algorithm 1"
  // A constant batch (--batch: psgd, local-sgd); otherwise B₁ and a growing
  // batch (--b1, --rho), which the checks and messages name instead.
  bool fixed_batch = false;
  // What of the shared machinery it takes, so that the generic code asks
  // these instead of naming algorithms. It averages models (local-sgd,
  // auto): --outer-lr and --outer-momentum act on its rounds.
  bool averages_models = false;
  // --tail-average: its final model may be a mean of its last iterates (auto).
  bool tail_averages = false;
  // --batch auto picks its smallest batch from the step, and under --lr auto
  // each step takes the safe step for its own batch (auto).
  bool step_per_batch = false;
  // --rounds auto plans R from the link it runs on (round_plan.h; auto).
  bool plans_rounds = false;
  // --rho auto raises B₁ to the smallest batch stable at the step (cr-psgd).
  bool stable_first_batch = false;
  // --compress: its round's message (the gradient, or local SGD's step since
  // the last round) may be sent compressed, with error feedback.
  bool compresses = false;
  // --overlap: its round's exchange may run behind the next round's steps (local-sgd, auto).
  bool overlaps = false;
  // Its own parameters with their defaults (AlgorithmOptions::params).
  std::span<const ParamSpec> params;
  std::unique_ptr<Algorithm> (*make)(const AlgorithmOptions& options) = nullptr;
  // Rounds and samples for the budget, as Run spends them.
  AlgorithmPlan (*plan)(const AlgorithmOptions& options, int workers) = nullptr;
  // Its own parameters, after AlgorithmOptions::Validate's shared checks.
  Status (*validate)(const AlgorithmOptions& options, int workers) = nullptr;
  // Its parameters for tables and legends: "B1=4 rho=1.1".
  void (*describe)(const AlgorithmOptions& options, std::ostream& os) = nullptr;
  // --rounds R (options.rounds > 0): sets its parameters to spend the budget
  // in at most R rounds, or says why it cannot; null: --rounds is refused.
  Status (*fit_rounds)(AlgorithmOptions& options, int workers) = nullptr;
  // Samples whose gradients are averaged into one step (SamplesPerStep).
  double (*samples_per_step)(const AlgorithmOptions& options, int workers) = nullptr;
  // Its fields in summary.json, beside the shared ones.
  SummaryFields (*summary_fields)(const AlgorithmOptions& options, const RunSummary& summary) = nullptr;
  // After the run, what it reports of its own into the summary; null: nothing.
  Status (*finish)(const AlgorithmOptions& options, int workers, FullEvaluator& eval, std::span<const double> x,
                   RunSummary& summary) = nullptr;
};

// The row of `kind` (registry.cc).
const AlgorithmSpec& SpecOf(AlgorithmKind kind);

// One of the run's own parameters: as set in options.params, else the
// default of its algorithm's row (or of the row that declares it). The
// algorithms read theirs through these; Validate has checked the types.
FieldValue ParamValue(const AlgorithmOptions& options, std::string_view name);
double ParamNumber(const AlgorithmOptions& options, std::string_view name);  // a count or a number
std::uint64_t ParamCount(const AlgorithmOptions& options, std::string_view name);
std::string ParamWord(const AlgorithmOptions& options, std::string_view name);  // "" unless a word
// The declaration of a parameter (the first row's that takes it); null for a
// name no algorithm takes (registry.cc).
const ParamSpec* FindParam(std::string_view name);

// The growing batch: B₁, and ρ (Algorithm 1) or the norm test with θ².
struct GrowingBatch {
  std::uint64_t first_batch = 1;
  double growth = 1.1;  // ρ; kRhoParam's default under the norm test
  bool adaptive = false;
  double theta2 = 1.0;
};
GrowingBatch GrowingBatchOf(const AlgorithmOptions& options);

// Checks the rows share (algorithm.cc): a constant batch, and a
// growing one (B₁ with ρ or the norm test).
Status ValidateFixedBatch(const AlgorithmOptions& options);
Status ValidateGrowingBatch(const AlgorithmOptions& options);

// The growing batch's plan for `budget` (cr-psgd, and each inner run of the
// catalyst): Algorithm 1's rounds, or --rho auto's fewest (doubling from B₁).
BudgetPlan PlanGrowing(const AlgorithmOptions& options, std::uint64_t budget);

// --rounds R for Algorithm 1's batches (cr-psgd): the smallest ρ, to 6
// significant digits rounded up, whose plan from B₁ takes at most R rounds.
Status FitGrowth(AlgorithmOptions& options, int workers);

// A budget plan as the rounds and samples a run takes.
AlgorithmPlan PlanOf(const BudgetPlan& budget);

// The row functions of Algorithm 1's batches (cr-psgd, acc-cr-psgd; the
// catalyst describes and steps as they do): its plan for the whole budget,
// "B1=4 rho=1.1", and N·B₁ samples a step (the first, smallest batch).
AlgorithmPlan PlanWholeBudgetGrowing(const AlgorithmOptions& options, int workers);
void DescribeGrowing(const AlgorithmOptions& options, std::ostream& os);
double GrowingSamplesPerStep(const AlgorithmOptions& options, int workers);

// ρ in summary.json: its number, or "auto" (the norm test).
SummaryValue RhoValue(const AlgorithmOptions& options);

}  // namespace crpsgd::internal
