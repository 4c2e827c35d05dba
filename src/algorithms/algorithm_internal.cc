#include "algorithms/algorithm_internal.h"

namespace crpsgd {

void SaveNormTest(const NormTestState& norm_test, ByteWriter& out) {
  out.U64(norm_test.started ? 1 : 0), out.F64(norm_test.noise), out.F64(norm_test.mean_norm2);
  out.U64(norm_test.next_batch);
}

NormTestState LoadNormTest(ByteReader& in) {
  NormTestState norm_test;
  norm_test.started = in.U64() != 0;
  norm_test.noise = in.F64(), norm_test.mean_norm2 = in.F64();
  norm_test.next_batch = in.U64();
  return norm_test;
}

void SaveSgdState(const SgdState& sgd, ByteWriter& out) {
  out.U64(sgd.rounds), out.U64(sgd.sfo), out.Doubles(sgd.velocity);
  SaveNormTest(sgd.norm_test, out);
  out.Doubles(sgd.residual);
}

void SetNormTestFields(const NormTestState& norm_test, std::optional<double> grad_norm2, AlgorithmFields& fields) {
  fields.Set("noise_trace", norm_test.noise);
  fields.Set("grad_norm2", grad_norm2 ? FieldValue(*grad_norm2) : FieldValue(nullptr));
}

SgdState LoadSgdState(ByteReader& in, std::uint64_t version) {
  SgdState sgd;
  sgd.rounds = in.U64(), sgd.sfo = in.U64(), sgd.velocity = in.Doubles();
  sgd.norm_test = LoadNormTest(in);
  if (version >= 2) sgd.residual = in.Doubles();
  return sgd;
}

ByteWriter BeginStateRecord(std::uint64_t version) {
  ByteWriter out;
  out.U64(version);
  return out;
}

Result<std::uint64_t> ReadStateVersion(ByteReader& in, std::uint64_t newest, std::string_view algorithm) {
  const std::uint64_t version = in.U64();
  if (!in.ok()) return Status::Corruption(std::string(algorithm) + "'s state: truncated");
  if (version < 1 || version > newest) {
    return Status::InvalidArgument(std::string(algorithm) + "'s state is version " + std::to_string(version) +
                                   ", this crpsgd reads versions 1 to " + std::to_string(newest) +
                                   " (written by another version: start the run again)");
  }
  return version;
}

Status CheckStateRead(const ByteReader& in, std::string_view algorithm) {
  if (in.ok() && in.AtEnd()) return Status::OK();
  return Status::Corruption(std::string(algorithm) + "'s state: " + (in.ok() ? "bytes left over" : "truncated"));
}

Status Algorithm::LoadStates(std::span<const std::string> records) {
  if (records.empty()) return Status::InvalidArgument("no worker's state to resume from");
  for (const std::string& record : records) {
    if (record != records.front()) {
      return Status::Corruption(
          "the workers' states differ, and this algorithm keeps one state on every worker: the checkpoint is "
          "corrupt");
    }
  }
  return LoadState(records.front());
}

Status LoadAveragingOwn(Algorithm& algorithm, std::span<const std::string> records,
                        std::initializer_list<std::vector<double>*> own) {
  if (records.empty()) return Status::InvalidArgument("no worker's state to resume from");
  std::vector<std::vector<double>> sums(own.size());
  for (const std::string& record : records) {
    CRPSGD_RETURN_IF_ERROR(algorithm.LoadState(record));
    std::size_t i = 0;
    for (const std::vector<double>* member : own) {
      std::vector<double>& sum = sums[i++];
      if (&record == &records.front()) sum.assign(member->size(), 0.0);
      if (member->size() != sum.size()) return Status::Corruption("the workers' states are of different sizes");
      for (std::size_t j = 0; j < sum.size(); ++j) sum[j] += (*member)[j];
    }
  }
  CRPSGD_RETURN_IF_ERROR(algorithm.LoadState(records.front()));
  const double workers = static_cast<double>(records.size());
  std::size_t i = 0;
  for (std::vector<double>* member : own) {
    const std::vector<double>& sum = sums[i++];
    for (std::size_t j = 0; j < sum.size(); ++j) (*member)[j] = sum[j] / workers;
  }
  return Status::OK();
}

}  // namespace crpsgd
