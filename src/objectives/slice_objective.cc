#include "crpsgd/slice_objective.h"

#include <utility>

namespace crpsgd {

// The whole objective's ModelState, as the slice's: every call goes to it,
// and a recalibration's samples (the slice's) are mapped to the whole set's.
class SliceObjective::SharedState final : public ModelState {
 public:
  SharedState(ModelState& whole, const SliceObjective& slice) : whole_(whole), slice_(slice) {}
  void RestoreInitial() override { whole_.RestoreInitial(); }
  Status Synchronize(Communicator& comm) override { return whole_.Synchronize(comm); }
  std::vector<double> AveragedValues() const override { return whole_.AveragedValues(); }
  void SetAveragedValues(std::span<const double> values) override { whole_.SetAveragedValues(values); }
  Status Recalibrate(std::span<const double> x, std::span<const std::size_t> samples, Communicator& comm) override {
    return whole_.Recalibrate(x, slice_.WholeIndices(samples), comm);
  }
  std::string SaveState() const override { return whole_.SaveState(); }
  Status LoadState(std::string_view saved) override { return whole_.LoadState(saved); }

 private:
  ModelState& whole_;
  const SliceObjective& slice_;
};

SliceObjective::SliceObjective(const Objective& whole, std::vector<std::size_t> indices)
    : whole_(whole), indices_(std::move(indices)) {
  if (ModelState* state = whole_.model_state()) state_ = std::make_unique<SharedState>(*state, *this);
}

SliceObjective::~SliceObjective() = default;

ModelState* SliceObjective::model_state() const { return state_.get(); }

std::vector<std::size_t> SliceObjective::WholeIndices(std::span<const std::size_t> samples) const {
  std::vector<std::size_t> whole;
  whole.reserve(samples.size());
  for (std::size_t i : samples) whole.push_back(indices_.at(i));
  return whole;
}

double SliceObjective::AccumulateGradient(std::span<const double> x, std::span<const std::size_t> samples,
                                          std::span<double> grad_sum) const {
  return whole_.AccumulateGradient(x, WholeIndices(samples), grad_sum);
}

void SliceObjective::AddGradient(std::span<const double> x, std::span<const std::size_t> samples,
                                 std::span<double> grad_sum) const {
  whole_.AddGradient(x, WholeIndices(samples), grad_sum);
}

double SliceObjective::Loss(std::span<const double> x, std::span<const std::size_t> samples) const {
  return whole_.Loss(x, WholeIndices(samples));
}

std::optional<std::size_t> SliceObjective::CountCorrect(std::span<const double> x,
                                                        std::span<const std::size_t> samples) const {
  return whole_.CountCorrect(x, WholeIndices(samples));
}

}  // namespace crpsgd
