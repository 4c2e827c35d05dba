// SliceObjective: a worker's shard as a view of an objective over the whole
// training set, sharing its model and its state. --sampling global trains a
// network on the whole-set objective (the sampler's indices name any sample)
// while the worker evaluates, recalibrates and checkpoints its shard: with a
// slice there is one batch-norm state, not two that drift apart.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "crpsgd/objective.h"

namespace crpsgd {

class SliceObjective final : public Objective {
 public:
  // Local sample i is `whole`'s sample indices[i]; `whole` must outlive the slice.
  SliceObjective(const Objective& whole, std::vector<std::size_t> indices);
  ~SliceObjective() override;

  std::size_t dim() const override { return whole_.dim(); }
  std::size_t num_samples() const override { return indices_.size(); }
  double AccumulateGradient(std::span<const double> x, std::span<const std::size_t> samples,
                            std::span<double> grad_sum) const override;
  void AddGradient(std::span<const double> x, std::span<const std::size_t> samples,
                   std::span<double> grad_sum) const override;
  double Loss(std::span<const double> x, std::span<const std::size_t> samples) const override;
  std::optional<std::size_t> CountCorrect(std::span<const double> x,
                                          std::span<const std::size_t> samples) const override;
  bool convex() const override { return whole_.convex(); }
  std::vector<double> InitialPoint() const override { return whole_.InitialPoint(); }
  ModelState* model_state() const override;  // the whole objective's, or null
  DataType wire_type() const override { return whole_.wire_type(); }
  std::vector<MatrixBlock> matrix_blocks() const override { return whole_.matrix_blocks(); }
  BatchFloor MinimumBatch() const override { return whole_.MinimumBatch(); }
  // L̂ and f* come from shard objectives of their own (the linear models):
  // a slice of a whole set on every worker would count each sample N times.

  const Objective& whole() const { return whole_; }
  // `samples` (this slice's) as the whole set's indices.
  std::vector<std::size_t> WholeIndices(std::span<const std::size_t> samples) const;

 private:
  class SharedState;  // the whole objective's state, recalibrated on this slice's samples
  const Objective& whole_;
  std::vector<std::size_t> indices_;
  std::unique_ptr<SharedState> state_;
};

}  // namespace crpsgd
