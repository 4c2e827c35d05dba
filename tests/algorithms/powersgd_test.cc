// --compress (RoundExchange): with powersgd:R a mean of rank <= R comes
// back exactly; error feedback makes the messages sent add up to the
// messages meant; a round is one round however many all-reduces it takes,
// and its bytes are the factors'; a model's state (batch-norm statistics)
// goes whole beside a compressed step.
#include <cmath>
#include <vector>

#include <gtest/gtest.h>

#include "algorithms/round_exchange.h"
#include "crpsgd/inproc.h"

namespace crpsgd {
namespace {

// Batch-norm statistics as ModelState sees them: values the round averages.
class Statistics final : public ModelState {
 public:
  void RestoreInitial() override {}
  Status Synchronize(Communicator&) override { return Status::OK(); }
  std::vector<double> AveragedValues() const override { return values; }
  void SetAveragedValues(std::span<const double> v) override { values.assign(v.begin(), v.end()); }
  Status Recalibrate(std::span<const double>, std::span<const std::size_t>, Communicator&) override {
    return Status::OK();
  }
  std::string SaveState() const override { return {}; }
  Status LoadState(std::string_view) override { return Status::OK(); }
  std::vector<double> values;
};

// A model of one rows×cols matrix and a vector of `tail` values after it (a
// network's weight and bias), and its statistics; only their shapes matter here.
class MatrixAndVector final : public Objective {
 public:
  MatrixAndVector(std::size_t rows, std::size_t cols, std::size_t tail) : rows_(rows), cols_(cols), tail_(tail) {}
  ModelState* model_state() const override { return &statistics; }
  mutable Statistics statistics;
  std::size_t dim() const override { return rows_ * cols_ + tail_; }
  std::size_t num_samples() const override { return 1; }
  double AccumulateGradient(std::span<const double>, std::span<const std::size_t>, std::span<double>) const override {
    return 0.0;
  }
  std::vector<MatrixBlock> matrix_blocks() const override { return {{0, rows_, cols_}}; }

 private:
  std::size_t rows_, cols_, tail_;
};

AlgorithmOptions PowerSgd(int rank) {
  AlgorithmOptions o;
  o.compression = Compression::kPowerSgd;
  o.compression_rank = rank;
  o.seed = 5;
  return o;
}

// Worker w's message: a_w·(u₁v₁ᵀ + … + u_k v_kᵀ) (every worker's of rank k,
// so their mean too), then a vector of values of its own.
std::vector<double> Message(int worker, std::size_t rows, std::size_t cols, std::size_t tail, int k) {
  std::vector<double> m(rows * cols + tail, 0.0);
  const double a = 1.0 + 0.5 * worker;
  for (int t = 0; t < k; ++t) {
    for (std::size_t i = 0; i < rows; ++i) {
      for (std::size_t j = 0; j < cols; ++j) {
        m[i * cols + j] +=
            a * std::sin(1.0 + static_cast<double>(i) * (t + 1)) * std::cos(0.3 * static_cast<double>(j) - t);
      }
    }
  }
  for (std::size_t j = 0; j < tail; ++j) m[rows * cols + j] = std::sqrt(static_cast<double>(worker + j + 1));
  return m;
}

std::vector<double> MeanOfMessages(int workers, std::size_t rows, std::size_t cols, std::size_t tail, int k) {
  std::vector<double> mean(rows * cols + tail, 0.0);
  for (int w = 0; w < workers; ++w) {
    const std::vector<double> m = Message(w, rows, cols, tail, k);
    for (std::size_t j = 0; j < mean.size(); ++j) mean[j] += m[j] / workers;
  }
  return mean;
}

TEST(PowerSgdTest, AMeanOfRankAtMostRComesBackExactlyAndTheVectorAsItIs) {
  const std::size_t rows = 12, cols = 20, tail = 5;
  const MatrixAndVector f(rows, cols, tail);
  for (const int rank : {1, 2, 3}) {
    const std::vector<double> expected = MeanOfMessages(3, rows, cols, tail, rank);
    const Status status = RunInProcess(3, [&](Communicator& comm) -> Status {
      std::vector<double> residual;
      internal::RoundExchange exchange(f, /*with_state=*/false, PowerSgd(rank), &residual);
      std::vector<double> values = Message(comm.rank(), rows, cols, tail, rank);
      CRPSGD_RETURN_IF_ERROR(exchange.Average(comm, values));
      for (std::size_t j = 0; j < values.size(); ++j) {
        if (std::abs(values[j] - expected[j]) > 1e-12 * (1.0 + std::abs(expected[j]))) {
          return Status::Internal("rank " + std::to_string(rank) + ": value " + std::to_string(j) + " is " +
                                  std::to_string(values[j]) + ", not " + std::to_string(expected[j]));
        }
      }
      // One round; its bytes: P (rows×R) and the vector, then Q (cols×R), in float64.
      const TrafficStats& t = comm.stats().training;
      if (t.calls != 1 || t.bytes != ((rows + cols) * static_cast<std::size_t>(rank) + tail) * sizeof(double)) {
        return Status::Internal("calls " + std::to_string(t.calls) + ", bytes " + std::to_string(t.bytes));
      }
      return Status::OK();
    });
    EXPECT_TRUE(status.ok()) << status.ToString();
  }
}

// A mean of rank 3 sent at rank 1 is not exact in a round, but with error
// feedback the rounds' means add up to the messages': after T rounds of the
// same messages their average is within |residual|/T of the true mean.
TEST(PowerSgdTest, ErrorFeedbackMakesTheRoundsAddUpToTheMessages) {
  const std::size_t rows = 12, cols = 20, tail = 3;
  const MatrixAndVector f(rows, cols, tail);
  const std::vector<double> expected = MeanOfMessages(2, rows, cols, tail, 3);
  const int rounds = 200;
  std::vector<double> first_error(2), last_error(2);
  const Status status = RunInProcess(2, [&](Communicator& comm) -> Status {
    std::vector<double> residual;
    internal::RoundExchange exchange(f, /*with_state=*/false, PowerSgd(1), &residual);
    std::vector<double> sum(expected.size(), 0.0);
    for (int t = 1; t <= rounds; ++t) {
      std::vector<double> values = Message(comm.rank(), rows, cols, tail, 3);
      CRPSGD_RETURN_IF_ERROR(exchange.Average(comm, values));
      double error = 0.0;
      for (std::size_t j = 0; j < sum.size(); ++j) {
        sum[j] += values[j];
        error = std::max(error, std::abs(sum[j] / t - expected[j]));
      }
      if (t == 1) first_error[static_cast<std::size_t>(comm.rank())] = error;
      if (t == rounds) last_error[static_cast<std::size_t>(comm.rank())] = error;
    }
    return Status::OK();
  });
  ASSERT_TRUE(status.ok()) << status.ToString();
  for (int w = 0; w < 2; ++w) {
    EXPECT_GT(first_error[w], 1e-3) << "a rank-3 mean sent at rank 1 in one round";
    EXPECT_LT(last_error[w], first_error[w] / 20) << "worker " << w;
  }
}

// A variance of 1e-4 beside one of 250 in an int8 block would round to 0
// (and a batch-norm layer then divides by it): the statistics go whole, in
// the round's second all-reduce, and come back as their exact mean.
TEST(CompressedRoundTest, TheModelsStatisticsGoWholeBesideACompressedStep) {
  const std::size_t rows = 12, cols = 20, tail = 3;
  for (const Compression compression : {Compression::kInt8, Compression::kBf16, Compression::kPowerSgd}) {
    AlgorithmOptions o = PowerSgd(2);
    o.compression = compression;
    const Status status = RunInProcess(2, [&](Communicator& comm) -> Status {
      MatrixAndVector f(rows, cols, tail);
      f.statistics.values = {1e-4 * (comm.rank() + 1), 3.0, 250.0 + comm.rank()};
      std::vector<double> residual;
      internal::RoundExchange exchange(f, /*with_state=*/true, o, &residual);
      std::vector<double> values = Message(comm.rank(), rows, cols, tail, 2);
      CRPSGD_RETURN_IF_ERROR(exchange.Average(comm, values));
      const std::vector<double> expected = {(1e-4 + 2e-4) / 2, 3.0, 250.5};
      if (f.statistics.values != expected) return Status::Internal(CompressionName(compression));
      if (comm.stats().training.calls != 1) return Status::Internal("not one round");
      return Status::OK();
    });
    EXPECT_TRUE(status.ok()) << status.ToString();
  }
}

// powersgd:R:bf16: the factors, the values sent whole and the statistics go
// as bf16, 2 bytes a value in both all-reduces (half float32's, a quarter of
// this model's float64), and come back to bf16's 8 significant bits: a mean
// of rank <= R within 1%, a small variance beside a large one not rounded to 0.
TEST(PowerSgdTest, Bf16FactorsSendTwoBytesAValueAndKeepEightBits) {
  const std::size_t rows = 12, cols = 20, tail = 5;
  const int rank = 2;
  AlgorithmOptions o = PowerSgd(rank);
  o.compression_bf16_factors = true;
  const std::vector<double> expected = MeanOfMessages(3, rows, cols, tail, rank);
  const Status status = RunInProcess(3, [&](Communicator& comm) -> Status {
    MatrixAndVector f(rows, cols, tail);
    f.statistics.values = {1e-4 * (comm.rank() + 1), 250.0 + comm.rank()};
    std::vector<double> residual;
    internal::RoundExchange exchange(f, /*with_state=*/true, o, &residual);
    std::vector<double> values = Message(comm.rank(), rows, cols, tail, rank);
    CRPSGD_RETURN_IF_ERROR(exchange.Average(comm, values));
    double largest = 0.0;
    for (const double v : expected) largest = std::max(largest, std::abs(v));
    for (std::size_t j = 0; j < values.size(); ++j) {
      if (std::abs(values[j] - expected[j]) > 1e-2 * largest) {
        return Status::Internal("value " + std::to_string(j) + " is " + std::to_string(values[j]) + ", not " +
                                std::to_string(expected[j]));
      }
    }
    const std::vector<double>& s = f.statistics.values;
    if (std::abs(s[0] - 2e-4) > 1e-2 * 2e-4 || std::abs(s[1] - 251.0) > 1e-2 * 251.0) {
      return Status::Internal("statistics " + std::to_string(s[0]) + ", " + std::to_string(s[1]));
    }
    const TrafficStats& t = comm.stats().training;
    const std::size_t sent = (rows + cols) * static_cast<std::size_t>(rank) + tail + s.size();
    if (t.calls != 1 || t.bytes != sent * 2) {
      return Status::Internal("calls " + std::to_string(t.calls) + ", bytes " + std::to_string(t.bytes));
    }
    return Status::OK();
  });
  EXPECT_TRUE(status.ok()) << status.ToString();
}

TEST(PowerSgdTest, ARankBelowOneIsRefused) {
  AlgorithmOptions o = PowerSgd(0);
  o.kind = AlgorithmKind::kLocalSgd;
  o.budget = 10;
  const Status status = o.Validate(2);
  EXPECT_NE(status.message().find("--compress powersgd needs its rank R >= 1"), std::string::npos) << status.ToString();
}

}  // namespace
}  // namespace crpsgd
