#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "algorithms/algorithm_internal.h"
#include "crpsgd/algorithm.h"

namespace crpsgd::internal {

// CR-PSGD-Catalyst (Algorithm 2 of Yu & Jin 2019), for general non-convex f:
//
//   y⁽⁰⁾ = x₁
//   for k = 1..K (K = ⌊√(NT)⌋):
//     y⁽ᵏ⁾ = CR-PSGD(h_θ(·; y⁽ᵏ⁻¹⁾), N, ⌊√(T/N)⌋, start y⁽ᵏ⁻¹⁾, B₁, ρ, γ)
//   where h_θ(x; y) = f(x) + θ/2 ‖x − y‖²
//
// The proximal term's gradient θ(x − y) costs no SFO and no communication
// (every worker knows y). Rounds and SFO are numbered across the whole run;
// each record carries its outer iteration k.
class CrPsgdCatalyst final : public Algorithm {
 public:
  CrPsgdCatalyst(const AlgorithmOptions& options) : options_(options) {}
  Result<AlgorithmResult> Run(Communicator& comm, const Objective& f, Sampler& sampler, std::span<double> x,
                              RoundObserver& observer, RunProgress& progress) override;
  std::string SaveState() const override;
  Status LoadState(std::string_view record) override;
  // On other workers: the inner run's --compress residuals averaged.
  Status LoadStates(std::span<const std::string> records) override {
    return LoadAveragingOwn(*this, records, {&inner_.residual});
  }

 private:
  AlgorithmOptions options_;
  std::uint64_t outer_iteration_ = 0;  // k in progress (1-based; 0 = not started)
  std::vector<double> center_;         // its center y⁽ᵏ⁻¹⁾
  SgdState inner_;                     // where its inner CR-PSGD stands
};

}  // namespace crpsgd::internal
