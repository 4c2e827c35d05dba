#include <cmath>
#include <sstream>

#include "crpsgd/algorithm.h"
#include "crpsgd/enum_table.h"

namespace crpsgd {
namespace {

// Algorithm 2 splits T into K inner CR-PSGD runs of ⌊√(T/N)⌋ each.
Status ValidateCatalyst(const AlgorithmOptions& o, int workers) {
  if (!(o.theta > 0.0) || !std::isfinite(o.theta)) {
    std::ostringstream os;
    os << "--theta must be > 0 (got " << o.theta << ")";
    return Status::InvalidArgument(os.str());
  }
  const std::uint64_t outer = o.OuterIterationsFor(workers), inner = o.InnerBudgetFor(workers);
  if (outer < 1) return Status::InvalidArgument("--outer-iters: no outer iteration fits the budget");
  if (inner < o.first_batch) {
    return Status::InvalidArgument("cr-psgd-catalyst: the inner budget " + std::to_string(inner) +
                                   (o.inner_budget ? " (--inner-budget)" : " (floor(sqrt(T/N)))") + " is below --b1 (" +
                                   std::to_string(o.first_batch) + "): raise --budget or set --inner-budget");
  }
  if (inner > o.budget / outer) {
    return Status::InvalidArgument("cr-psgd-catalyst: --outer-iters (" + std::to_string(outer) +
                                   ") x --inner-budget (" + std::to_string(inner) + ") exceeds --budget (" +
                                   std::to_string(o.budget) + ")");
  }
  return Status::OK();
}

}  // namespace

constexpr EnumTable<AlgorithmKind, 4> kAlgorithms{{{{AlgorithmKind::kPsgd, "psgd"},
                                                    {AlgorithmKind::kCrPsgd, "cr-psgd"},
                                                    {AlgorithmKind::kLocalSgd, "local-sgd"},
                                                    {AlgorithmKind::kCrPsgdCatalyst, "cr-psgd-catalyst"}}}};
constexpr EnumTable<LrSchedule, 3> kLrSchedules{
    {{{LrSchedule::kConstant, "constant"}, {LrSchedule::kCosine, "cosine"}, {LrSchedule::kStep, "step"}}}};
constexpr EnumTable<LrBatchScaling, 3> kLrBatchScalings{
    {{{LrBatchScaling::kNone, "none"}, {LrBatchScaling::kSqrt, "sqrt"}, {LrBatchScaling::kLinear, "linear"}}}};

const char* AlgorithmName(AlgorithmKind kind) { return kAlgorithms.Name(kind); }
Result<AlgorithmKind> ParseAlgorithm(std::string_view name) { return kAlgorithms.Parse(name, "--algo"); }
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

std::uint64_t AlgorithmOptions::OuterIterationsFor(int workers) const {
  if (outer_iterations != 0) return outer_iterations;
  return static_cast<std::uint64_t>(std::floor(std::sqrt(static_cast<double>(workers) * static_cast<double>(budget))));
}

std::uint64_t AlgorithmOptions::InnerBudgetFor(int workers) const {
  if (inner_budget != 0) return inner_budget;
  return static_cast<std::uint64_t>(std::floor(std::sqrt(static_cast<double>(budget) / workers)));
}

std::uint64_t AlgorithmOptions::SmallestBatch() const {
  return kind == AlgorithmKind::kPsgd || kind == AlgorithmKind::kLocalSgd ? batch : first_batch;
}

Status AlgorithmOptions::Validate(int workers) const {
  if (budget < 1) return Status::InvalidArgument("--budget must be >= 1 (SFO calls per worker)");
  if (!(lr > 0.0) || !std::isfinite(lr)) {
    return Status::InvalidArgument("--lr must be a positive number or 'auto' (got " + std::to_string(lr) + ")");
  }
  if (!(lr_max >= 0.0) || !std::isfinite(lr_max) || (lr_max > 0.0 && lr_max < lr)) {
    std::ostringstream os;
    os << "--lr-max must be 0 (no cap) or at least --lr (" << lr << "), got " << lr_max
       << ": it caps the longer steps of larger batches";
    return Status::InvalidArgument(os.str());
  }
  if (max_micro_batch < 1) return Status::InvalidArgument("--max-micro-batch must be >= 1");
  if (!(momentum >= 0.0 && momentum < 1.0)) {
    return Status::InvalidArgument("--momentum must be in [0, 1) (got " + std::to_string(momentum) + ")");
  }
  if (!(weight_decay >= 0.0) || !std::isfinite(weight_decay)) {
    return Status::InvalidArgument("--weight-decay must be >= 0 (got " + std::to_string(weight_decay) + ")");
  }
  switch (kind) {
    case AlgorithmKind::kPsgd:
    case AlgorithmKind::kLocalSgd:
      if (adaptive_batch) {
        return Status::InvalidArgument(std::string("--rho auto grows the batch of cr-psgd and cr-psgd-catalyst; ") +
                                       AlgorithmName(kind) + " has a fixed batch (--batch)");
      }
      if (batch < 1) return Status::InvalidArgument("--batch must be >= 1");
      if (batch > budget) {
        return Status::InvalidArgument("--budget (" + std::to_string(budget) + ") is below --batch (" +
                                       std::to_string(batch) + "): not even one step fits");
      }
      if (kind == AlgorithmKind::kLocalSgd && sync_period < 1) {
        return Status::InvalidArgument("--sync-period must be >= 1");
      }
      break;
    case AlgorithmKind::kCrPsgd:
    case AlgorithmKind::kCrPsgdCatalyst: {
      if (first_batch < 1)
        return Status::InvalidArgument("--b1 must be >= 1 (got " + std::to_string(first_batch) + ")");
      if (adaptive_batch && (!(norm_test_theta2 > 0.0) || !std::isfinite(norm_test_theta2))) {
        std::ostringstream os;
        os << "--norm-test-theta2 must be > 0 (got " << norm_test_theta2 << "): the norm test grows the batch "
           << "until N·B reaches tr Σ/(θ²‖∇f‖²)";
        return Status::InvalidArgument(os.str());
      }
      if (!adaptive_batch && (!(growth > 1.0) || !std::isfinite(growth))) {
        std::ostringstream os;
        os << "--rho must be > 1 (got " << growth << ")";
        return Status::InvalidArgument(os.str());
      }
      if (first_batch > budget) {
        return Status::InvalidArgument("--budget (" + std::to_string(budget) + ") is below --b1 (" +
                                       std::to_string(first_batch) + "): not even one round fits");
      }
      if (kind == AlgorithmKind::kCrPsgdCatalyst) CRPSGD_RETURN_IF_ERROR(ValidateCatalyst(*this, workers));
      break;
    }
  }
  return Status::OK();
}

std::string AlgorithmOptions::Describe() const {
  std::ostringstream os;
  switch (kind) {
    case AlgorithmKind::kPsgd: os << "B=" << batch; break;
    case AlgorithmKind::kCrPsgd: os << "B1=" << first_batch << " rho=" << rho(); break;
    case AlgorithmKind::kLocalSgd: os << "b=" << batch << " I=" << sync_period; break;
    case AlgorithmKind::kCrPsgdCatalyst:
      os << "B1=" << first_batch << " rho=" << rho() << " theta=" << theta;
      if (outer_iterations != 0) os << " K=" << outer_iterations;
      if (inner_budget != 0) os << " Tin=" << inner_budget;
      break;
  }
  if (momentum != 0.0) os << " mu=" << momentum;
  if (weight_decay != 0.0) os << " wd=" << weight_decay;
  if (lr_schedule != LrSchedule::kConstant) os << " lr=" << LrScheduleName(lr_schedule);
  if (lr_batch_scaling != LrBatchScaling::kNone) os << " lr~" << LrBatchScalingName(lr_batch_scaling) << "(B)";
  if (lr_max > 0.0) os << " lr<=" << lr_max;
  return os.str();
}

std::string AlgorithmOptions::rho() const {
  std::ostringstream os;
  if (!adaptive_batch) {
    os << growth;
  } else {
    os << "auto";
    if (norm_test_theta2 != 1.0) os << "(theta2=" << norm_test_theta2 << ")";
  }
  return os.str();
}

}  // namespace crpsgd
