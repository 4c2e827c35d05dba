// Links the installed crpsgd::torch: a softmax objective on a few generated
// 4x4 images, one gradient. Exits non-zero if anything fails.
#include <cstdio>
#include <numeric>
#include <vector>

#include "crpsgd/crpsgd.h"
#include "crpsgd/torch.h"

int main() {
  crpsgd::Dataset data;
  data.dense = Eigen::MatrixXd::Random(8, 16);
  data.labels = {0, 1, 2, 0, 1, 2, 0, 1};
  data.image_shape = {1, 4, 4};
  crpsgd::TorchObjectiveOptions options;
  options.num_classes = 3;
  auto f = crpsgd::MakeTorchObjective(data, options);
  if (!f.ok()) {
    std::fprintf(stderr, "%s\n", f.status().message().c_str());
    return 1;
  }
  std::vector<std::size_t> samples(8);
  std::iota(samples.begin(), samples.end(), std::size_t{0});
  const std::vector<double> x = (*f)->InitialPoint();
  std::vector<double> grad(x.size(), 0.0);
  const double loss = (*f)->AccumulateGradient(x, samples, grad);
  std::printf("torch consumer: %zu parameters, loss %.4f\n", x.size(), loss / 8);
  return loss > 0 ? 0 : 1;
}
