#include <cmath>
#include <sstream>

#include "crpsgd/algorithm.h"

namespace crpsgd {

const char* AlgorithmName(AlgorithmKind kind) {
  switch (kind) {
    case AlgorithmKind::kPsgd: return "psgd";
    case AlgorithmKind::kCrPsgd: return "cr-psgd";
    case AlgorithmKind::kLocalSgd: return "local-sgd";
  }
  return "?";
}

Result<AlgorithmKind> ParseAlgorithm(std::string_view name) {
  if (name == "psgd") return AlgorithmKind::kPsgd;
  if (name == "cr-psgd") return AlgorithmKind::kCrPsgd;
  if (name == "local-sgd") return AlgorithmKind::kLocalSgd;
  return Status::InvalidArgument("--algo must be psgd, cr-psgd or local-sgd, got '" + std::string(name) + "'");
}

Status AlgorithmOptions::Validate() const {
  if (budget < 1) return Status::InvalidArgument("--budget must be >= 1 (SFO calls per worker)");
  if (!(lr > 0.0) || !std::isfinite(lr)) {
    return Status::InvalidArgument("--lr must be a positive number or 'auto' (got " + std::to_string(lr) + ")");
  }
  if (max_micro_batch < 1) return Status::InvalidArgument("--max-micro-batch must be >= 1");
  switch (kind) {
    case AlgorithmKind::kPsgd:
    case AlgorithmKind::kLocalSgd:
      if (batch < 1) return Status::InvalidArgument("--batch must be >= 1");
      if (batch > budget) {
        return Status::InvalidArgument("--budget (" + std::to_string(budget) + ") is below --batch (" +
                                       std::to_string(batch) + "): not even one step fits");
      }
      if (kind == AlgorithmKind::kLocalSgd && sync_period < 1) {
        return Status::InvalidArgument("--sync-period must be >= 1");
      }
      break;
    case AlgorithmKind::kCrPsgd: {
      if (first_batch < 1) return Status::InvalidArgument("--b1 must be >= 1 (got " + std::to_string(first_batch) + ")");
      if (!(growth > 1.0) || !std::isfinite(growth)) {
        std::ostringstream os;
        os << "--rho must be > 1 (got " << growth << ")";
        return Status::InvalidArgument(os.str());
      }
      if (first_batch > budget) {
        return Status::InvalidArgument("--budget (" + std::to_string(budget) + ") is below --b1 (" +
                                       std::to_string(first_batch) + "): not even one round fits");
      }
      break;
    }
  }
  return Status::OK();
}

std::string AlgorithmOptions::Describe() const {
  std::ostringstream os;
  switch (kind) {
    case AlgorithmKind::kPsgd: os << "B=" << batch; break;
    case AlgorithmKind::kCrPsgd: os << "B1=" << first_batch << " rho=" << growth; break;
    case AlgorithmKind::kLocalSgd: os << "b=" << batch << " I=" << sync_period; break;
  }
  return os.str();
}

}  // namespace crpsgd
