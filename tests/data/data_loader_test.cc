// The data loader: formats, labels per task, and each worker's shard.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "crpsgd/data_loader.h"
#include "crpsgd/inproc.h"
#include "testing/problems.h"
#include "testing/temp_dir.h"

namespace crpsgd {
namespace {

// 10 samples, labels alternating +1/−1, feature j+1 of sample i = i + j/10
// (sample 9 also has feature 5, the widest).
std::string TenSamples() {
  std::string text;
  for (int i = 0; i < 10; ++i) {
    text += (i % 2 == 0 ? "+1" : "-1");
    text += " 1:" + std::to_string(i) + " 2:" + std::to_string(i + 0.1);
    if (i == 9) text += " 5:1";
    text += "\n";
  }
  return text;
}

TEST(DataLoaderTest, RandomShardsPartitionTheWholeSet) {
  testing::TempDir dir;
  DataOptions options;
  options.train = dir.Write("train.svm", TenSamples());
  options.bias = 1.0;
  auto data = LoadData(options, /*seed=*/3);
  ASSERT_TRUE(data.ok()) << data.status().ToString();
  EXPECT_EQ(data->num_train_samples, 10u);
  EXPECT_EQ(data->num_features, 6u);  // 5 features and the bias
  std::multiset<double> firsts;
  for (int rank = 0; rank < 3; ++rank) {
    auto shard = ShardOf(*data, options, rank, 3, /*seed=*/3);
    ASSERT_TRUE(shard.ok());
    EXPECT_GE(shard->train->num_samples(), 3u);
    EXPECT_EQ(shard->test, nullptr);
    for (std::size_t i = 0; i < shard->train->num_samples(); ++i) {
      firsts.insert(shard->train->sparse.coeff(static_cast<Eigen::Index>(i), 0));
      EXPECT_EQ(shard->train->sparse.coeff(static_cast<Eigen::Index>(i), 5), 1.0);  // the bias
    }
  }
  EXPECT_EQ(firsts, (std::multiset<double>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
}

TEST(DataLoaderTest, ByteRangePartsHoldEveryLineOnceAndAgreeOnTheWidth) {
  testing::TempDir dir;
  DataOptions options;
  options.train = dir.Write("train.svm", TenSamples());
  options.sharding = Sharding::kByteRange;
  auto data = LoadData(options, 1, PartsToRead::All(3));
  ASSERT_TRUE(data.ok()) << data.status().ToString();
  EXPECT_TRUE(data->byte_range());
  EXPECT_EQ(data->num_train_samples, 10u);
  std::size_t samples = 0;
  for (int rank = 0; rank < 3; ++rank) {
    auto shard = ShardOf(*data, options, rank, 3, 1);
    ASSERT_TRUE(shard.ok());
    EXPECT_EQ(shard->train->num_features(), 5u) << "every part has the widest part's width";
    samples += shard->train->num_samples();
  }
  EXPECT_EQ(samples, 10u);
  // Under MPI each rank reads its own part, and they agree collectively.
  const Status agreed = RunInProcess(3, [&](Communicator& comm) {
    Result<LoadedData> mine = LoadData(options, 1, PartsToRead{{comm.rank()}, 3});
    bool print_here = false;
    CRPSGD_RETURN_IF_ERROR(AgreeOnParts(comm, options, mine, &print_here));
    if (mine->num_features != 5 || mine->num_train_samples != 10) return Status::Internal("disagree");
    return Status::OK();
  });
  EXPECT_TRUE(agreed.ok()) << agreed.ToString();
}

TEST(DataLoaderTest, LabelsFollowTheTask) {
  testing::TempDir dir;
  DataOptions options;
  options.train = dir.Write("train.svm", TenSamples());
  options.labels = LabelTask::kClasses;  // networks: ±1 becomes classes 1 and 0
  auto classes = LoadData(options, 1);
  ASSERT_TRUE(classes.ok());
  EXPECT_EQ(classes->num_classes, 2u);
  EXPECT_EQ(classes->train.labels[0], 1.0);
  EXPECT_EQ(classes->train.labels[1], 0.0);
  options.bias = 1.0;
  auto with_bias = LoadData(options, 1);
  ASSERT_FALSE(with_bias.ok());
  EXPECT_NE(with_bias.status().message().find("--bias is for linear models"), std::string::npos);
}

// A file's labels are never changed silently: K > 2 values are classes in
// the order of their values (kept for the model file), a binary problem
// refuses them with a way out, and a test label the training data lacks is
// refused naming the sample.
TEST(DataLoaderTest, MultiClassLabelsBecomeClassesInTheirOrder) {
  testing::TempDir dir;
  DataOptions options;
  options.train = dir.Write("wine.svm", "3 1:1\n1 1:2\n2 2:1\n3 1:3\n");
  const Status binary = LoadData(options, 1).status();
  EXPECT_NE(binary.message().find("wine.svm: 3 labels (1, 2, 3): this --problem is binary; --problem logreg "
                                  "(multinomial), softmax or mlp train 3 classes"),
            std::string::npos)
      << binary.ToString();
  options.multiclass = true;  // logreg
  auto multinomial = LoadData(options, 1);
  ASSERT_TRUE(multinomial.ok()) << multinomial.status().ToString();
  EXPECT_EQ(multinomial->num_classes, 3u);
  EXPECT_EQ(multinomial->class_labels, (std::vector<double>{1, 2, 3}));
  EXPECT_EQ(multinomial->train.labels, (std::vector<double>{2, 0, 1, 2}));
  options.multiclass = false;
  options.labels = LabelTask::kClasses;  // networks: the same classes
  auto classes = LoadData(options, 1);
  ASSERT_TRUE(classes.ok()) << classes.status().ToString();
  EXPECT_EQ(classes->train.labels, (std::vector<double>{2, 0, 1, 2}));
  EXPECT_EQ(classes->num_classes, 3u);
  options.test = dir.Write("test.svm", "1 1:1\n7 1:1\n");
  const Status unseen = LoadData(options, 1).status();
  EXPECT_NE(unseen.message().find("test.svm: sample 2: label 7 is not one of the training data's 3 labels"),
            std::string::npos)
      << unseen.ToString();
  options.test.clear();
  std::string many;  // 10001 distinct whole numbers: targets, not classes
  for (int i = 0; i <= 10000; ++i) many += std::to_string(i) + " 1:1\n";
  options.train = dir.Write("many.svm", many);
  EXPECT_NE(LoadData(options, 1).status().message().find("more than 10000 distinct labels"), std::string::npos);
  options.train = dir.Write("half.svm", "1.5 1:1\n1 1:2\n");
  EXPECT_NE(LoadData(options, 1).status().message().find("half.svm: sample 1: label 1.5 is not a class label"),
            std::string::npos);
}

// IDX images with every class (--positive-class -1) for a linear classifier:
// the class numbers become classes (multinomial logreg), or a binary
// problem's message; they never reach a binary model as labels 0..K−1.
TEST(DataLoaderTest, EveryClassOfImagesIsMultinomialForLogreg) {
  testing::TempDir dir;
  DataOptions options;
  options.format = DataFormat::kIdx;
  // 4 images of 1x2 pixels, classes 0, 1, 2, 0.
  options.train = dir.Write("train-images-idx3-ubyte", testing::IdxBytes({4, 1, 2}, {0, 1, 2, 3, 4, 5, 6, 7}));
  options.train_labels = dir.Write("train-labels-idx1-ubyte", testing::IdxBytes({4}, {0, 1, 2, 0}));
  options.positive_class = -1;
  const Status binary = LoadData(options, 1).status();
  EXPECT_NE(binary.message().find("3 labels (0, 1, 2): this --problem is binary"), std::string::npos)
      << binary.ToString();
  options.multiclass = true;  // logreg
  auto multinomial = LoadData(options, 1);
  ASSERT_TRUE(multinomial.ok()) << multinomial.status().ToString();
  EXPECT_EQ(multinomial->num_classes, 3u);
  EXPECT_EQ(multinomial->train.labels, (std::vector<double>{0, 1, 2, 0}));
  options.labels = LabelTask::kRegression;  // leastsq: the class numbers are the targets
  auto targets = LoadData(options, 1);
  ASSERT_TRUE(targets.ok()) << targets.status().ToString();
  EXPECT_EQ(targets->train.labels, (std::vector<double>{0, 1, 2, 0}));
}

// Binary data keeps its own two labels for the model file: 1/0 stays 1/0,
// and two other values are binary too (the larger one positive).
TEST(DataLoaderTest, BinaryLabelsRememberTheirNames) {
  testing::TempDir dir;
  DataOptions options;
  options.train = dir.Write("a.svm", "1 1:1\n0 1:2\n");
  auto one_zero = LoadData(options, 1);
  ASSERT_TRUE(one_zero.ok());
  EXPECT_EQ(one_zero->train.labels, (std::vector<double>{1, -1}));
  EXPECT_EQ(one_zero->class_labels, (std::vector<double>{1, 0}));
  options.train = dir.Write("b.svm", "2 1:1\n4 1:2\n4 1:3\n");
  auto two_four = LoadData(options, 1);
  ASSERT_TRUE(two_four.ok());
  EXPECT_EQ(two_four->train.labels, (std::vector<double>{-1, 1, 1}));
  EXPECT_EQ(two_four->class_labels, (std::vector<double>{4, 2}));
  options.train = dir.Write("c.svm", "5 1:1\n5 1:2\n");
  EXPECT_NE(LoadData(options, 1).status().message().find("every sample has label 5"), std::string::npos);
}

// CSV and .npy data go through the same doors as LIBSVM.
TEST(DataLoaderTest, CsvFilesLoadByContent) {
  testing::TempDir dir;
  DataOptions options;
  options.train = dir.Write("iris.txt", "species,a,b\n0,1,2\n1,3,4\n2,5,6\n");
  options.multiclass = true;
  options.bias = 1.0;
  auto data = LoadData(options, 1);
  ASSERT_TRUE(data.ok()) << data.status().ToString();
  EXPECT_EQ(data->num_classes, 3u);
  EXPECT_EQ(data->num_features, 3u) << "two features and the bias";
  options.table.label_column = "b";
  options.labels = LabelTask::kRegression;
  auto regression = LoadData(options, 1);
  ASSERT_TRUE(regression.ok()) << regression.status().ToString();
  EXPECT_EQ(regression->train.labels, (std::vector<double>{2, 4, 6}));
}

// --standardize auto and --bias auto (nullopt): a linear model's dense table
// is standardized (with an intercept) when a feature is not scaled or the
// targets are least squares'; scaled, sparse, image-less network and
// synthetic data are left as they are.
TEST(DataLoaderTest, AutomaticScalingAndInterceptFollowTheData) {
  testing::TempDir dir;
  DataOptions options;
  options.standardize.reset();
  options.bias.reset();
  options.train = dir.Write("raw.csv", "y,a,b\n1,0.5,900\n-1,-0.5,1200\n1,0.25,1000\n");
  auto raw = LoadData(options, 1);
  ASSERT_TRUE(raw.ok()) << raw.status().ToString();
  EXPECT_NE(raw->scaling, nullptr);
  EXPECT_EQ(raw->bias, 1.0);
  EXPECT_EQ(raw->num_features, 3u) << "two features and the intercept";
  EXPECT_NE(raw->automatic_choices.find("feature 2 reaches 1200: not scaled"), std::string::npos)
      << raw->automatic_choices;
  EXPECT_NEAR(raw->train.dense.col(1).mean(), 0.0, 1e-12) << "centred, as the model has an intercept";

  // A scaled CSV table: not standardized, but an intercept, as scikit-learn fits one.
  options.train = dir.Write("scaled.csv", "y,a,b\n1,0.5,-1\n-1,-0.5,1\n1,0.25,0.5\n");
  auto scaled = LoadData(options, 1);
  ASSERT_TRUE(scaled.ok());
  EXPECT_EQ(scaled->scaling, nullptr);
  EXPECT_EQ(scaled->bias, 1.0);
  EXPECT_EQ(scaled->automatic_choices.rfind("fitting an intercept (--bias 1)", 0), 0u) << scaled->automatic_choices;
  // The same as LIBSVM, LIBLINEAR's format: as it is, as liblinear-train takes it.
  options.train = dir.Write("scaled.svm", "1 1:0.5 2:-1\n-1 1:-0.5 2:1\n1 1:0.25 2:0.5\n");
  auto scaled_libsvm = LoadData(options, 1);
  ASSERT_TRUE(scaled_libsvm.ok());
  EXPECT_EQ(scaled_libsvm->scaling, nullptr);
  EXPECT_EQ(scaled_libsvm->bias, 0.0);
  EXPECT_TRUE(scaled_libsvm->automatic_choices.empty()) << scaled_libsvm->automatic_choices;

  options.labels = LabelTask::kRegression;  // least squares: scaled or not, standardized with an intercept
  auto regression = LoadData(options, 1);
  ASSERT_TRUE(regression.ok());
  EXPECT_NE(regression->scaling, nullptr);
  EXPECT_EQ(regression->bias, 1.0);

  // Sparse LIBSVM (under half non-zeros): an intercept for least squares, never scaled automatically.
  options.train = dir.Write("sparse.svm", "3 1:500\n4 2:700\n5 3:900\n6 4:2\n");
  auto sparse = LoadData(options, 1);
  ASSERT_TRUE(sparse.ok());
  EXPECT_EQ(sparse->scaling, nullptr);
  EXPECT_EQ(sparse->bias, 1.0);

  // What is given wins; a network's raw table is standardized (centred, no intercept: it has its own).
  options.train = dir.Write("raw2.csv", "y,a,b\n1,0.5,900\n0,-0.5,1200\n1,0.25,1000\n");
  options.labels = LabelTask::kBinary;
  options.standardize = false;
  options.bias = 0.0;
  auto given = LoadData(options, 1);
  ASSERT_TRUE(given.ok());
  EXPECT_EQ(given->scaling, nullptr);
  EXPECT_EQ(given->bias, 0.0);
  EXPECT_TRUE(given->automatic_choices.empty());
  options.standardize.reset();
  options.bias.reset();
  options.labels = LabelTask::kClasses;
  auto network = LoadData(options, 1);
  ASSERT_TRUE(network.ok()) << network.status().ToString();
  ASSERT_NE(network->scaling, nullptr);
  EXPECT_EQ(network->bias, 0.0);
  EXPECT_NE(network->automatic_choices.find("feature 2 reaches 1200: not scaled"), std::string::npos)
      << network->automatic_choices;
  EXPECT_NE(network->automatic_choices.find("predict applies them"), std::string::npos);
  EXPECT_NEAR(network->train.dense.col(1).mean(), 0.0, 1e-12);  // centred
  // A network's scaled table is left alone, as a linear model's is.
  options.train = dir.Write("scaled2.csv", "y,a,b\n1,0.5,0.9\n0,-0.5,-1\n1,0.25,0.1\n");
  auto network_scaled = LoadData(options, 1);
  ASSERT_TRUE(network_scaled.ok());
  EXPECT_EQ(network_scaled->scaling, nullptr);
}

TEST(DataLoaderTest, SyntheticDataComesFromTheSeed) {
  DataOptions options;
  options.format = DataFormat::kSynthetic;
  options.labels = LabelTask::kRegression;
  options.synthetic.samples = 50;
  options.synthetic.features = 4;
  auto a = LoadData(options, 5), b = LoadData(options, 5), c = LoadData(options, 6);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(a->train.labels, b->train.labels);
  EXPECT_NE(a->train.labels, c->train.labels);
  options.synthetic.condition_number = 0.5;
  EXPECT_NE(LoadData(options, 5).status().message().find("--synthetic-condition must be >= 1"), std::string::npos);
}

TEST(DataLoaderTest, BadOptionsNameTheFlagOrTheFile) {
  testing::TempDir dir;
  DataOptions options;
  EXPECT_NE(LoadData(options, 1).status().message().find("--data is required"), std::string::npos);
  options.train = dir / "missing.svm";
  const Status missing = LoadData(options, 1).status();
  EXPECT_NE(missing.message().find("missing.svm"), std::string::npos) << missing.ToString();
  options.train = dir.Write("train.svm", TenSamples());
  options.normalize = true;
  EXPECT_NE(LoadData(options, 1).status().message().find("--normalize needs image data"), std::string::npos);
  options.normalize = false;
  options.sharding = Sharding::kByteRange;
  options.labels = LabelTask::kClasses;
  EXPECT_NE(LoadData(options, 1, PartsToRead::All(2)).status().message().find("is for linear models"),
            std::string::npos);
  // A test set smaller than the number of workers cannot be sharded.
  options = {};
  options.train = dir / "train.svm";
  options.test = dir.Write("test.svm", "+1 1:1\n");
  auto data = LoadData(options, 1);
  ASSERT_TRUE(data.ok()) << data.status().ToString();
  EXPECT_NE(ShardOf(*data, options, 0, 2, 1).status().message().find("fewer samples than there are workers"),
            std::string::npos);
}

// --format tensors goes through DataOptions::read_tensors (LibTorch's reader
// in the tool): chosen for *.pt, said to be missing without one, and its
// labels read per task.
TEST(DataLoaderTest, TensorFilesUseTheGivenReader) {
  testing::TempDir dir;
  DataOptions options;
  options.train = dir.Write("train.pt", "not read by the loader itself");
  auto missing = LoadData(options, 1);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("train.pt: is read as a tensors file (--format tensors), which needs "
                                            "LibTorch"),
            std::string::npos)
      << missing.status().message();
  std::vector<std::filesystem::path> asked;
  options.read_tensors = [&](const std::filesystem::path& path) -> Result<Dataset> {
    asked.push_back(path);
    Dataset d;
    d.source = path.string();
    ResizeDense(d, 4, 2);
    d.dense.setOnes();
    d.labels = {1, 0, 1, 0};
    return d;
  };
  auto binary = LoadData(options, 1);  // linear models: 1 is +1, 0 is -1
  ASSERT_TRUE(binary.ok()) << binary.status().ToString();
  EXPECT_EQ(binary->train.labels, (std::vector<double>{1, -1, 1, -1}));
  options.labels = LabelTask::kClasses;
  auto classes = LoadData(options, 1);
  ASSERT_TRUE(classes.ok());
  EXPECT_EQ(classes->train.labels, (std::vector<double>{1, 0, 1, 0}));
  EXPECT_EQ(classes->num_classes, 2u);
  EXPECT_EQ(asked.size(), 2u);
  // Tensor files hold class numbers: -1 stays -1 (the network refuses it), never class 0.
  options.read_tensors = [&](const std::filesystem::path& path) -> Result<Dataset> {
    Dataset d;
    d.source = path.string();
    ResizeDense(d, 3, 2);
    d.dense.setOnes();
    d.labels = {-1, 1, -1};
    return d;
  };
  auto minus_one = LoadData(options, 1);
  ASSERT_TRUE(minus_one.ok());
  EXPECT_EQ(minus_one->train.labels, (std::vector<double>{-1, 1, -1}));
  EXPECT_EQ(asked.front(), options.train);
}

TEST(DataLoaderTest, FormatAndShardingNamesRoundTrip) {
  for (DataFormat f :
       {DataFormat::kAuto, DataFormat::kLibsvm, DataFormat::kIdx, DataFormat::kCifar10, DataFormat::kSynthetic,
        DataFormat::kTensors, DataFormat::kCsv, DataFormat::kNpy, DataFormat::kNpz}) {
    EXPECT_EQ(ParseDataFormat(DataFormatName(f)).value(), f);
  }
  EXPECT_EQ(ParseSharding("byte-range").value(), Sharding::kByteRange);
  EXPECT_EQ(ParseDataFormat("csv").value(), DataFormat::kCsv);
  EXPECT_EQ(ParseDataFormat("xlsx").status().message(),
            "--format must be auto, libsvm, idx, cifar10, synthetic, tensors, csv, npy or npz, got 'xlsx'");
}

}  // namespace
}  // namespace crpsgd
