// One ResNet-20 training step through crpsgd (flat parameter vector in and
// out, the Objective interface, the SGD update on the flat vector) against a
// bare LibTorch loop (forward, backward, torch::optim::SGD) on the same batch,
// model and thread count. The ratio of the two is crpsgd's overhead.
//
//   ./build/bench/torch_step_bench --benchmark_min_time=3
//
// With CRPSGD_SCRIPTED_RESNET20=FILE.pt (bench/peers/resnet20_step.py
// --script FILE.pt: the same architecture as a TorchScript module) it also
// times the crpsgd step of that module (--model), beside the built-in one.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <torch/torch.h>

#include "crpsgd/allocator.h"
#include "crpsgd/dataset.h"
#include "crpsgd/torch.h"
#include "torch/models.h"

namespace {

constexpr int kBatch = 64;
// Untimed steps first: LibTorch's first steps allocate and pick kernels (the
// PyTorch peer warms up the same way).
constexpr int kWarmUpSteps = 3;

crpsgd::Dataset Images(std::size_t n) {
  crpsgd::Dataset data;
  data.image_shape = {1, 28, 28};
  data.dense = crpsgd::DenseMatrix::Random(static_cast<Eigen::Index>(n), 784);
  for (std::size_t i = 0; i < n; ++i) data.labels.push_back(static_cast<double>(i % 10));
  return data;
}

// Images per second, and their inverse: the time of one sample.
void CountSamples(benchmark::State& state, int batch_size) {
  state.SetItemsProcessed(state.iterations() * batch_size);
  state.counters["time_per_sample"] =
      benchmark::Counter(static_cast<double>(state.iterations() * batch_size),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert, benchmark::Counter::kIs1000);
}

// Training steps of `batch` samples through crpsgd's Objective interface on
// the network `options` describes, on `threads` threads.
void TimeCrpsgdSteps(benchmark::State& state, crpsgd::TorchObjectiveOptions options, int threads, int batch_size) {
  torch::set_num_threads(threads);
  options.eval_chunk = static_cast<std::size_t>(batch_size);
  auto made = crpsgd::MakeTorchObjective(Images(static_cast<std::size_t>(batch_size)), options);
  if (!made.ok()) {
    state.SkipWithError(made.status().message().c_str());
    return;
  }
  auto f = std::move(made).value();
  std::vector<double> x = f->InitialPoint(), grad(x.size());
  std::vector<std::size_t> batch(static_cast<std::size_t>(batch_size));
  for (std::size_t i = 0; i < batch.size(); ++i) batch[i] = i;
  const auto step = [&] {
    std::fill(grad.begin(), grad.end(), 0.0);
    f->AddGradient(x, batch, grad);
    for (std::size_t j = 0; j < x.size(); ++j) x[j] -= 0.01 / batch_size * grad[j];
    benchmark::DoNotOptimize(x.data());
  };
  for (int i = 0; i < kWarmUpSteps; ++i) step();
  for (auto _ : state) step();
  CountSamples(state, batch_size);
}

void BM_CrpsgdResNet20Step(benchmark::State& state) {
  crpsgd::TorchObjectiveOptions options;
  options.model = crpsgd::TorchModel::kResNet20;
  TimeCrpsgdSteps(state, options, static_cast<int>(state.range(0)), kBatch);
}

// The same step through crpsgd with the TorchScript module of --model.
void BM_CrpsgdScriptedResNet20Step(benchmark::State& state, std::string module) {
  crpsgd::TorchObjectiveOptions options;
  options.script_module = module;
  TimeCrpsgdSteps(state, options, static_cast<int>(state.range(0)), kBatch);
}

// Time per sample against the batch (one thread): a growing batch (cr-psgd)
// should cost no more per sample than a small one (issue 42).
void BM_CrpsgdScriptedModelBatch(benchmark::State& state, std::string module) {
  crpsgd::TorchObjectiveOptions options;
  options.script_module = module;
  TimeCrpsgdSteps(state, options, 1, static_cast<int>(state.range(0)));
}

void BM_CrpsgdResNet20Batch(benchmark::State& state) {
  crpsgd::TorchObjectiveOptions options;
  options.model = crpsgd::TorchModel::kResNet20;
  TimeCrpsgdSteps(state, options, 1, static_cast<int>(state.range(0)));
}

// A bare LibTorch loop of `batch_size` samples on `threads` threads.
void TimeBareLibTorchSteps(benchmark::State& state, int threads, int batch_size) {
  torch::set_num_threads(threads);
  crpsgd::TorchObjectiveOptions options;
  options.model = crpsgd::TorchModel::kResNet20;
  torch::manual_seed(1);
  torch::nn::AnyModule model = crpsgd::internal::MakeModel(options, {1, 28, 28});
  model.ptr()->train();
  torch::optim::SGD sgd(model.ptr()->parameters(), torch::optim::SGDOptions(0.01));
  const torch::Tensor inputs = torch::rand({batch_size, 1, 28, 28});
  const torch::Tensor labels = torch::arange(batch_size, torch::kInt64).remainder(10);
  const auto step = [&] {
    sgd.zero_grad();
    const torch::Tensor loss = torch::nn::functional::cross_entropy(model.forward(inputs), labels);
    loss.backward();
    sgd.step();
    benchmark::DoNotOptimize(loss.data_ptr());
  };
  for (int i = 0; i < kWarmUpSteps; ++i) step();
  for (auto _ : state) step();
  CountSamples(state, batch_size);
}

void BM_BareLibTorchResNet20Step(benchmark::State& state) {
  TimeBareLibTorchSteps(state, static_cast<int>(state.range(0)), kBatch);
}
void BM_BareLibTorchResNet20Batch(benchmark::State& state) {
  TimeBareLibTorchSteps(state, 1, static_cast<int>(state.range(0)));
}

BENCHMARK(BM_CrpsgdResNet20Step)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_BareLibTorchResNet20Step)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_CrpsgdResNet20Batch)
    ->Arg(16)
    ->Arg(32)
    ->Arg(64)
    ->Arg(128)
    ->Arg(256)
    ->Arg(512)
    ->Arg(1024)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_BareLibTorchResNet20Batch)
    ->Arg(32)
    ->Arg(128)
    ->Arg(512)
    ->Arg(1024)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  // As crpsgd train runs; CRPSGD_DEFAULT_ALLOCATOR=1 times glibc's defaults instead.
  if (std::getenv("CRPSGD_DEFAULT_ALLOCATOR") == nullptr) crpsgd::KeepFreedMemoryForReuse();
  if (const char* module = std::getenv("CRPSGD_SCRIPTED_RESNET20")) {
    benchmark::RegisterBenchmark("BM_CrpsgdScriptedResNet20Step", BM_CrpsgdScriptedResNet20Step, std::string(module))
        ->Arg(1)
        ->Arg(2)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
  }
  // CRPSGD_SCRIPTED_MODEL=FILE.pt: a TorchScript module of 28x28 one-channel
  // images (examples/your-own-model's CNN), its time per sample against the batch.
  if (const char* module = std::getenv("CRPSGD_SCRIPTED_MODEL")) {
    auto* bench =
        benchmark::RegisterBenchmark("BM_CrpsgdScriptedModelBatch", BM_CrpsgdScriptedModelBatch, std::string(module));
    for (int batch : {16, 32, 64, 128, 256, 512, 1024}) bench->Arg(batch);
    bench->Unit(benchmark::kMillisecond)->UseRealTime();
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
