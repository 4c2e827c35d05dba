// The checkpoint file format on its own (the kill-and-resume CLI tests cover
// the protocol): every field survives a write and a read bit for bit, and a
// damaged, cut or foreign file is refused with a message naming it. The
// algorithm's own record is its business (algorithm_state_test.cc).
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>

#include <gtest/gtest.h>

#include "algorithms/checkpoint_file.h"
#include "testing/temp_dir.h"

namespace crpsgd::internal {
namespace {

bool SameBits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

bool SameBits(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (!SameBits(a[i], b[i])) return false;
  }
  return true;
}

// Every field set, to values whose bits a text format would lose.
WorkerCheckpoint Example() {
  WorkerCheckpoint c;
  c.identity = {{"problem", "logreg"}, {"lr", "0.1"}, {"empty", ""}};
  c.rank = 2, c.workers = 5;
  c.x = {0.1, -0.0, 1e-310, std::numeric_limits<double>::max(), -3.5};
  c.progress.rounds = 17, c.progress.sfo_per_worker = 1234;
  c.algorithm = "cr-psgd-catalyst";
  c.algorithm_state = std::string("\x01\0\0\0\0\0\0\0state\xfe", 14);
  c.sampler = std::string("sampler\0state\xff", 14);
  c.monitor = {21, 4096, 512, 1.5, 0.25, 0.125, 0.0625, 0.6931471805599453, 0.7178};
  c.observers = {"metrics:17", ""};
  c.model_state = std::string("bn\0stats\x80", 9);
  return c;
}

std::string ReadBytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void WriteBytes(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

TEST(CheckpointFileTest, EveryFieldSurvivesAWriteAndARead) {
  testing::TempDir dir;
  const WorkerCheckpoint c = Example();
  ASSERT_TRUE(WriteWorkerCheckpoint(dir / "c", c).ok());
  const Result<WorkerCheckpoint> read = ReadWorkerCheckpoint(dir / "c");
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  const WorkerCheckpoint& r = *read;
  EXPECT_EQ(r.identity, c.identity);
  EXPECT_EQ(r.rank, c.rank);
  EXPECT_EQ(r.workers, c.workers);
  EXPECT_TRUE(SameBits(r.x, c.x));
  EXPECT_EQ(r.progress.rounds, c.progress.rounds);
  EXPECT_EQ(r.progress.sfo_per_worker, c.progress.sfo_per_worker);
  EXPECT_EQ(r.algorithm, c.algorithm);
  EXPECT_EQ(r.algorithm_state, c.algorithm_state);
  EXPECT_EQ(r.sampler, c.sampler);
  EXPECT_EQ(r.monitor.next_auto_eval, c.monitor.next_auto_eval);
  EXPECT_EQ(r.monitor.bytes, c.monitor.bytes);
  EXPECT_EQ(r.monitor.eval_bytes, c.monitor.eval_bytes);
  for (auto [a, b] : {std::pair{r.monitor.wall_s, c.monitor.wall_s},
                      {r.monitor.comm_s, c.monitor.comm_s},
                      {r.monitor.eval_s, c.monitor.eval_s},
                      {r.monitor.net_model_s, c.monitor.net_model_s},
                      {r.monitor.last_loss, c.monitor.last_loss},
                      {r.monitor.first_loss, c.monitor.first_loss}}) {
    EXPECT_TRUE(SameBits(a, b)) << a << " " << b;
  }
  EXPECT_EQ(r.observers, c.observers);
  EXPECT_EQ(r.model_state, c.model_state);
}

// One flipped bit anywhere (magic, fields, checksum) and any cut is refused,
// naming the file; nothing is read back half.
TEST(CheckpointFileTest, AFlippedBitOrACutAnywhereIsRefused) {
  testing::TempDir dir;
  const auto path = dir / "round-5.rank-2";
  ASSERT_TRUE(WriteWorkerCheckpoint(path, Example()).ok());
  const std::string good = ReadBytes(path);
  ASSERT_GT(good.size(), 100u);
  for (std::size_t i = 0; i < good.size(); ++i) {
    std::string bad = good;
    bad[i] = static_cast<char>(bad[i] ^ (1 << (i % 8)));
    WriteBytes(path, bad);
    const Result<WorkerCheckpoint> read = ReadWorkerCheckpoint(path);
    ASSERT_FALSE(read.ok()) << "a flipped bit in byte " << i << " went unnoticed";
    EXPECT_NE(read.status().message().find(path.string()), std::string::npos) << read.status().message();
  }
  for (std::size_t length = 0; length < good.size(); length += 7) {
    WriteBytes(path, good.substr(0, length));
    ASSERT_FALSE(ReadWorkerCheckpoint(path).ok()) << "a file cut to " << length << " bytes was read";
  }
  WriteBytes(path, good);
  EXPECT_TRUE(ReadWorkerCheckpoint(path).ok());
}

TEST(CheckpointFileTest, AnotherFormatIsRefusedNamingBothAndAMissingFileIsNotFound) {
  testing::TempDir dir;
  const auto path = dir / "c";
  ASSERT_TRUE(WriteWorkerCheckpoint(path, Example()).ok());
  std::string bytes = ReadBytes(path);
  ASSERT_EQ(bytes.substr(0, 8), "CRPSGDC7");
  // Format 6 held every algorithm's fields in one record; 7 leaves them to the algorithm.
  for (char version : {'2', '6', '8'}) {
    bytes[7] = version;
    WriteBytes(path, bytes);
    const Result<WorkerCheckpoint> other = ReadWorkerCheckpoint(path);
    ASSERT_FALSE(other.ok());
    EXPECT_EQ(other.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(
        other.status().message().find(std::string("checkpoint format ") + version + ", this crpsgd reads format 7"),
        std::string::npos)
        << other.status().message();
  }
  const Result<WorkerCheckpoint> missing = ReadWorkerCheckpoint(dir / "none");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace crpsgd::internal
