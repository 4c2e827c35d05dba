#include <atomic>
#include <cmath>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "crpsgd/inproc.h"

namespace crpsgd {
namespace {

// What rank r contributes at position i: values of very different magnitude,
// so that the summation order shows in the last bits.
double Contribution(int r, std::size_t i) { return std::pow(10.0, (r * 7 + static_cast<int>(i)) % 17 - 8) / 3.0; }

class InprocTest : public ::testing::TestWithParam<int> {};

TEST_P(InprocTest, AllreduceMeanIsTheRankOrderSumOverN) {
  const int n = GetParam();
  const std::size_t len = 37;  // not a multiple of n: uneven chunks
  std::vector<double> expected(len, 0.0);
  for (std::size_t i = 0; i < len; ++i) {
    double sum = Contribution(0, i);
    for (int r = 1; r < n; ++r) sum += Contribution(r, i);
    expected[i] = sum / n;
  }
  const Status status = RunInProcess(n, [&](Communicator& comm) {
    std::vector<double> data(len);
    for (std::size_t i = 0; i < len; ++i) data[i] = Contribution(comm.rank(), i);
    CRPSGD_RETURN_IF_ERROR(comm.AllreduceMean(data));
    for (std::size_t i = 0; i < len; ++i) {
      if (data[i] != expected[i]) return Status::Internal("mismatch at " + std::to_string(i));  // bitwise
    }
    return Status::OK();
  });
  EXPECT_TRUE(status.ok()) << status.ToString();
}

TEST_P(InprocTest, FloatSumBroadcastAndCounters) {
  const int n = GetParam();
  const Status status = RunInProcess(n, [&](Communicator& comm) {
    std::vector<float> f(5, static_cast<float>(comm.rank() + 1));
    CRPSGD_RETURN_IF_ERROR(comm.AllreduceMean(f));
    if (f[4] != static_cast<float>(n + 1) / 2.0f) return Status::Internal("float mean wrong");
    std::vector<double> s(3, 1.0);
    CRPSGD_RETURN_IF_ERROR(comm.AllreduceSum(s));  // evaluation traffic by default
    if (s[0] != n) return Status::Internal("sum wrong");
    std::vector<double> b(4, comm.rank() == n - 1 ? 42.0 : -1.0);
    CRPSGD_RETURN_IF_ERROR(comm.Broadcast(b, n - 1));
    if (b[3] != 42.0) return Status::Internal("broadcast wrong");
    CRPSGD_RETURN_IF_ERROR(comm.Barrier());
    const CommStats& st = comm.stats();
    // Only the training all-reduce is a round; bytes are this worker's payload.
    if (st.training.calls != 1 || st.training.bytes != 5 * sizeof(float)) return Status::Internal("training stats");
    if (st.evaluation.calls != 2 || st.evaluation.bytes != (3 + 4) * sizeof(double)) {
      return Status::Internal("evaluation stats");
    }
    return Status::OK();
  });
  EXPECT_TRUE(status.ok()) << status.ToString();
}

// Every rank's values, bit for bit (a NaN too), in rank order, on every
// rank: one evaluation all-reduce of N times the length.
TEST_P(InprocTest, AllgatherGivesEveryRanksValuesInRankOrder) {
  const int n = GetParam();
  const Status status = RunInProcess(n, [&](Communicator& comm) -> Status {
    const std::vector<double> mine = {Contribution(comm.rank(), 0), -Contribution(comm.rank(), 5),
                                      comm.rank() == 1 ? std::nan("") : 1e300};
    CRPSGD_ASSIGN_OR_RETURN(const std::vector<double> all, comm.Allgather(mine));
    if (all.size() != 3 * static_cast<std::size_t>(n)) return Status::Internal("length");
    for (int r = 0; r < n; ++r) {
      const double* slot = all.data() + 3 * r;
      const std::string who = "rank " + std::to_string(r) + "'s ";
      if (slot[0] != Contribution(r, 0) || slot[1] != -Contribution(r, 5)) return Status::Internal(who + "values");
      if (r == 1 ? !std::isnan(slot[2]) : slot[2] != 1e300) return Status::Internal(who + "third value");
    }
    const CommStats& st = comm.stats();
    if (st.training.calls != 0 || st.evaluation.calls != 1 || st.evaluation.bytes != 3 * n * sizeof(double)) {
      return Status::Internal("stats");
    }
    return Status::OK();
  });
  EXPECT_TRUE(status.ok()) << status.ToString();
}

INSTANTIATE_TEST_SUITE_P(WorldSizes, InprocTest, ::testing::Values(1, 2, 3, 8, 16));

TEST(InprocFailureTest, AFailingWorkerAbortsTheOthersInsteadOfHangingThem) {
  std::atomic<int> unavailable{0};
  const Status status = RunInProcess(4, [&](Communicator& comm) {
    std::vector<double> data(8, 1.0);
    for (int round = 0; round < 5; ++round) {
      if (comm.rank() == 2 && round == 3) return Status::Corruption("worker 2 read a bad file");
      Status s = comm.AllreduceMean(data);
      if (!s.ok()) {
        if (s.code() == StatusCode::kUnavailable) unavailable++;
        return s;
      }
    }
    return Status::OK();
  });
  EXPECT_EQ(status.code(), StatusCode::kCorruption);  // the root cause, not the echoes
  EXPECT_EQ(status.message(), "worker 2 read a bad file");
  EXPECT_EQ(unavailable.load(), 3);
}

TEST(InprocFailureTest, AStalledWorkerTimesOutWithUnavailable) {
  InprocOptions options;
  options.timeout = std::chrono::milliseconds(200);
  const Status status = RunInProcess(
      3,
      [&](Communicator& comm) {
        if (comm.rank() == 1) {
          std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // stops answering
          return Status::OK();
        }
        std::vector<double> data(2, 1.0);
        return comm.AllreduceMean(data);
      },
      options);
  EXPECT_EQ(status.code(), StatusCode::kUnavailable);
  EXPECT_NE(status.message().find("stopped answering"), std::string::npos) << status.message();
}

TEST(InprocFailureTest, ExceptionsBecomeStatusesAndMismatchedLengthsAreCaught) {
  Status thrown = RunInProcess(2, [&](Communicator& comm) -> Status {
    if (comm.rank() == 0) throw std::runtime_error("boom");
    std::vector<double> d(1);
    return comm.AllreduceMean(d);
  });
  EXPECT_EQ(thrown.code(), StatusCode::kInternal);
  EXPECT_NE(thrown.message().find("boom"), std::string::npos);

  Status mismatch = RunInProcess(2, [&](Communicator& comm) {
    std::vector<double> d(comm.rank() == 0 ? 3 : 4);
    return comm.AllreduceMean(d);
  });
  EXPECT_FALSE(mismatch.ok());
  EXPECT_NE(mismatch.message().find("different lengths"), std::string::npos);
  EXPECT_EQ(RunInProcess(0, [](Communicator&) { return Status::OK(); }).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace crpsgd

namespace crpsgd {
namespace {

// --round-timeout's deadline: fixed, or 10x the median of the rounds measured
// (from the 5th), never below the floor; none before that or when off.
TEST(RoundDeadlineTest, FixedOrTenTimesTheMedianRoundAboveAFloor) {
  using std::chrono::milliseconds;
  RoundTimeout off;
  EXPECT_EQ(RoundDeadline(off, {1.0, 1.0, 1.0, 1.0, 1.0, 1.0}), milliseconds(0));
  RoundTimeout fixed;
  fixed.fixed = milliseconds(2500);
  EXPECT_EQ(RoundDeadline(fixed, {}), milliseconds(2500));
  RoundTimeout automatic;
  automatic.automatic = true;
  automatic.floor = milliseconds(1000);
  EXPECT_EQ(RoundDeadline(automatic, {9.0, 9.0, 9.0, 9.0}), milliseconds(0));  // 4 rounds: too few to judge
  // Median of {0.2, 0.3, 5.0, 0.25, 0.35} is 0.3 s: an outlier (an evaluation) does not move it.
  EXPECT_EQ(RoundDeadline(automatic, {0.2, 0.3, 5.0, 0.25, 0.35}), milliseconds(3000));
  EXPECT_EQ(RoundDeadline(automatic, {0.01, 0.01, 0.01, 0.01, 0.01}), milliseconds(1000));  // the floor
}

}  // namespace
}  // namespace crpsgd
