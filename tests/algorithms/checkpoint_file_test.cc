// The checkpoint file format on its own (the kill-and-resume CLI tests cover
// the protocol): every field survives a write and a read bit for bit, and a
// damaged, cut or foreign file is refused with a message naming it.
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
  c.algorithm.rounds = 17, c.algorithm.sfo_per_worker = 1234;
  c.algorithm.outer_iteration = 3, c.algorithm.center = {1.0 / 3.0, 2.0}, c.algorithm.sgd.rounds = 4;
  c.algorithm.sgd.sfo = 99, c.algorithm.sgd.velocity = {0.25, -1e-20};
  c.algorithm.sgd.norm_test = {true, 12.5, 0.0078125, 64};
  c.sampler = std::string("sampler\0state\xff", 14);
  c.monitor = {21, 4096, 512, 1.5, 0.25, 0.125, 0.0625, 0.6931471805599453, 0.7178};
  c.observers = {"metrics:17", ""};
  c.model_state = std::string("bn\0stats\x80", 9);
  c.algorithm.outer_velocity = {-0.5, 1e-300};
  c.algorithm.local_batch = 37;
  TailWindow& window = c.algorithm.tail.windows.emplace_back();
  window.share = 0.875, window.sum = {1.0 / 7.0, -2e-310}, window.count = 1234.0, window.drift_sum = -0.3;
  window.drift_count = 9;
  c.algorithm.tail.windows.emplace_back().share = 0.25;  // not started: no sum yet
  c.algorithm.tail.previous_move = {0.1, -1.0 / 3.0};
  c.algorithm.tail.previous_round_start = 5678;
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
  EXPECT_EQ(r.algorithm.rounds, c.algorithm.rounds);
  EXPECT_EQ(r.algorithm.sfo_per_worker, c.algorithm.sfo_per_worker);
  EXPECT_EQ(r.algorithm.outer_iteration, c.algorithm.outer_iteration);
  EXPECT_TRUE(SameBits(r.algorithm.center, c.algorithm.center));
  EXPECT_EQ(r.algorithm.sgd.rounds, c.algorithm.sgd.rounds);
  EXPECT_EQ(r.algorithm.sgd.sfo, c.algorithm.sgd.sfo);
  EXPECT_TRUE(SameBits(r.algorithm.sgd.velocity, c.algorithm.sgd.velocity));
  EXPECT_EQ(r.algorithm.sgd.norm_test.started, c.algorithm.sgd.norm_test.started);
  EXPECT_TRUE(SameBits(r.algorithm.sgd.norm_test.noise, c.algorithm.sgd.norm_test.noise));
  EXPECT_TRUE(SameBits(r.algorithm.sgd.norm_test.mean_norm2, c.algorithm.sgd.norm_test.mean_norm2));
  EXPECT_EQ(r.algorithm.sgd.norm_test.next_batch, c.algorithm.sgd.norm_test.next_batch);
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
  EXPECT_TRUE(SameBits(r.algorithm.outer_velocity, c.algorithm.outer_velocity));
  EXPECT_EQ(r.algorithm.local_batch, c.algorithm.local_batch);
  ASSERT_EQ(r.algorithm.tail.windows.size(), c.algorithm.tail.windows.size());
  for (std::size_t i = 0; i < c.algorithm.tail.windows.size(); ++i) {
    const TailWindow &got = r.algorithm.tail.windows[i], &want = c.algorithm.tail.windows[i];
    EXPECT_TRUE(SameBits(got.share, want.share));
    EXPECT_TRUE(SameBits(got.sum, want.sum));
    EXPECT_TRUE(SameBits(got.count, want.count));
    EXPECT_TRUE(SameBits(got.drift_sum, want.drift_sum));
    EXPECT_EQ(got.drift_count, want.drift_count);
  }
  EXPECT_TRUE(SameBits(r.algorithm.tail.previous_move, c.algorithm.tail.previous_move));
  EXPECT_EQ(r.algorithm.tail.previous_round_start, c.algorithm.tail.previous_round_start);
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

// A current file cut to an older format: its last `cut` bytes of fields
// dropped (with the checksum), the version byte set, re-checksummed.
std::string AsOlderFormat(const std::string& bytes, std::size_t cut, char version) {
  std::string body = bytes.substr(0, bytes.size() - 8 - cut);
  body[7] = version;
  std::uint64_t h = 14695981039346656037ull;
  for (unsigned char ch : body) h = (h ^ ch) * 1099511628211ull;
  body.append(reinterpret_cast<const char*>(&h), sizeof h);
  return body;
}

// Format 5 is format 6 without auto's tail average (three fields), format 4
// also without the two before them, format 3 also without the model state
// before those: all are still read, as runs without them.
TEST(CheckpointFileTest, Format3To5FilesAreReadWithoutTheirLaterFields) {
  testing::TempDir dir;
  WorkerCheckpoint c = Example();
  c.algorithm.tail = {};
  ASSERT_TRUE(WriteWorkerCheckpoint(dir / "c", c).ok());
  // Format 5: without the tail average's windows (8 bytes: none), move (8: empty) and round start (8).
  WriteBytes(dir / "c5", AsOlderFormat(ReadBytes(dir / "c"), 24, '5'));
  const Result<WorkerCheckpoint> read5 = ReadWorkerCheckpoint(dir / "c5");
  ASSERT_TRUE(read5.ok()) << read5.status().ToString();
  EXPECT_EQ(read5->algorithm.local_batch, c.algorithm.local_batch);
  EXPECT_TRUE(read5->algorithm.tail.windows.empty());
  c.algorithm.outer_velocity.clear();
  c.algorithm.local_batch = 0;
  ASSERT_TRUE(WriteWorkerCheckpoint(dir / "c", c).ok());
  // Format 4: also without the empty outer velocity (8 bytes of length) and the local batch (8).
  WriteBytes(dir / "c4", AsOlderFormat(ReadBytes(dir / "c"), 24 + 16, '4'));
  const Result<WorkerCheckpoint> read4 = ReadWorkerCheckpoint(dir / "c4");
  ASSERT_TRUE(read4.ok()) << read4.status().ToString();
  EXPECT_EQ(read4->model_state, c.model_state);
  EXPECT_TRUE(read4->algorithm.outer_velocity.empty());
  // Format 3: also without the model state, here empty (8 bytes of length).
  c.model_state.clear();
  ASSERT_TRUE(WriteWorkerCheckpoint(dir / "c", c).ok());
  WriteBytes(dir / "c3", AsOlderFormat(ReadBytes(dir / "c"), 24 + 24, '3'));
  const Result<WorkerCheckpoint> read3 = ReadWorkerCheckpoint(dir / "c3");
  ASSERT_TRUE(read3.ok()) << read3.status().ToString();
  EXPECT_EQ(read3->observers, c.observers);
  EXPECT_TRUE(read3->model_state.empty());
}

TEST(CheckpointFileTest, AnotherFormatIsRefusedNamingBothAndAMissingFileIsNotFound) {
  testing::TempDir dir;
  const auto path = dir / "c";
  ASSERT_TRUE(WriteWorkerCheckpoint(path, Example()).ok());
  std::string bytes = ReadBytes(path);
  ASSERT_EQ(bytes.substr(0, 8), "CRPSGDC6");
  for (char version : {'2', '7'}) {
    bytes[7] = version;
    WriteBytes(path, bytes);
    const Result<WorkerCheckpoint> other = ReadWorkerCheckpoint(path);
    ASSERT_FALSE(other.ok());
    EXPECT_EQ(other.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(other.status().message().find(std::string("checkpoint format ") + version +
                                            ", this crpsgd reads formats 3 to 6"),
              std::string::npos)
        << other.status().message();
  }
  const Result<WorkerCheckpoint> missing = ReadWorkerCheckpoint(dir / "none");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace crpsgd::internal
