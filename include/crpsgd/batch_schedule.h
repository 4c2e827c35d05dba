// Batch schedules and the budget plan (how a per-worker SFO budget T is spent).
//
// A schedule gives B_t, the per-worker batch of round t = 1, 2, ...
// PlanBudget runs Algorithm 1's loop condition without computing anything:
// rounds continue while B_1 + ... + B_t ≤ T; what is left is reported, never
// silently spent. The algorithms, tests and tools all use this one function.
#pragma once

#include <cstdint>
#include <limits>

namespace crpsgd {

class BatchSchedule {
 public:
  virtual ~BatchSchedule() = default;
  virtual std::uint64_t BatchAt(std::uint64_t round) const = 0;  // round >= 1
};

// PSGD: B_t = B.
class ConstantBatch final : public BatchSchedule {
 public:
  explicit ConstantBatch(std::uint64_t batch) : batch_(batch) {}
  std::uint64_t BatchAt(std::uint64_t) const override { return batch_; }

 private:
  std::uint64_t batch_;
};

// CR-PSGD (Algorithm 1): B_1 = B₁ and B_{t+1} = ⌊ρ^t B₁⌋.
class GeometricBatch final : public BatchSchedule {
 public:
  GeometricBatch(std::uint64_t first_batch, double growth) : first_batch_(first_batch), growth_(growth) {}
  std::uint64_t BatchAt(std::uint64_t round) const override;

 private:
  std::uint64_t first_batch_;
  double growth_;
};

struct BudgetPlan {
  std::uint64_t rounds = 0;      // communication rounds
  std::uint64_t spent = 0;       // SFO per worker actually used
  std::uint64_t left = 0;        // budget − spent: unspent, reported
  std::uint64_t last_batch = 0;  // B of the final round (0 if no round fits)
};

// `max_rounds`: stop counting there (a growth near 1 would take ~T/B₁ rounds
// to plan; --rounds only needs to know whether the plan exceeds R).
BudgetPlan PlanBudget(const BatchSchedule& schedule, std::uint64_t budget,
                      std::uint64_t max_rounds = std::numeric_limits<std::uint64_t>::max());

}  // namespace crpsgd
