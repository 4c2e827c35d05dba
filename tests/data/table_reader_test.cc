// CSV/TSV and NumPy tables: the label column, headers, gzip, and bad input
// refused with the file, line and column.
#include <zlib.h>

#include <cstring>

#include <gtest/gtest.h>

#include "crpsgd/data_loader.h"
#include "crpsgd/dataset.h"
#include "testing/temp_dir.h"

namespace crpsgd {
namespace {

using testing::TempDir;

void WriteGzip(const std::filesystem::path& path, const std::string& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())), static_cast<int>(bytes.size()));
  gzclose(f);
}

// A version-1 .npy file of `values` ([rows, cols], C order unless fortran).
template <class T>
std::string NpyBytes(const std::string& descr, std::size_t rows, std::size_t cols, const std::vector<T>& values,
                     bool fortran = false) {
  std::string header = "{'descr': '" + descr + "', 'fortran_order': " + (fortran ? "True" : "False") + ", 'shape': (" +
                       std::to_string(rows) + ", " + std::to_string(cols) + "), }";
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string bytes = "\x93NUMPY\x01";
  bytes += '\0';
  bytes += static_cast<char>(header.size() & 0xff);
  bytes += static_cast<char>(header.size() >> 8);
  bytes += header;
  bytes.append(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
  return bytes;
}

void Put(std::string& out, std::uint64_t v, int bytes) {
  for (int b = 0; b < bytes; ++b) out += static_cast<char>((v >> (8 * b)) & 0xff);
}

// A zip archive of `members`, as numpy.savez (stored) or savez_compressed (deflate) writes it.
std::string Zip(const std::vector<std::pair<std::string, std::string>>& members, bool compress) {
  std::string out, directory;
  for (const auto& [name, bytes] : members) {
    std::string packed = bytes;
    if (compress) {
      z_stream z{};
      deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
      packed.assign(deflateBound(&z, static_cast<uLong>(bytes.size())), '\0');
      z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
      z.avail_in = static_cast<uInt>(bytes.size());
      z.next_out = reinterpret_cast<Bytef*>(packed.data());
      z.avail_out = static_cast<uInt>(packed.size());
      deflate(&z, Z_FINISH);
      packed.resize(z.total_out);
      deflateEnd(&z);
    }
    const auto crc = crc32(0, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uInt>(bytes.size()));
    const std::size_t local = out.size();
    std::string common;
    Put(common, 20, 2), Put(common, 0, 2), Put(common, compress ? 8 : 0, 2), Put(common, 0, 4);
    Put(common, crc, 4), Put(common, packed.size(), 4), Put(common, bytes.size(), 4), Put(common, name.size(), 2);
    Put(common, 0, 2);
    out += std::string("PK\x03\x04", 4) + common + name + packed;
    directory += std::string("PK\x01\x02", 4);
    Put(directory, 20, 2);
    directory += common;
    Put(directory, 0, 2), Put(directory, 0, 2), Put(directory, 0, 2), Put(directory, 0, 4), Put(directory, local, 4);
    directory += name;
  }
  const std::size_t at = out.size();
  out += directory + std::string("PK\x05\x06", 4);
  Put(out, 0, 4), Put(out, members.size(), 2), Put(out, members.size(), 2), Put(out, directory.size(), 4);
  Put(out, at, 4), Put(out, 0, 2);
  return out;
}

TEST(TableReaderTest, NpzArchivesOfXAndYStoredOrDeflated) {
  TempDir dir;
  const std::string x = NpyBytes<float>("<f4", 3, 2, {1, 2, 3, 4, 5, 6});
  const std::string y = NpyBytes<std::int64_t>("<i8", 3, 1, {0, 1, 2});
  std::string y1 = y;  // [3] instead of [3, 1]
  y1.replace(y1.find("(3, 1)"), 6, "(3,)  ");
  for (const bool deflate : {false, true}) {
    const auto path = dir.Write(deflate ? "c.npz" : "s.npz", Zip({{"x.npy", x}, {"y.npy", y1}}, deflate));
    EXPECT_EQ(DetectFormat(path), DataFormat::kNpz);
    auto data = ReadNpz(path);
    ASSERT_TRUE(data.ok()) << data.status().ToString();
    EXPECT_EQ(data->labels, (std::vector<double>{0, 1, 2}));
    ASSERT_EQ(data->num_features(), 2u);
    EXPECT_EQ(data->dense(2, 1), 6.0);
  }
  EXPECT_NE(ReadNpz(dir.Write("w.npz", Zip({{"x.npy", x}, {"labels.npy", y1}}, false)))
                .status()
                .message()
                .find("an .npz needs arrays x and y (np.savez(FILE, x=X, y=Y)); it has labels.npy, x.npy"),
            std::string::npos);
  EXPECT_NE(ReadNpz(dir.Write("m.npz", Zip({{"x.npy", x}, {"y.npy", y}}, false))).status().message().find("y must be"),
            std::string::npos);
  std::string cut = Zip({{"x.npy", x}, {"y.npy", y1}}, true);
  cut.erase(40, 20);  // a damaged member
  EXPECT_FALSE(ReadNpz(dir.Write("d.npz", cut)).ok());
}

TEST(TableReaderTest, CsvWithHeaderPicksTheLabelColumn) {
  TempDir dir;
  const auto path = dir.Write("wine.csv", "class,alcohol,\"ash\"\n1,14.2,2.4\n# a comment\n\n2,13.1,-1e-3\n");
  auto first = ReadCsv(path);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->labels, (std::vector<double>{1, 2}));
  ASSERT_EQ(first->num_features(), 2u);
  EXPECT_FALSE(first->is_sparse);
  EXPECT_EQ(first->dense(1, 0), 13.1);
  EXPECT_EQ(first->dense(1, 1), -1e-3);
  auto by_name = ReadCsv(path, {"ash"});
  ASSERT_TRUE(by_name.ok()) << by_name.status().ToString();
  EXPECT_EQ(by_name->labels, (std::vector<double>{2.4, -1e-3}));
  EXPECT_EQ(by_name->dense(0, 0), 1.0);
  auto last = ReadCsv(path, {"-1"});
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(last->labels, by_name->labels);
  EXPECT_NE(ReadCsv(path, {"colour"})
                .status()
                .message()
                .find("no column of that name (its columns: class, alcohol, "
                      "ash)"),
            std::string::npos);
  EXPECT_NE(ReadCsv(path, {"3"}).status().message().find("has 3 columns"), std::string::npos);
}

TEST(TableReaderTest, TsvAndGzipWithoutHeader) {
  TempDir dir;
  const std::string text = "0\t1.5\t2\n1\t-3\t4\n";
  auto plain = ReadCsv(dir.Write("t.tsv", text));
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  EXPECT_EQ(plain->labels, (std::vector<double>{0, 1}));
  EXPECT_EQ(plain->dense(1, 0), -3.0);
  WriteGzip(dir / "t.tsv.gz", text);
  auto gz = ReadCsv(dir / "t.tsv.gz");
  ASSERT_TRUE(gz.ok()) << gz.status().ToString();
  EXPECT_EQ(gz->labels, plain->labels);
  EXPECT_EQ(gz->dense, plain->dense);
}

TEST(TableReaderTest, BadCsvNamesLineAndColumn) {
  TempDir dir;
  struct Case {
    std::string content, fragment;
  };
  for (const Case& c :
       {Case{"a,b\n1,2\n3,,\n", "bad.csv:3: 3 fields, the first row has 2"},
        Case{"a,b\n1,2\n3,\n", "bad.csv:3: column 1 is empty (missing values are not filled in"},
        Case{"1,2\n3,NaN\n", "bad.csv:2: column 1: 'NaN' is not a finite number"},
        Case{"a,b\n", "has no rows of numbers"}, Case{"just-one-column\n", "bad.csv:1: one column only"},
        Case{std::string("\x93NUMPY\x01\x00", 8), "looks like a NumPy array (.npy), not CSV text"}}) {
    const auto path = dir.Write("bad.csv", c.content);
    auto data = ReadCsv(path);
    ASSERT_FALSE(data.ok()) << c.content;
    EXPECT_NE(data.status().message().find(c.fragment), std::string::npos) << data.status().message();
  }
}

TEST(TableReaderTest, NpyFloatIntegerAndFortranOrder) {
  TempDir dir;
  // [[0, 1.5, 2], [2, -3, 4]] with the label first
  const auto f8 = dir.Write("a.npy", NpyBytes<double>("<f8", 2, 3, {0, 1.5, 2, 2, -3, 4}));
  auto a = ReadNpy(f8);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->labels, (std::vector<double>{0, 2}));
  EXPECT_EQ(a->dense(1, 0), -3.0);
  EXPECT_EQ(a->dense(1, 1), 4.0);
  const auto fortran = dir.Write("f.npy", NpyBytes<double>("<f8", 2, 3, {0, 2, 1.5, -3, 2, 4}, true));
  auto f = ReadNpy(fortran);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->dense, a->dense);
  EXPECT_EQ(f->labels, a->labels);
  const auto i8 = dir.Write("i.npy", NpyBytes<std::int64_t>("<i8", 2, 2, {-1, 7, 1, 8}));
  auto i = ReadNpy(i8, {"-1"});
  ASSERT_TRUE(i.ok()) << i.status().ToString();
  EXPECT_EQ(i->labels, (std::vector<double>{7, 8}));
  EXPECT_EQ(i->dense(0, 0), -1.0);
  // --format auto finds it by its bytes, whatever the name.
  EXPECT_EQ(DetectFormat(dir.Write("data.bin.txt", NpyBytes<double>("<f8", 1, 2, {1, 2}))), DataFormat::kNpy);
}

TEST(TableReaderTest, BadNpyIsRefusedWithTheReason) {
  TempDir dir;
  struct Case {
    std::string content, fragment;
  };
  std::string one_d = NpyBytes<double>("<f8", 2, 3, {0, 1, 2, 3, 4, 5});
  one_d.replace(one_d.find("(2, 3)"), 6, "(6,)  ");
  for (const Case& c : {Case{one_d, "a 1-D array; crpsgd reads one 2-D array"},
                        Case{NpyBytes<double>(">f8", 1, 2, {1, 2}), "dtype '>f8' is not supported"},
                        Case{NpyBytes<double>("<c16", 1, 1, {1, 2}), "dtype '<c16' is not supported"},
                        Case{NpyBytes<double>("<f8", 2, 2, {1, 2, 3}), "holds 24 bytes of data"},
                        Case{"label,x\n1,2\n", "looks like text, not a NumPy .npy file"}}) {
    auto data = ReadNpy(dir.Write("bad.npy", c.content));
    ASSERT_FALSE(data.ok());
    EXPECT_NE(data.status().message().find(c.fragment), std::string::npos) << data.status().message();
  }
}

// --format auto reads content, not only names: CSV text, gzip LIBSVM and
// binary files each get their reader or a message naming what they are.
TEST(TableReaderTest, FormatsAreDetectedFromContent) {
  TempDir dir;
  EXPECT_EQ(DetectFormat(dir.Write("wine.data", "1,14.2,2.4\n")), DataFormat::kCsv);
  EXPECT_EQ(DetectFormat(dir.Write("wine.tsv", "1\t14.2\t2.4\n")), DataFormat::kCsv);
  EXPECT_EQ(DetectFormat(dir.Write("a.txt", "# comment\n+1 1:0.5 3:2\n")), DataFormat::kLibsvm);
  WriteGzip(dir / "a.svm.gz", "+1 1:0.5 3:2\n-1 2:1\n");
  EXPECT_EQ(DetectFormat(dir / "a.svm.gz"), DataFormat::kLibsvm);
  auto gz = ReadLibsvm(dir / "a.svm.gz");
  ASSERT_TRUE(gz.ok()) << gz.status().ToString();
  EXPECT_EQ(gz->labels, (std::vector<double>{1, -1}));
  EXPECT_EQ(gz->num_features(), 3u);
  EXPECT_NE(ReadLibsvm(dir / "a.svm.gz", {}, {0, 2}).status().message().find("cannot be read in byte ranges"),
            std::string::npos);
  const auto zip = dir.Write("a.npz", std::string("PK\x03\x04\x14\x00\x00\x00", 8));
  EXPECT_NE(ReadLibsvm(zip).status().message().find("looks like a zip archive"), std::string::npos);
  EXPECT_NE(ReadNpz(zip).status().message().find("a damaged zip archive"), std::string::npos);
}

}  // namespace
}  // namespace crpsgd
