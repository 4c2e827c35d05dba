// LIBLINEAR model files: exact round trips, LIBLINEAR's label order, and
// malformed files refused with the file and line.
#include <fstream>
#include <iterator>

#include <gtest/gtest.h>

#include "crpsgd/liblinear_model.h"
#include "testing/temp_dir.h"

namespace crpsgd {
namespace {

using testing::TempDir;

TEST(LiblinearModelTest, WriteThenReadIsExact) {
  TempDir dir;
  const std::vector<double> x = {0.1, -2.5e-300, 1.0 / 3.0, 7.0};
  // Without a bias feature: every coordinate is a feature weight.
  ASSERT_TRUE(WriteLiblinearModel(dir / "a", Problem::kLogistic, x, 0.0).ok());
  auto a = ReadLiblinearModel(dir / "a");
  ASSERT_TRUE(a.ok()) << a.status().message();
  EXPECT_EQ(a->solver_type, "L2R_LR");
  EXPECT_EQ(a->nr_feature, 4u);
  EXPECT_LT(a->bias, 0.0);
  EXPECT_EQ(a->weights, x);  // bit for bit
  // With crpsgd's --bias 2: the last coordinate is LIBLINEAR's bias weight.
  ASSERT_TRUE(WriteLiblinearModel(dir / "b", Problem::kLeastSquares, x, 2.0).ok());
  auto b = ReadLiblinearModel(dir / "b");
  ASSERT_TRUE(b.ok()) << b.status().message();
  EXPECT_EQ(b->solver_type, "L2R_L2LOSS_SVR");
  EXPECT_EQ(b->nr_feature, 3u);
  EXPECT_EQ(b->bias, 2.0);
  EXPECT_EQ(b->weights, x);
}

TEST(LiblinearModelTest, FirstLabelMinusOneIsNegated) {
  TempDir dir;
  const auto path =
      dir.Write("m", "solver_type L2R_LR\nnr_class 2\nlabel -1 1\nnr_feature 2\nbias -1\nw\n0.5 \n-1.5 \n");
  auto m = ReadLiblinearModel(path);
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->weights, (std::vector<double>{-0.5, 1.5}));  // crpsgd's x scores +1
}

// The data's own labels stay in the file: 1/0 data gives "label 1 0", so
// that liblinear-predict compares its predictions with the file's labels.
TEST(LiblinearModelTest, KeepsTheDataLabels) {
  TempDir dir;
  const std::vector<double> x = {0.5, -1.5};
  const std::vector<double> one_zero = {1.0, 0.0};
  ASSERT_TRUE(WriteLiblinearModel(dir / "b", Problem::kLogistic, x, 0.0, one_zero).ok());
  std::ifstream in(dir / "b");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("nr_class 2\nlabel 1 0\n"), std::string::npos) << text;
  auto b = ReadLiblinearModel(dir / "b");
  ASSERT_TRUE(b.ok()) << b.status().message();
  EXPECT_EQ(b->labels, one_zero);
  EXPECT_EQ(b->weights, x);
  // LIBLINEAR's own order "0 1" scores 0: read, it is turned to score 1.
  auto swapped = ReadLiblinearModel(
      dir.Write("s", "solver_type L2R_LR\nnr_class 2\nlabel 0 1\nnr_feature 2\nbias -1\nw\n0.5 \n-1.5 \n"));
  ASSERT_TRUE(swapped.ok()) << swapped.status().message();
  EXPECT_EQ(swapped->labels, one_zero);
  EXPECT_EQ(swapped->weights, (std::vector<double>{-0.5, 1.5}));
}

// K classes: K weights a feature line, the bias row last, labels kept in order.
TEST(LiblinearModelTest, MultiClassRoundTrip) {
  TempDir dir;
  const std::vector<double> labels = {1.0, 2.0, 7.0};
  const std::vector<double> x = {0.5, 0.25, 0.125, -1.0, -2.0, -3.0, 4.0, 5.0, 6.0};  // 2 features + bias, 3 classes
  ASSERT_TRUE(WriteLiblinearModel(dir / "m", Problem::kLogistic, x, 1.0, labels).ok());
  std::ifstream in(dir / "m");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("nr_class 3\nlabel 1 2 7\nnr_feature 2\nbias 1\nw\n0.5 0.25 0.125 \n"), std::string::npos)
      << text;
  auto m = ReadLiblinearModel(dir / "m");
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->labels, labels);
  EXPECT_EQ(m->columns(), 3u);
  EXPECT_EQ(m->nr_feature, 2u);
  EXPECT_EQ(m->weights, x);
}

TEST(LiblinearModelTest, MalformedFilesNameFileAndLine) {
  TempDir dir;
  const std::string head = "solver_type L2R_LR\nnr_class 2\nlabel 1 -1\n";
  struct Case {
    std::string content;
    std::string fragment;
  };
  for (const Case& c : {Case{head + "nr_feature 2\nbias -1\nw\n0.5\nx1\n", "m:8: weight 'x1' is not a finite number"},
                        Case{head + "nr_feature 2\nbias -1\nw\n0.5\n", "1 weights, expected 2 (nr_feature)"},
                        Case{head + "nr_feature 1\nbias 1\nw\n0.5\n", "1 weights, expected 2 (nr_feature + bias)"},
                        Case{head + "nr_feature 2\nbias -1\nw\n0.5 1\n0 0\n", "m:7: expected 1 weight per line"},
                        Case{head + "nr_feature -3\n", "m:4: nr_feature needs a number >= 0"},
                        Case{head + "colour red\n", "m:4: unknown header line 'colour'"},
                        Case{head + "nr_feature 1\nbias -1\n", "no 'w' line"},
                        Case{"solver_type L2R_LR\nnr_class 3\nlabel 1 2 3\nnr_feature 1\nbias -1\nw\n1 2\n",
                             "m:7: expected 3 weights per line (a model of 3 classes)"},
                        Case{"solver_type L2R_LR\nnr_class 3\nlabel 1 2\nnr_feature 1\nbias -1\nw\n1 2 3\n",
                             "nr_class 3 needs as many distinct labels"},
                        Case{"solver_type L2R_LR\nnr_class 2\nlabel 1 1\nnr_feature 1\nbias -1\nw\n1\n",
                             "nr_class 2 needs as many distinct labels"},
                        Case{"nr_feature 1\nbias -1\nw\n1\n", "lacks solver_type"}}) {
    const auto path = dir.Write("m", c.content);
    auto m = ReadLiblinearModel(path);
    ASSERT_FALSE(m.ok()) << c.content;
    EXPECT_NE(m.status().message().find(c.fragment), std::string::npos) << m.status().message();
    EXPECT_NE(m.status().message().find(path.string()), std::string::npos) << m.status().message();
  }
  EXPECT_EQ(ReadLiblinearModel(dir / "missing").status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace crpsgd
