#include "crpsgd/communicator.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "crpsgd/compression.h"

namespace crpsgd {

std::size_t DataTypeSize(DataType type) {
  switch (type) {
    case DataType::kFloat32: return sizeof(float);
    case DataType::kFloat64: return sizeof(double);
    case DataType::kBf16: return sizeof(std::uint16_t);
    case DataType::kBytes: return 1;
    case DataType::kInt8Blocks: break;
  }
  return sizeof(float) + Int8BlockValuesOf(type);  // an int8 block
}

void AddInto(std::byte* acc, const std::byte* src, std::size_t count, DataType type) {
  if (type == DataType::kFloat64) {
    auto* a = reinterpret_cast<double*>(acc);
    const auto* s = reinterpret_cast<const double*>(src);
    for (std::size_t i = 0; i < count; ++i) a[i] += s[i];
  } else {
    auto* a = reinterpret_cast<float*>(acc);
    const auto* s = reinterpret_cast<const float*>(src);
    for (std::size_t i = 0; i < count; ++i) a[i] += s[i];
  }
}

void ReduceChunk(std::byte* out, std::span<const std::byte* const> sources, std::size_t count, DataType type) {
  if (type == DataType::kBf16 || IsInt8Blocks(type)) return MeanOfEncoded(out, sources, count, type);
  if (type == DataType::kBytes) {
    for (std::size_t i = 0; i < count; ++i) {
      std::byte b = sources[0][i];
      for (std::size_t r = 1; r < sources.size(); ++r) b |= sources[r][i];
      out[i] = b;
    }
    return;
  }
  if (out != sources[0]) std::memcpy(out, sources[0], count * DataTypeSize(type));
  for (std::size_t r = 1; r < sources.size(); ++r) AddInto(out, sources[r], count, type);
}

namespace {
double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}
}  // namespace

Status Communicator::Account(Traffic traffic, std::size_t bytes, double seconds, Status status) {
  TrafficStats& s = traffic == Traffic::kEvaluation ? stats_.evaluation : stats_.training;
  if (traffic != Traffic::kRoundPart) s.calls += 1;
  s.bytes += bytes;
  s.seconds += seconds;
  return status;
}

std::chrono::milliseconds RoundDeadline(const RoundTimeout& timeout, std::vector<double> round_seconds) {
  if (timeout.fixed.count() > 0) return timeout.fixed;
  if (!timeout.automatic || round_seconds.size() < RoundTimeout::kAutoAfter) return std::chrono::milliseconds(0);
  const auto middle = round_seconds.begin() + static_cast<std::ptrdiff_t>(round_seconds.size() / 2);
  std::nth_element(round_seconds.begin(), middle, round_seconds.end());
  const auto typical =
      std::chrono::milliseconds(static_cast<std::int64_t>(std::ceil(RoundTimeout::kMultiple * *middle * 1e3)));
  return std::max(timeout.floor, typical);
}

void Communicator::NumberRoundsFrom(std::uint64_t next_round) {
  round_base_ = static_cast<std::int64_t>(next_round) - static_cast<std::int64_t>(stats_.training.calls) - 1;
}

Status Communicator::WaitForAll(Traffic traffic) {
  round_deadline_ = std::chrono::milliseconds(0);
  if (traffic == Traffic::kRoundPart) {  // the round in progress goes on, under its deadline
    round_deadline_ = RoundDeadline(round_timeout_, round_seconds_);
    return Status::OK();
  }
  if (traffic != Traffic::kTraining) return Status::OK();
  round_in_progress_ = static_cast<std::uint64_t>(round_base_ + static_cast<std::int64_t>(stats_.training.calls) + 1);
  const auto now = std::chrono::steady_clock::now();
  if (round_timeout_.automatic && stats_.training.calls > 0) {  // the last kRoundWindow rounds
    const double seconds = std::chrono::duration<double>(now - last_round_start_).count();
    if (round_seconds_.size() < kRoundWindow) {
      round_seconds_.push_back(seconds);
    } else {
      round_seconds_[stats_.training.calls % kRoundWindow] = seconds;
    }
  }
  last_round_start_ = now;
  CRPSGD_RETURN_IF_ERROR(BeforeTrainingRound(stats_.training.calls + 1));
  CRPSGD_RETURN_IF_ERROR(barrier_before_rounds_ ? DoBarrier() : Status::OK());
  round_deadline_ = RoundDeadline(round_timeout_, round_seconds_);  // for the all-reduce that follows
  return Status::OK();
}

Status Communicator::CountedAllreduce(std::span<std::byte> data, DataType type, Traffic traffic) {
  CRPSGD_RETURN_IF_ERROR(WaitForAll(traffic));
  const auto start = std::chrono::steady_clock::now();
  Status status = DoAllreduceSum(data, type);
  round_deadline_ = std::chrono::milliseconds(0);  // the round's deadline is for this call only
  return Account(traffic, data.size(), SecondsSince(start), std::move(status));
}

template <class T>
Status Communicator::AllreduceMeanImpl(std::span<T> data, DataType type, Traffic traffic) {
  CRPSGD_RETURN_IF_ERROR(CountedAllreduce(std::as_writable_bytes(data), type, traffic));
  const T n = static_cast<T>(size_);
  for (T& v : data) v /= n;
  return Status::OK();
}

Status Communicator::AllreduceMean(std::span<double> data, Traffic traffic) {
  return AllreduceMeanImpl(data, DataType::kFloat64, traffic);
}

Status Communicator::AllreduceMean(std::span<float> data, Traffic traffic) {
  return AllreduceMeanImpl(data, DataType::kFloat32, traffic);
}

Status Communicator::AllreduceMeanCompressed(std::span<double> data, Compression compression, Traffic traffic,
                                             std::span<double> sent) {
  if (compression == Compression::kNone) {
    if (!sent.empty()) std::copy(data.begin(), data.end(), sent.begin());
    return AllreduceMean(data, traffic);
  }
  std::vector<std::byte> wire = EncodeValues(data, compression);
  if (!sent.empty()) DecodeValues(wire, compression, sent);
  CRPSGD_RETURN_IF_ERROR(CountedAllreduce(wire, WireTypeOf(compression, data.size()), traffic));
  DecodeValues(wire, compression, data);
  return Status::OK();
}

Status Communicator::AllreduceSum(std::span<double> data, Traffic traffic) {
  return CountedAllreduce(std::as_writable_bytes(data), DataType::kFloat64, traffic);
}

Result<std::vector<double>> Communicator::Allgather(std::span<const double> mine, Traffic traffic) {
  std::vector<double> all(mine.size() * static_cast<std::size_t>(size_), 0.0);
  std::copy(mine.begin(), mine.end(), all.begin() + static_cast<std::ptrdiff_t>(mine.size() * rank_));
  CRPSGD_RETURN_IF_ERROR(AllreduceSum(all, traffic));
  return all;
}

Status Communicator::Broadcast(std::span<double> data, int root) {
  if (root < 0 || root >= size_) {
    return Status::InvalidArgument("Broadcast(): root " + std::to_string(root) + " is not a rank");
  }
  const auto start = std::chrono::steady_clock::now();
  Status status = DoBroadcast(std::as_writable_bytes(data), root);
  return Account(Traffic::kEvaluation, data.size_bytes(), SecondsSince(start), std::move(status));
}

Status Communicator::Barrier() { return DoBarrier(); }

}  // namespace crpsgd
