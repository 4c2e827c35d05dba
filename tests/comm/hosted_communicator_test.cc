// Hosted workers (hosted.h): N plan workers on P < N hosts see, bit for bit,
// what N workers see, in every collective, and a failure ends them all.
#include <cmath>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "crpsgd/compression.h"
#include "crpsgd/hosted.h"
#include "crpsgd/inproc.h"

namespace crpsgd {
namespace {

// Values of very different magnitude, so that the summation order shows.
double Contribution(int r, std::size_t i) { return std::pow(10.0, (r * 7 + static_cast<int>(i)) % 17 - 8) / 3.0; }

// Every collective once, each result appended to `seen` (floats widened).
Status EveryCollective(Communicator& comm, std::vector<double>& seen) {
  const auto keep = [&](const auto& values) { seen.insert(seen.end(), values.begin(), values.end()); };
  std::vector<double> mean(37);
  for (std::size_t i = 0; i < mean.size(); ++i) mean[i] = Contribution(comm.rank(), i);
  CRPSGD_RETURN_IF_ERROR(comm.AllreduceMean(mean));
  keep(mean);
  std::vector<float> mean32(11);
  for (std::size_t i = 0; i < mean32.size(); ++i) mean32[i] = static_cast<float>(Contribution(comm.rank(), i + 3));
  CRPSGD_RETURN_IF_ERROR(comm.AllreduceMean(std::span<float>(mean32)));
  keep(mean32);
  for (const Compression compression : {Compression::kBf16, Compression::kInt8}) {
    std::vector<double> message(300), sent(300);
    for (std::size_t i = 0; i < message.size(); ++i) message[i] = Contribution(comm.rank(), i) - 0.1 * comm.rank();
    CRPSGD_RETURN_IF_ERROR(comm.AllreduceMeanCompressed(message, compression, Traffic::kTraining, sent));
    keep(message);
    keep(sent);
  }
  std::vector<double> sum = {Contribution(comm.rank(), 1), -0.0, 1.0};
  CRPSGD_RETURN_IF_ERROR(comm.AllreduceSum(sum));
  keep(sum);
  for (int root = 0; root < comm.size(); ++root) {
    std::vector<double> b(3, comm.rank() == root ? Contribution(root, 2) : -1.0);
    CRPSGD_RETURN_IF_ERROR(comm.Broadcast(b, root));
    keep(b);
  }
  CRPSGD_ASSIGN_OR_RETURN(const std::vector<double> all, comm.Allgather(std::vector<double>{comm.rank() + 0.5}));
  keep(all);
  CRPSGD_RETURN_IF_ERROR(comm.Barrier());
  const CommStats& st = comm.stats();
  seen.insert(seen.end(), {static_cast<double>(st.training.calls), static_cast<double>(st.training.bytes),
                           static_cast<double>(st.evaluation.calls), static_cast<double>(st.evaluation.bytes)});
  return Status::OK();
}

struct Layout {
  int plan_workers;
  int hosts;
};

void PrintTo(const Layout& l, std::ostream* os) { *os << l.plan_workers << " plan workers on " << l.hosts << " hosts"; }

class HostedTest : public ::testing::TestWithParam<Layout> {};

TEST_P(HostedTest, PlanWorkersOnFewerHostsSeeWhatTheirOwnWorkersWould) {
  const auto [n, hosts] = GetParam();
  std::vector<std::vector<double>> alone(static_cast<std::size_t>(n)), hosted(static_cast<std::size_t>(n));
  ASSERT_TRUE(RunInProcess(n, [&](Communicator& comm) {
                return EveryCollective(comm, alone[static_cast<std::size_t>(comm.rank())]);
              }).ok());
  std::vector<int> sizes(static_cast<std::size_t>(n), 0);
  const Status status = RunInProcess(hosts, [&](Communicator& host) {
    return RunHostedWorkers(host, n, [&](Communicator& comm) {
      sizes[static_cast<std::size_t>(comm.rank())] = comm.size();
      return EveryCollective(comm, hosted[static_cast<std::size_t>(comm.rank())]);
    });
  });
  ASSERT_TRUE(status.ok()) << status.ToString();
  for (int v = 0; v < n; ++v) {
    EXPECT_EQ(sizes[static_cast<std::size_t>(v)], n);
    const std::vector<double>& a = alone[static_cast<std::size_t>(v)];
    const std::vector<double>& b = hosted[static_cast<std::size_t>(v)];
    ASSERT_EQ(a.size(), b.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
      ASSERT_EQ(std::signbit(a[i]), std::signbit(b[i])) << "plan worker " << v << ", value " << i;
      ASSERT_EQ(a[i], b[i]) << "plan worker " << v << ", value " << i;  // bitwise (no NaN here)
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Layouts, HostedTest,
                         ::testing::Values(Layout{4, 3}, Layout{4, 2}, Layout{5, 2}, Layout{4, 1}, Layout{3, 3}),
                         [](const auto& p) {
                           return std::to_string(p.param.plan_workers) + "_on_" + std::to_string(p.param.hosts);
                         });

TEST(HostedPlanRanksTest, RoundRobinOverTheHostsWithPlanWorkerZeroOnHostZero) {
  EXPECT_EQ(HostedPlanRanks(0, 3, 4), (std::vector<int>{0, 3}));
  EXPECT_EQ(HostedPlanRanks(1, 3, 4), (std::vector<int>{1}));
  EXPECT_EQ(HostedPlanRanks(1, 2, 5), (std::vector<int>{1, 3}));
  EXPECT_EQ(HostedPlanRanks(2, 4, 3), (std::vector<int>{2}));  // no fewer hosts than the plan: itself
}

// A plan worker that fails (or throws) on a host ends every worker, hosted
// or not, and the run's status is its error, not its peers' Unavailable.
TEST(HostedFailureTest, OneFailingPlanWorkerEndsAllWithItsOwnError) {
  for (const bool do_throw : {false, true}) {
    const Status status = RunInProcess(2, [&](Communicator& host) {
      return RunHostedWorkers(host, 4, [&](Communicator& comm) -> Status {
        std::vector<double> x(5, 1.0);
        CRPSGD_RETURN_IF_ERROR(comm.AllreduceMean(x));
        if (comm.rank() == 3) {
          if (do_throw) throw std::runtime_error("plan worker 3 broke");
          return Status::Internal("plan worker 3 broke");
        }
        for (int i = 0; i < 3; ++i) CRPSGD_RETURN_IF_ERROR(comm.AllreduceMean(x));
        return Status::OK();
      });
    });
    ASSERT_FALSE(status.ok());
    EXPECT_NE(status.message().find("plan worker 3 broke"), std::string::npos) << status.ToString();
  }
}

}  // namespace
}  // namespace crpsgd
