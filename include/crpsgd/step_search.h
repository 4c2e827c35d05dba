// A step for objectives without a smoothness estimate (networks): the
// learning-rate range test (L. N. Smith, "Cyclical Learning Rates for
// Training Neural Networks", 2017; fastai's lr_find).
//
// From the starting point, each worker takes `steps` SGD steps of `batch`
// samples of its own shard (as auto's local steps do, with the run's
// momentum), the step growing geometrically from `smallest` to `largest`;
// a test whose loss does not fall is repeated at 4x the batch (least_fall).
// The workers' batch losses are averaged after every step (one scalar,
// evaluation traffic) and smoothed (an exponential average, β = 0.98, with
// its start-up bias removed). The test ends when the smoothed loss passes
// 4× its lowest or stops being finite; the step is the one at the lowest
// smoothed loss divided by `divisor` (10: fastai's "minimum / 10", the
// largest step still well inside the stable range). Deterministic:
// samples are taken in order from each shard, and every worker agrees.
//
// Compared, in a trial build not kept, with lighter smoothing and a smaller
// divisor (issue 40, docs/algorithms.md): β = 0.9 with minimum / 3 did
// better on a digits CNN (whose test β = 0.98 refuses: it averages over
// half the test's decades) and on the scripted CNN, but at 4 samples a step
// a 10% fall of the lighter average came from noise alone, and ResNet-20
// took a step 17x too small (85.4% against 90.5%).
//
// The test's gradients are SFO calls outside the run's budget;
// StepSearchResult::samples says how many, and the tool reports them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "crpsgd/communicator.h"
#include "crpsgd/objective.h"
#include "crpsgd/status.h"

namespace crpsgd {

struct StepSearchOptions {
  std::uint64_t batch = 4;  // samples per step on each worker (the run's local batch)
  double momentum = 0.0;    // the run's heavy-ball momentum
  double smallest = 1e-5, largest = 10.0;
  int steps = 100;
  double divisor = 10.0;
  // A test whose smoothed loss falls by less than this share has seen only
  // noise (a CNN at 4 samples a step: 2%): it is repeated at 4x the batch, up
  // to largest_batch, and then refused.
  double least_fall = 0.1;
  std::uint64_t largest_batch = 256;
};

struct StepSearchResult {
  double lr = 0.0;
  double lowest_loss_lr = 0.0;      // the step at the lowest smoothed loss
  std::uint64_t batch = 0;          // the batch of the test that was kept
  std::uint64_t samples = 0;        // per worker: every test's SFO calls
  std::vector<double> lrs, losses;  // the kept test's curve: each step and its smoothed loss
  std::string why;                  // one line for the log
};

// Collective. Fails (InvalidArgument, naming --lr) when no test's loss fell
// by least_fall, and (Diverged) when even the smallest step makes the loss
// non-finite.
// A network's state outside x (batch-norm statistics, random streams) moves
// with the test's steps; Train restores the statistics before the run.
Result<StepSearchResult> SearchStep(const Objective& f, Communicator& comm, const StepSearchOptions& options);

}  // namespace crpsgd
