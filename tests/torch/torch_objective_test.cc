// Networks through LibTorch: shapes, gradients, training through crpsgd,
// batch-norm synchronisation and the saved model file.
#include <fstream>
#include <functional>
#include <numeric>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "crpsgd/crpsgd.h"
#include "crpsgd/torch.h"
#include "testing/problems.h"
#include "testing/temp_dir.h"

namespace crpsgd {
namespace {

// Images [1, 8, 8] of 3 classes: class c has a bright c-th horizontal band.
Dataset BandImages(std::size_t n, std::uint64_t seed = 3) {
  Dataset data = testing::SmallDense(n, 64, SyntheticTask::kRegression, seed);  // noise
  data.image_shape = {1, 8, 8};
  for (std::size_t i = 0; i < n; ++i) {
    const int c = static_cast<int>(i % 3);
    data.labels[i] = c;
    for (int p = 0; p < 64; ++p) {
      data.dense(static_cast<Eigen::Index>(i), p) *= 0.3;
      if (p / 8 >= 2 * c && p / 8 < 2 * c + 2) data.dense(static_cast<Eigen::Index>(i), p) += 1.0;
    }
  }
  return data;
}

TorchObjectiveOptions Options(TorchModel model, std::size_t classes = 3) {
  TorchObjectiveOptions o;
  o.model = model;
  o.num_classes = classes;
  o.hidden = 8;
  return o;
}

TEST(TorchModelTest, ResNet20HasTheParameterCountOfThePaper) {
  Dataset cifar_like;
  cifar_like.image_shape = {3, 32, 32};
  cifar_like.dense = DenseMatrix::Zero(2, 3072);
  cifar_like.labels = {0, 1};
  auto f = MakeTorchObjective(cifar_like, Options(TorchModel::kResNet20, 10));
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  // He et al. 2016, Table 6: 0.27 M parameters for n = 3 (option A shortcuts).
  EXPECT_GT((*f)->dim(), 265000u);
  EXPECT_LT((*f)->dim(), 275000u);
  EXPECT_GT((*f)->num_parameter_tensors(), 40u);  // still one flat vector: one all-reduce per round
}

// Relative errors of central differences on `coordinates` coordinates, sorted.
std::vector<double> FiniteDifferenceErrors(const TorchObjective& f, std::span<const std::size_t> batch,
                                           std::size_t coordinates) {
  std::vector<double> x = f.InitialPoint();
  std::vector<double> g(x.size(), 0.0);
  f.AccumulateGradient(x, batch, g);
  std::vector<double> errors;
  for (std::size_t k = 0; k < coordinates; ++k) {
    const std::size_t j = (k * 7919) % x.size();
    const double h = 1e-6, saved = x[j];
    std::vector<double> scratch(x.size());
    x[j] = saved + h;
    const double plus = f.AccumulateGradient(x, batch, scratch);
    x[j] = saved - h;
    const double minus = f.AccumulateGradient(x, batch, scratch);
    x[j] = saved;
    errors.push_back(std::abs((plus - minus) / (2 * h) - g[j]) / std::max(1.0, std::abs(g[j])));
  }
  std::sort(errors.begin(), errors.end());
  return errors;
}

TEST(TorchObjectiveTest, GradientsMatchFiniteDifferencesInDoublePrecision) {
  // Gaussian-noise images: no flat regions that park ReLU inputs at their kink.
  Dataset data = testing::SmallDense(12, 64, SyntheticTask::kRegression, 3);
  data.image_shape = {1, 8, 8};
  for (std::size_t i = 0; i < 12; ++i) data.labels[i] = static_cast<double>(i % 3);
  const std::vector<std::size_t> batch = {0, 4, 4, 7, 11};
  for (TorchModel model : {TorchModel::kSoftmax, TorchModel::kMlp, TorchModel::kResNet20}) {
    TorchObjectiveOptions options = Options(model);
    options.float64 = true;
    auto f = MakeTorchObjective(data, options);
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    const std::vector<double> errors = FiniteDifferenceErrors(**f, batch, 40);
    if (model == TorchModel::kSoftmax) {
      EXPECT_LT(errors.back(), 1e-6);
    }
    // A ReLU kink within ±h of a coordinate spoils that one difference; at most 2 of 40.
    EXPECT_LT(errors[37], 1e-5) << TorchModelName(model) << " worst " << errors.back();
  }
}

TEST(TorchObjectiveTest, GradientIsASumOverSamplesAndChunksDoNotMatter) {
  const Dataset data = BandImages(20);
  TorchObjectiveOptions options = Options(TorchModel::kMlp);
  options.float64 = true;
  auto whole = MakeTorchObjective(data, options).value();
  options.eval_chunk = 3;
  auto pieces = MakeTorchObjective(data, options).value();
  const auto all = testing::AllIndices(20);
  const std::vector<double> x = whole->InitialPoint();
  std::vector<double> a(x.size(), 0.0), b(x.size(), 0.0), c(x.size(), 0.0);
  const double la = whole->AccumulateGradient(x, all, a);
  const double lb = pieces->AccumulateGradient(x, all, b);
  EXPECT_NEAR(la, lb, 1e-10);
  EXPECT_NEAR(la, whole->Loss(x, all), 1e-10);  // no batch norm: train and eval agree
  double sum_of_parts = 0;
  for (std::size_t i = 0; i < 20; ++i) sum_of_parts += whole->AccumulateGradient(x, std::vector<std::size_t>{i}, c);
  EXPECT_NEAR(sum_of_parts, la, 1e-10);
  for (std::size_t j = 0; j < x.size(); ++j) {
    EXPECT_NEAR(a[j], b[j], 1e-10);
    EXPECT_NEAR(a[j], c[j], 1e-10);
  }
}

TEST(TorchObjectiveTest, BadLabelsAndShapesAreStatuses) {
  Dataset data = BandImages(6);
  data.labels[2] = 3;  // 3 classes: 0..2
  auto f = MakeTorchObjective(data, Options(TorchModel::kSoftmax));
  EXPECT_EQ(f.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(f.status().message().find("label 3"), std::string::npos) << f.status().message();
  Dataset flat = testing::SmallDense(6, 5, SyntheticTask::kBinary);
  for (double& y : flat.labels) y = y > 0 ? 1 : 0;
  EXPECT_EQ(MakeTorchObjective(flat, Options(TorchModel::kResNet20)).status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(MakeTorchObjective(flat, Options(TorchModel::kMlp, 2)).ok());
}

// The model file's entries (named parameters and buffers).
c10::Dict<c10::IValue, c10::IValue> LoadModelFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return torch::pickle_load(bytes).toGenericDict();
}

// Precise batch norm: after Recalibrate the first batch norm holds the
// per-channel mean of the first convolution's output over exactly the given
// samples, computed in pieces of unequal size, and nothing of what training
// left in the running averages.
TEST(TorchObjectiveTest, RecalibratedBatchNormHasTheStatisticsOfTheEvaluatedModel) {
  testing::TempDir dir;
  const Dataset data = BandImages(60);
  const Status status = RunInProcess(1, [&](Communicator& comm) -> Status {
    TorchObjectiveOptions options = Options(TorchModel::kResNet20);
    options.eval_chunk = 7;  // 45 samples: pieces of 7 and a last one of 3
    CRPSGD_ASSIGN_OR_RETURN(auto trained, MakeTorchObjective(data, options));
    CRPSGD_ASSIGN_OR_RETURN(auto fresh, MakeTorchObjective(data, options));
    std::vector<double> x = trained->InitialPoint();
    std::vector<double> grad(x.size(), 0.0);
    const std::vector<std::size_t> batch = {0, 5, 9, 13, 50, 51};
    for (int step = 0; step < 5; ++step) {  // moves the running averages of `trained` only
      std::fill(grad.begin(), grad.end(), 0.0);
      trained->AccumulateGradient(x, batch, grad);
      for (std::size_t j = 0; j < x.size(); ++j) x[j] -= 0.05 * grad[j];
    }
    std::vector<std::size_t> samples(45);
    std::iota(samples.begin(), samples.end(), 10);
    CRPSGD_RETURN_IF_ERROR(trained->model_state()->Recalibrate(x, samples, comm));
    CRPSGD_RETURN_IF_ERROR(fresh->model_state()->Recalibrate(x, samples, comm));
    // The same statistics whatever the history: the same loss, bit for bit.
    const std::vector<std::size_t> all = testing::AllIndices(60);
    EXPECT_EQ(trained->Loss(x, all), fresh->Loss(x, all));

    CRPSGD_RETURN_IF_ERROR(trained->Save(dir / "model.pt", x));
    const auto dict = LoadModelFile(dir / "model.pt");
    const torch::Tensor images =
        torch::from_blob(const_cast<double*>(data.dense.data()), {60, 1, 8, 8}, torch::kFloat64)
            .narrow(0, 10, 45)
            .to(torch::kFloat32);
    const torch::Tensor conv = torch::conv2d(images, dict.at("conv.weight").toTensor(), {}, 1, 1);
    const torch::Tensor expected = conv.mean({0, 2, 3});
    const torch::Tensor running_mean = dict.at("bn.running_mean").toTensor();
    EXPECT_TRUE(torch::allclose(running_mean, expected, 1e-4, 1e-5)) << running_mean << expected;
    EXPECT_EQ(dict.at("bn.num_batches_tracked").toTensor().item<std::int64_t>(), 5);  // training batches only
    return Status::OK();
  });
  ASSERT_TRUE(status.ok()) << status.ToString();
}

struct Trained {
  RunSummary summary;
  CommStats stats;
  std::size_t state_values = 0;  // batch-norm statistics: what local SGD's round adds to x
};

// `adjust` changes the run's options after the defaults below.
Trained TrainOn(
    const Dataset& data, TorchModel model, AlgorithmKind kind, int workers, std::uint64_t seed,
    const std::filesystem::path& save = {}, const std::function<void(TrainOptions&)>& adjust = [](TrainOptions&) {}) {
  Trained out;
  const Status status = RunInProcess(workers, [&](Communicator& comm) -> Status {
    TorchObjectiveOptions options = Options(model);
    options.seed = seed;
    options.rank = comm.rank();
    CRPSGD_ASSIGN_OR_RETURN(
        auto f,
        MakeTorchObjective(SelectRows(data, ShardIndices(data.num_samples(), comm.rank(), workers, seed)), options));
    TrainOptions train;
    train.algorithm.kind = kind;
    train.algorithm.budget = 300;
    train.algorithm.batch = 4;
    train.algorithm.params.Set("b1", std::uint64_t{4});
    train.algorithm.params.Set("rho", 1.2);
    train.algorithm.params.Set("sync_period", std::uint64_t{4});
    train.algorithm.lr = 0.1;
    train.algorithm.momentum = 0.5;
    train.seed = seed;
    adjust(train);
    CRPSGD_ASSIGN_OR_RETURN(RunSummary summary, Train(train, *f, comm));
    if (!save.empty() && comm.rank() == 0) CRPSGD_RETURN_IF_ERROR(f->Save(save, summary.x));
    const std::size_t state = f->model_state() ? f->model_state()->AveragedValues().size() : 0;
    if (comm.rank() == 0) out = {std::move(summary), comm.stats(), state};
    return Status::OK();
  });
  EXPECT_TRUE(status.ok()) << status.ToString();
  return out;
}

// A float32 network's round is one message of 4 bytes per parameter (as
// PyTorch's DDP sends); local SGD's carries the batch-norm statistics too.
TEST(TorchTrainTest, NetworksLearnDeterministicallyWithOneAllreducePerRound) {
  const Dataset data = BandImages(240);
  for (TorchModel model : {TorchModel::kSoftmax, TorchModel::kResNet20}) {
    for (AlgorithmKind kind : {AlgorithmKind::kPsgd, AlgorithmKind::kCrPsgd, AlgorithmKind::kLocalSgd}) {
      const Trained a = TrainOn(data, model, kind, 3, 1);
      const Trained b = TrainOn(data, model, kind, 3, 1);
      EXPECT_EQ(a.summary.x, b.summary.x) << TorchModelName(model) << " " << AlgorithmName(kind);
      EXPECT_EQ(a.stats.training.calls, a.summary.rounds);
      const std::size_t sent = a.summary.x.size() + (kind == AlgorithmKind::kLocalSgd ? a.state_values : 0);
      EXPECT_EQ(a.summary.bytes, a.summary.rounds * sent * sizeof(float)) << TorchModelName(model);
      if (model == TorchModel::kResNet20) {
        EXPECT_GT(a.state_values, 0u) << "batch norm has statistics";
      }
      EXPECT_GT(*a.summary.train_accuracy, 0.9) << TorchModelName(model) << " " << AlgorithmName(kind);
    }
  }
}

// Regression: `crpsgd compare` runs several algorithms on one objective; each
// must start from the seeded initialisation and fresh batch-norm statistics,
// not from the previous run's model.
TEST(TorchTrainTest, ASecondRunOnTheSameObjectiveStartsAfresh) {
  const Dataset data = BandImages(60);
  std::vector<double> first, second;
  const Status status = RunInProcess(2, [&](Communicator& comm) -> Status {
    TorchObjectiveOptions options = Options(TorchModel::kResNet20);
    options.rank = comm.rank();
    CRPSGD_ASSIGN_OR_RETURN(auto f, MakeTorchObjective(SelectRows(data, ShardIndices(60, comm.rank(), 2, 1)), options));
    TrainOptions train;
    train.algorithm.kind = AlgorithmKind::kPsgd;
    train.algorithm.budget = 40;
    train.algorithm.batch = 4;
    train.algorithm.lr = 0.1;
    CRPSGD_ASSIGN_OR_RETURN(RunSummary a, Train(train, *f, comm));
    CRPSGD_ASSIGN_OR_RETURN(RunSummary b, Train(train, *f, comm));
    if (comm.rank() == 0) first = a.x, second = b.x;
    return Status::OK();
  });
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_EQ(first, second);
}

// --eval-batch-norm recomputed changes what evaluations see, not training:
// the same iterate bit for bit, another loss.
TEST(TorchTrainTest, RecalibratingBatchNormBeforeEvaluationsLeavesTrainingAlone) {
  const Dataset data = BandImages(120);
  std::vector<RunSummary> runs;
  for (bool recalibrate : {false, true}) {
    runs.push_back(
        TrainOn(data, TorchModel::kResNet20, AlgorithmKind::kCrPsgdCatalyst, 2, 1, {}, [&](TrainOptions& train) {
          train.algorithm.budget = 120;
          train.algorithm.params.Set("rho", 1.5);
          train.algorithm.params.Set("theta", 0.1);
          train.algorithm.params.Set("outer_iterations", std::uint64_t{2});
          train.algorithm.params.Set("inner_budget", std::uint64_t{60});
          train.eval_every = 3;
          train.eval_samples_per_worker = 20;
          train.recalibrate_state = recalibrate;
        }).summary);
  }
  EXPECT_EQ(runs[0].x, runs[1].x);
  EXPECT_EQ(runs[0].rounds, runs[1].rounds);
  EXPECT_NE(runs[0].final_loss, runs[1].final_loss);
  EXPECT_TRUE(std::isfinite(runs[1].final_loss));
}

TEST(TorchTrainTest, SavedModelHoldsTheParametersAndAveragedBatchNormStatistics) {
  testing::TempDir dir;
  const Dataset data = BandImages(120);
  const Trained t = TrainOn(data, TorchModel::kResNet20, AlgorithmKind::kCrPsgd, 2, 4, dir / "model.pt");
  const auto dict = LoadModelFile(dir / "model.pt");
  const torch::Tensor first_conv = dict.at("conv.weight").toTensor();
  ASSERT_EQ(first_conv.sizes(), (std::vector<std::int64_t>{16, 1, 3, 3}));
  EXPECT_FLOAT_EQ(first_conv.flatten()[0].item<float>(), static_cast<float>(t.summary.x[0]));
  const torch::Tensor running_mean = dict.at("bn.running_mean").toTensor();
  EXPECT_GT(running_mean.abs().sum().item<float>(), 0.0f);  // it was trained and kept
  // Every floating-point entry of the file is finite.
  for (const auto& entry : dict) EXPECT_TRUE(torch::isfinite(entry.value().toTensor()).all().item<bool>());
}

}  // namespace
}  // namespace crpsgd
