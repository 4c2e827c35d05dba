#include <cmath>
#include <string>
#include <variant>
#include <sstream>

#include "algorithms/algorithm_spec.h"
#include "crpsgd/algorithm.h"
#include "crpsgd/enum_table.h"

namespace crpsgd {
constexpr EnumTable<RoundSplit, 3> kRoundSplits{
    {{{RoundSplit::kNoise, "noise"}, {RoundSplit::kOneStep, "one-step"}, {RoundSplit::kLocalSteps, "local-steps"}}}};
constexpr EnumTable<LrSchedule, 3> kLrSchedules{
    {{{LrSchedule::kConstant, "constant"}, {LrSchedule::kCosine, "cosine"}, {LrSchedule::kStep, "step"}}}};
constexpr EnumTable<LrBatchScaling, 3> kLrBatchScalings{
    {{{LrBatchScaling::kNone, "none"}, {LrBatchScaling::kSqrt, "sqrt"}, {LrBatchScaling::kLinear, "linear"}}}};

const char* RoundSplitName(RoundSplit split) { return kRoundSplits.Name(split); }
Result<RoundSplit> ParseRoundSplit(std::string_view name) { return kRoundSplits.Parse(name, "--round-split"); }
const char* LrScheduleName(LrSchedule schedule) { return kLrSchedules.Name(schedule); }
Result<LrSchedule> ParseLrSchedule(std::string_view name) { return kLrSchedules.Parse(name, "--lr-schedule"); }
const char* LrBatchScalingName(LrBatchScaling scaling) { return kLrBatchScalings.Name(scaling); }
Result<LrBatchScaling> ParseLrBatchScaling(std::string_view name) {
  return kLrBatchScalings.Parse(name, "--lr-batch-scaling");
}

double LrScale(LrSchedule schedule, double progress) {
  switch (schedule) {
    case LrSchedule::kConstant: return 1.0;
    case LrSchedule::kCosine: return 0.5 * (1.0 + std::cos(3.141592653589793 * progress));
    case LrSchedule::kStep: return progress < 0.5 ? 1.0 : progress < 0.75 ? 0.1 : 0.01;
  }
  return 1.0;
}

double LrBatchFactor(LrBatchScaling scaling, double batch_ratio) {
  switch (scaling) {
    case LrBatchScaling::kNone: return 1.0;
    case LrBatchScaling::kSqrt: return std::sqrt(batch_ratio);
    case LrBatchScaling::kLinear: return batch_ratio;
  }
  return 1.0;
}

namespace internal {

FieldValue ParamSpec::Default() const {
  if (word != nullptr) return std::string(word);
  if (count) return static_cast<std::uint64_t>(number);
  return number;
}

FieldValue ParamValue(const AlgorithmOptions& options, std::string_view name) {
  if (const FieldValue* set = options.params.Find(name)) {
    // A count given for a number (Set("rho", 2), Set("tail_average", 0)) is that number.
    const auto* count = std::get_if<std::uint64_t>(set);
    const ParamSpec* param = FindParam(name);
    if (count != nullptr && param != nullptr && !param->count) return static_cast<double>(*count);
    return *set;
  }
  for (const ParamSpec& param : SpecOf(options.kind).params) {
    if (name == param.name) return param.Default();
  }
  return ParamDefault(name);
}

double ParamNumber(const AlgorithmOptions& options, std::string_view name) {
  const FieldValue value = ParamValue(options, name);
  if (const auto* count = std::get_if<std::uint64_t>(&value)) return static_cast<double>(*count);
  if (const auto* number = std::get_if<double>(&value)) return *number;
  return 0.0;
}

std::uint64_t ParamCount(const AlgorithmOptions& options, std::string_view name) {
  const FieldValue value = ParamValue(options, name);
  if (const auto* count = std::get_if<std::uint64_t>(&value)) return *count;
  return 0;
}

std::string ParamWord(const AlgorithmOptions& options, std::string_view name) {
  const FieldValue value = ParamValue(options, name);
  if (const auto* word = std::get_if<std::string>(&value)) return *word;
  return "";
}

GrowingBatch GrowingBatchOf(const AlgorithmOptions& options) {
  GrowingBatch growing;
  growing.first_batch = ParamCount(options, kFirstBatchParam.name);
  growing.adaptive = ParamWord(options, kRhoParam.name) == "auto";
  growing.growth = growing.adaptive ? kRhoParam.number : ParamNumber(options, kRhoParam.name);
  growing.theta2 = ParamNumber(options, kNormTestParam.name);
  return growing;
}

// Whether `value` is of the kind `param` declares: a count; a number (a count
// is one too); a word; and with or_auto also the word auto or a number.
bool OfItsKind(const ParamSpec& param, const FieldValue& value) {
  const bool count = std::holds_alternative<std::uint64_t>(value);
  const bool number = count || std::holds_alternative<double>(value);
  const auto* word = std::get_if<std::string>(&value);
  if (param.count) return count;
  if (param.or_auto && (number || (word != nullptr && *word == "auto"))) return true;
  return param.word != nullptr ? word != nullptr : number;
}

// Each set parameter: a name some algorithm takes, of that parameter's kind.
Status CheckParamTypes(const AlgorithmOptions& options) {
  StatusList errors;
  for (const auto& [name, value] : options.params.entries()) {
    const ParamSpec* param = FindParam(name);
    if (param == nullptr) {
      errors.Add(Status::InvalidArgument("algorithm parameter '" + name + "': no algorithm takes it"));
    } else if (!OfItsKind(*param, value)) {
      errors.Add(Status::InvalidArgument("algorithm parameter '" + name + "': of the wrong kind (a " +
                                         (param->word != nullptr ? "word"
                                          : param->count         ? "count"
                                                                 : "number") +
                                         ")"));
    }
  }
  return errors.ToStatus();
}

}  // namespace internal

bool AlgorithmOptions::adaptive_batch() const { return internal::GrowingBatchOf(*this).adaptive; }

bool AlgorithmOptions::has_outer_step() const {
  return internal::ParamNumber(*this, internal::kOuterLrParam.name) != 1.0 ||
         internal::ParamNumber(*this, internal::kOuterMomentumParam.name) != 0.0;
}

std::uint64_t AlgorithmOptions::SmallestBatch() const {
  if (ChoosesOwnBatch()) {  // 1/(L + L̄/b) is stable at b = 1
    return internal::ParamNumber(*this, "mean_sample_smoothness") > 0.0 ? 1 : kAutoBatchForFixedStep;
  }
  return internal::SpecOf(kind).fixed_batch ? batch : internal::GrowingBatchOf(*this).first_batch;
}

Status AlgorithmOptions::Validate(int workers) const {
  StatusList errors;  // every bad value at once; then what depends on them all
  errors.Add(internal::CheckParamTypes(*this));
  if (budget < 1) errors.Add(Status::InvalidArgument("--budget must be >= 1 (SFO calls per worker)"));
  if (!(lr > 0.0) || !std::isfinite(lr)) {
    errors.Add(Status::InvalidArgument("--lr must be a positive number or 'auto' (got " + std::to_string(lr) + ")"));
  }
  if (!(lr_max >= 0.0) || !std::isfinite(lr_max) || (lr_max > 0.0 && lr_max < lr)) {
    std::ostringstream os;
    os << "--lr-max must be 0 (no cap) or at least --lr (" << lr << "), got " << lr_max
       << ": it caps the longer steps of larger batches";
    errors.Add(Status::InvalidArgument(os.str()));
  }
  if (max_micro_batch < 1) errors.Add(Status::InvalidArgument("--max-micro-batch must be >= 1"));
  if (!(momentum >= 0.0 && momentum < 1.0)) {
    errors.Add(Status::InvalidArgument("--momentum must be in [0, 1) (got " + std::to_string(momentum) + ")"));
  }
  if (!(weight_decay >= 0.0) || !std::isfinite(weight_decay)) {
    errors.Add(Status::InvalidArgument("--weight-decay must be >= 0 (got " + std::to_string(weight_decay) + ")"));
  }
  const double outer_lr = internal::ParamNumber(*this, internal::kOuterLrParam.name);
  const double outer_momentum = internal::ParamNumber(*this, internal::kOuterMomentumParam.name);
  if (!(outer_lr > 0.0) || !std::isfinite(outer_lr)) {
    errors.Add(Status::InvalidArgument("--outer-lr must be > 0 (got " + std::to_string(outer_lr) + ")"));
  }
  if (!(outer_momentum >= 0.0 && outer_momentum < 1.0)) {
    errors.Add(
        Status::InvalidArgument("--outer-momentum must be in [0, 1) (got " + std::to_string(outer_momentum) + ")"));
  }
  const internal::AlgorithmSpec& spec = internal::SpecOf(kind);
  if (has_outer_step() && !spec.averages_models) {
    errors.Add(Status::InvalidArgument(std::string("--outer-lr and --outer-momentum act on averaged models "
                                                   "(local-sgd, auto); ") +
                                       AlgorithmName(kind) + " averages gradients"));
  }
  const FieldValue tail = internal::ParamValue(*this, "tail_average");
  const double* tail_average = std::get_if<double>(&tail);  // null: auto
  if (tail_average && !(*tail_average >= 0.0 && *tail_average <= 1.0)) {
    errors.Add(Status::InvalidArgument("--tail-average must be auto or a share of the budget in [0, 1] (got " +
                                       std::to_string(*tail_average) + ")"));
  }
  if (tail_average && !spec.tail_averages) {
    errors.Add(Status::InvalidArgument(std::string("--tail-average is auto's; ") + AlgorithmName(kind) +
                                       " returns its last iterate"));
  }
  if (compression != Compression::kNone && (!spec.compresses || adaptive_batch())) {
    errors.Add(Status::InvalidArgument(
        std::string("--compress is for psgd, cr-psgd, acc-cr-psgd and cr-psgd-catalyst at a given rho, local-sgd "
                    "and auto; not ") +
        (adaptive_batch() ? "--rho auto (its norm test rides in the message)" : AlgorithmName(kind))));
  }
  if (overlap && !spec.overlaps) {
    errors.Add(Status::InvalidArgument(std::string("--overlap is for local-sgd and auto, whose local steps "
                                                   "can hide a round's exchange; not ") +
                                       AlgorithmName(kind)));
  }
  if (compression == Compression::kPowerSgd && compression_rank < 1) {
    errors.Add(Status::InvalidArgument("--compress powersgd needs its rank R >= 1 (powersgd:R), got " +
                                       std::to_string(compression_rank)));
  }
  if (compression_bf16_factors && compression != Compression::kPowerSgd) {
    errors.Add(Status::InvalidArgument("bf16 factors are for --compress powersgd:R:bf16, not " +
                                       std::string(CompressionName(compression))));
  }
  if (rounds > 0 && spec.fit_rounds == nullptr) {
    errors.Add(Status::InvalidArgument(std::string("--rounds: ") + AlgorithmName(kind) +
                                       " cannot plan its rounds from R (its rounds are K inner cr-psgd runs): set "
                                       "--outer-iters and --inner-budget instead"));
  } else if (rounds > 0 && budget >= 1 && rounds > budget) {
    errors.Add(Status::InvalidArgument("--rounds " + std::to_string(rounds) + " is above --budget " +
                                       std::to_string(budget) + ": every round needs a sample per worker"));
  }
  if (budget >= 1) errors.Add(spec.validate(*this, workers));  // the algorithm's own
  return errors.ToStatus();
}

std::string AlgorithmOptions::Describe() const {
  std::ostringstream os;
  internal::SpecOf(kind).describe(*this, os);
  if (momentum != 0.0) os << " mu=" << momentum;
  if (weight_decay != 0.0) os << " wd=" << weight_decay;
  if (Schedule() != LrSchedule::kConstant) os << " lr=" << LrScheduleName(Schedule());
  if (lr_batch_scaling != LrBatchScaling::kNone) os << " lr~" << LrBatchScalingName(lr_batch_scaling) << "(B)";
  if (lr_max > 0.0) os << " lr<=" << lr_max;
  if (has_outer_step()) {
    os << " outer_lr=" << internal::ParamNumber(*this, internal::kOuterLrParam.name)
       << " outer_mu=" << internal::ParamNumber(*this, internal::kOuterMomentumParam.name);
  }
  return os.str();
}

std::string AlgorithmOptions::rho() const {
  const internal::GrowingBatch growing = internal::GrowingBatchOf(*this);
  std::ostringstream os;
  if (!growing.adaptive) {
    os << growing.growth;
  } else {
    os << "auto";
    if (growing.theta2 != 1.0) os << "(theta2=" << growing.theta2 << ")";
  }
  return os.str();
}

namespace internal {

Status ValidateFixedBatch(const AlgorithmOptions& o) {
  StatusList errors;
  if (o.adaptive_batch()) {
    errors.Add(Status::InvalidArgument(std::string("--rho auto grows the batch of cr-psgd and cr-psgd-catalyst; ") +
                                       AlgorithmName(o.kind) + " has a fixed batch (--batch)"));
  }
  // auto's own b_min (--batch auto) is cut to each round's samples, as any b_min is.
  if (o.ChoosesOwnBatch()) return errors.ToStatus();
  if (o.batch < 1) {
    errors.Add(Status::InvalidArgument("--batch must be >= 1"));
  } else if (o.batch > o.budget) {
    errors.Add(Status::InvalidArgument("--budget (" + std::to_string(o.budget) + ") is below --batch (" +
                                       std::to_string(o.batch) + "): not even one step fits"));
  }
  return errors.ToStatus();
}

Status ValidateGrowingBatch(const AlgorithmOptions& o) {
  const GrowingBatch g = GrowingBatchOf(o);
  StatusList errors;
  if (g.first_batch < 1) {
    errors.Add(Status::InvalidArgument("--b1 must be >= 1 (got " + std::to_string(g.first_batch) + ")"));
  } else if (g.first_batch > o.budget) {
    errors.Add(Status::InvalidArgument("--budget (" + std::to_string(o.budget) + ") is below --b1 (" +
                                       std::to_string(g.first_batch) + "): not even one round fits"));
  }
  if (g.adaptive && (!(g.theta2 > 0.0) || !std::isfinite(g.theta2))) {
    std::ostringstream os;
    os << "--norm-test-theta2 must be > 0 (got " << g.theta2 << "): the norm test grows the batch "
       << "until N·B reaches tr Σ/(θ²‖∇f‖²)";
    errors.Add(Status::InvalidArgument(os.str()));
  }
  if (!g.adaptive && (!(g.growth > 1.0) || !std::isfinite(g.growth))) {
    std::ostringstream os;
    os << "--rho must be > 1 (got " << g.growth << ")";
    errors.Add(Status::InvalidArgument(os.str()));
  }
  return errors.ToStatus();
}

AlgorithmPlan PlanOf(const BudgetPlan& budget) {
  AlgorithmPlan plan;
  plan.rounds = budget.rounds;
  plan.sfo_per_worker = budget.spent;
  return plan;
}

AlgorithmPlan PlanWholeBudgetGrowing(const AlgorithmOptions& options, int) {
  return PlanOf(PlanGrowing(options, options.budget));
}

void DescribeGrowing(const AlgorithmOptions& options, std::ostream& os) {
  os << "B1=" << GrowingBatchOf(options).first_batch << " rho=" << options.rho();
}

double GrowingSamplesPerStep(const AlgorithmOptions& options, int workers) {
  return static_cast<double>(workers) * static_cast<double>(GrowingBatchOf(options).first_batch);
}

SummaryValue RhoValue(const AlgorithmOptions& o) {
  const GrowingBatch g = GrowingBatchOf(o);
  return g.adaptive ? SummaryValue(std::string("auto")) : SummaryValue(g.growth);
}

}  // namespace internal
}  // namespace crpsgd
