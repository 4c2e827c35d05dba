// --rounds R, --algo auto, the outer step and targets: the plans spend the
// budget in the rounds asked for, auto's noise estimate is unbiased where the
// noise is known, its two extremes are cr-psgd and local SGD, and a target
// stops a run at the round that reaches it.
#include <cmath>
#include <numeric>

#include <gtest/gtest.h>

#include "algorithms/outer_step.h"
#include "crpsgd/crpsgd.h"
#include "testing/last_round.h"
#include "testing/problems.h"

namespace crpsgd {
namespace {

AlgorithmOptions Options(AlgorithmKind kind, std::uint64_t budget, std::uint64_t rounds) {
  AlgorithmOptions o;
  o.kind = kind;
  o.budget = budget;
  o.rounds = rounds;
  o.lr = 0.1;
  return o;
}

TEST(AutoPlanTest, SpendsExactlyTheBudgetInExactlyRRounds) {
  for (std::uint64_t budget : {100ull, 6000ull, 1000003ull}) {
    for (std::uint64_t rounds : {1ull, 2ull, 20ull, 100ull}) {
      for (double growth : {1.0, 4.0, 16.0}) {
        AlgorithmOptions o = Options(AlgorithmKind::kAuto, budget, rounds);
        o.params.Set("round_growth", static_cast<double>(growth));
        const std::vector<std::uint64_t> samples = AutoRoundSamples(o);
        ASSERT_EQ(samples.size(), rounds);
        EXPECT_EQ(std::accumulate(samples.begin(), samples.end(), std::uint64_t{0}), budget);
        for (std::uint64_t s : samples) EXPECT_GE(s, 1u) << "T=" << budget << " R=" << rounds << " G=" << growth;
        const AlgorithmPlan plan = PlanAlgorithm(o, 4);
        EXPECT_EQ(plan.rounds, rounds);
        EXPECT_EQ(plan.sfo_per_worker, budget);
        EXPECT_EQ(plan.budget_left, 0u);
        if (budget > 1000 * rounds && rounds > 1) {  // rounding aside, the last round is G times the first
          EXPECT_NEAR(static_cast<double>(samples.back()) / static_cast<double>(samples.front()), growth,
                      0.01 * growth);
        }
      }
    }
  }
  // More rounds than samples: refused.
  EXPECT_EQ(Options(AlgorithmKind::kAuto, 100, 101).Validate().code(), StatusCode::kInvalidArgument);
}

TEST(FitToRoundsTest, EachMethodTakesAtMostRRoundsAndCrPsgdTheSmallestRho) {
  for (std::uint64_t rounds : {3ull, 7ull, 20ull, 50ull}) {
    for (AlgorithmKind kind : {AlgorithmKind::kPsgd, AlgorithmKind::kLocalSgd, AlgorithmKind::kCrPsgd}) {
      AlgorithmOptions o = Options(kind, 6000, rounds);
      o.batch = 4;
      o.params.Set("b1", std::uint64_t{4});
      const Result<AlgorithmOptions> fitted = FitToRounds(o, 10);
      ASSERT_TRUE(fitted.ok()) << fitted.status().ToString();
      const AlgorithmPlan plan = PlanAlgorithm(*fitted, 10);
      EXPECT_LE(plan.rounds, rounds) << AlgorithmName(kind);
      EXPECT_GE(plan.rounds, rounds - 1) << AlgorithmName(kind) << ": far fewer rounds than allowed";
      // Idempotent: fitting the fitted options changes nothing.
      const Result<AlgorithmOptions> again = FitToRounds(*fitted, 10);
      ASSERT_TRUE(again.ok());
      EXPECT_EQ(again->Describe(), fitted->Describe());
      if (kind == AlgorithmKind::kPsgd) {
        EXPECT_EQ(fitted->batch, (6000 + rounds - 1) / rounds);
      }
      if (kind == AlgorithmKind::kLocalSgd) {
        EXPECT_EQ(fitted->params.Number("sync_period"), static_cast<double>((1500 + rounds - 1) / rounds));
      }
      if (kind == AlgorithmKind::kCrPsgd) {  // a slightly smaller ρ would take more rounds than R
        AlgorithmOptions slower = *fitted;
        slower.params.Set("rho", static_cast<double>(1.0 + (*fitted->params.Number("rho") - 1.0) * 0.999));
        EXPECT_GT(PlanAlgorithm(slower, 10).rounds, rounds)
            << "rho " << *fitted->params.Number("rho") << " is not the smallest";
      }
    }
  }
  std::string note;
  ASSERT_TRUE(FitToRounds(Options(AlgorithmKind::kPsgd, 6000, 20), 10, &note).ok());
  EXPECT_EQ(note, "--rounds 20: psgd B=300 takes 20 rounds and 6000 of 6000 samples per worker");
  EXPECT_EQ(FitToRounds(Options(AlgorithmKind::kCrPsgdCatalyst, 6000, 20)).status().code(),
            StatusCode::kInvalidArgument);
  AlgorithmOptions adaptive = Options(AlgorithmKind::kCrPsgd, 6000, 20);
  adaptive.params.Set("rho", std::string("auto"));
  EXPECT_EQ(FitToRounds(adaptive).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(FitToRounds(Options(AlgorithmKind::kPsgd, 10, 11)).status().code(), StatusCode::kInvalidArgument);
}

// Least squares at x ≈ 0 on data every worker holds whole (as the norm test's
// estimator test): the per-sample gradients are g_i = −y_i a_i, so tr Σ and
// ‖∇f‖² are known. One round of auto, S samples as S/b local steps of b at a
// step so small that the pseudo-gradient is the mean of the S gradients
// drawn; over many seeds the reported V (= v̂ in the first round) and G² must
// average to tr Σ and ‖∇f‖².
struct EstimatorCase {
  int workers;
  std::uint64_t samples, local_batch;
};

void PrintTo(const EstimatorCase& c, std::ostream* os) {
  *os << "N=" << c.workers << " S=" << c.samples << " b=" << c.local_batch;
}

class AutoEstimatorTest : public ::testing::TestWithParam<EstimatorCase> {};

TEST_P(AutoEstimatorTest, NoiseAndGradientEstimatesFromTheModelsSpreadAreUnbiased) {
  const int workers = GetParam().workers;
  const std::uint64_t samples = GetParam().samples, local_batch = GetParam().local_batch;
  const Dataset data = testing::SmallDense(60, 5, SyntheticTask::kRegression, 3);
  const testing::KnownNoise known = testing::LeastSquaresNoiseAtZero(data);

  constexpr int kDraws = 500;
  std::vector<double> noise, g2;
  for (int seed = 1; seed <= kDraws; ++seed) {
    TrainOptions options;
    options.algorithm = Options(AlgorithmKind::kAuto, samples, 1);  // one round of S samples
    options.algorithm.batch = local_batch;
    options.algorithm.lr = 1e-9;
    options.end_below_start = false;
    options.seed = static_cast<std::uint64_t>(seed);
    const Result<std::vector<RoundRecord>> last = testing::LastRounds(data, workers, options);
    ASSERT_TRUE(last.ok()) << last.status().ToString();
    for (const RoundRecord& record : *last) {
      ASSERT_EQ(record.local_steps, samples / local_batch);
      ASSERT_TRUE(record.fields.Number("noise_trace") && record.fields.Number("grad_norm2"));
      ASSERT_EQ(*record.fields.Number("noise_trace"),
                *last->front().fields.Number("noise_trace"));  // every worker agrees
    }
    noise.push_back(*last->front().fields.Number("noise_trace"));
    g2.push_back(*last->front().fields.Number("grad_norm2"));
  }
  auto check = [](const std::vector<double>& draws, double truth, const char* what) {
    const testing::SampleMean m = testing::MeanOf(draws);
    EXPECT_LT(std::abs(m.mean - truth), 4.0 * m.standard_error) << what << ": mean " << m.mean << ", truth " << truth;
    // Near enough to tell a wrong estimator: dividing by N, not N − 1, is off by (N − 1)/N ≤ 3/4 here.
    EXPECT_LT(std::abs(m.mean - truth), 0.15 * truth) << what;
  };
  check(noise, known.trace, "V (tr Σ)");
  check(g2, known.grad_norm2, "G² (‖∇f‖²)");
}

INSTANTIATE_TEST_SUITE_P(Cases, AutoEstimatorTest,
                         ::testing::Values(EstimatorCase{2, 8, 1}, EstimatorCase{4, 20, 1}, EstimatorCase{4, 24, 4},
                                           EstimatorCase{3, 12, 12}));

struct Outcome {
  std::vector<RunSummary> summaries;
  Status status;
};

Outcome TrainOn(const Dataset& data, int workers, const TrainOptions& options) {
  Outcome out;
  out.summaries.resize(static_cast<std::size_t>(workers));
  out.status = RunInProcess(workers, [&](Communicator& comm) -> Status {
    const LinearModelObjective f(Problem::kLogistic,
                                 SelectRows(data, ShardIndices(data.num_samples(), comm.rank(), workers, options.seed)),
                                 1e-3);
    CRPSGD_ASSIGN_OR_RETURN(out.summaries[static_cast<std::size_t>(comm.rank())], Train(options, f, comm));
    return Status::OK();
  });
  return out;
}

// H = 1 (one step of all S_r) is a cr-psgd round: the same samples, and the
// mean of the models after one step equals the step of the mean gradient up
// to the order of the sums (x − γ·mean g_i against mean(x − γ g_i)), so
// within rounding, not bit for bit. b = b_min with S_r = I·b is local SGD
// with period I: the same steps and the same all-reduce, bit for bit.
TEST(AutoExtremesTest, OneStepIsCrPsgdAndLocalStepsIsLocalSgd) {
  const Dataset data = testing::SmallDense(240, 6, SyntheticTask::kBinary);
  TrainOptions cr;
  cr.algorithm = Options(AlgorithmKind::kCrPsgd, 0, 0);
  cr.algorithm.params.Set("b1", std::uint64_t{3});
  cr.algorithm.params.Set("rho", 1.3);
  cr.algorithm.budget = PlanBudget(GeometricBatch(3, 1.3), 500).spent;  // no remainder
  cr.algorithm.lr = 0.5;
  cr.seed = 5;
  TrainOptions one_step = cr;
  one_step.algorithm.kind = AlgorithmKind::kAuto;
  one_step.algorithm.params.Set("round_split", std::string(RoundSplitName(RoundSplit::kOneStep)));
  one_step.algorithm.params.Set("tail_average", 0.0);  // cr-psgd's last iterate
  const Outcome a = TrainOn(data, 4, cr), b = TrainOn(data, 4, one_step);
  ASSERT_TRUE(a.status.ok() && b.status.ok()) << a.status.ToString() << b.status.ToString();
  EXPECT_EQ(a.summaries[0].rounds, b.summaries[0].rounds);
  EXPECT_EQ(a.summaries[0].sfo_per_worker, b.summaries[0].sfo_per_worker);
  double scale = 0.0;
  for (double v : a.summaries[0].x) scale = std::max(scale, std::abs(v));
  for (std::size_t j = 0; j < a.summaries[0].x.size(); ++j) {
    EXPECT_NEAR(a.summaries[0].x[j], b.summaries[0].x[j], 1e-12 * scale) << "entry " << j;
  }

  TrainOptions local;
  local.algorithm = Options(AlgorithmKind::kLocalSgd, 600, 0);
  local.algorithm.batch = 2;
  local.algorithm.params.Set("sync_period", std::uint64_t{5});  // S = I·b = 10 a round, 60 rounds
  local.algorithm.momentum = 0.5;
  local.seed = 7;
  TrainOptions local_steps = local;
  local_steps.algorithm.kind = AlgorithmKind::kAuto;
  local_steps.algorithm.params.Set("round_split", std::string(RoundSplitName(RoundSplit::kLocalSteps)));
  local_steps.algorithm.params.Set("tail_average", 0.0);
  local_steps.algorithm.params.Set("b1", std::uint64_t{10});
  local_steps.algorithm.params.Set("rho", 1.0);
  const Outcome c = TrainOn(data, 3, local), e = TrainOn(data, 3, local_steps);
  ASSERT_TRUE(c.status.ok() && e.status.ok()) << c.status.ToString() << e.status.ToString();
  EXPECT_EQ(c.summaries[0].rounds, 60u);
  EXPECT_EQ(e.summaries[0].rounds, 60u);
  EXPECT_EQ(c.summaries[0].x, e.summaries[0].x);  // bit for bit
  EXPECT_EQ(c.summaries[0].final_loss, e.summaries[0].final_loss);
}

// --batch auto (kAutoBatch): b_min = 1 where every local step is the safe
// step for its own batch, 1/(L̂ + L̄/b); 4 where the step stays the same at
// every batch (a given step, K/L̂, or --lr auto without L̄, a network's 1/L̂).
TEST(AutoBatchTest, OneUnderTheSafeStepAndFourUnderAStepThatIgnoresTheBatch) {
  AlgorithmOptions o = Options(AlgorithmKind::kAuto, 1000, 10);
  o.batch = kAutoBatch;
  EXPECT_TRUE(o.Validate(4).ok()) << o.Validate(4).ToString();
  EXPECT_NE(o.Describe().find("b=auto"), std::string::npos) << o.Describe();
  const SmoothnessEstimate with_mean{2.0, "test", 40.0}, without_mean{2.0, "test", std::nullopt};
  std::string note;
  auto given = ResolveStep(o, {}, std::nullopt, 4, &note);
  ASSERT_TRUE(given.ok()) << given.status().ToString();
  EXPECT_EQ(given->batch, kAutoBatchForFixedStep);
  EXPECT_EQ(given->lr, 0.1);
  EXPECT_NE(note.find("wants --batch B"), std::string::npos) << note;  // the user learns the batch is a guess
  auto multiple = ResolveStep(o, {StepRule::Kind::kMultipleOfInverseL, 0.5}, with_mean, 4);
  ASSERT_TRUE(multiple.ok());
  EXPECT_EQ(multiple->batch, kAutoBatchForFixedStep);
  auto safe = ResolveStep(o, {StepRule::Kind::kSafe}, with_mean, 4, &note);
  ASSERT_TRUE(safe.ok());
  EXPECT_EQ(safe->batch, 1u);
  EXPECT_EQ(note, "");
  EXPECT_DOUBLE_EQ(safe->lr, 1.0 / (2.0 + 40.0 / 1.0));  // the safe step at b = 1
  auto network = ResolveStep(o, {StepRule::Kind::kSafe}, without_mean, 4);
  ASSERT_TRUE(network.ok());
  EXPECT_EQ(network->batch, kAutoBatchForFixedStep);
  EXPECT_DOUBLE_EQ(network->lr, 0.5);  // 1/L̂ at every batch
  // An explicit b_min is kept; 0 is auto's alone.
  o.batch = 2;
  EXPECT_EQ(ResolveStep(o, {StepRule::Kind::kSafe}, with_mean, 4)->batch, 2u);
  AlgorithmOptions psgd = Options(AlgorithmKind::kPsgd, 1000, 0);
  psgd.batch = kAutoBatch;
  EXPECT_NE(psgd.Validate(4).ToString().find("--batch must be >= 1"), std::string::npos);

  // A library caller that trains without ResolveStep gets the same b_min.
  const Dataset data = testing::SmallDense(240, 6, SyntheticTask::kBinary);
  TrainOptions automatic;
  automatic.algorithm = Options(AlgorithmKind::kAuto, 400, 8);
  automatic.algorithm.batch = kAutoBatch;
  automatic.seed = 3;
  TrainOptions four = automatic;
  four.algorithm.batch = kAutoBatchForFixedStep;
  const Outcome a = TrainOn(data, 2, automatic), b = TrainOn(data, 2, four);
  ASSERT_TRUE(a.status.ok() && b.status.ok()) << a.status.ToString() << b.status.ToString();
  EXPECT_EQ(a.summaries[0].x, b.summaries[0].x);  // bit for bit
}

TEST(OuterStepTest, PlainAveragingIsUntouchedAndMomentumFollowsNesterov) {
  AlgorithmOptions plain;
  std::vector<double> velocity;
  internal::OuterStep none(plain, velocity, 2);
  EXPECT_FALSE(none.active());
  std::vector<double> x = {0.1, 0.7};
  none.Apply(std::vector<double>{1.0, 1.0}, x);
  EXPECT_EQ(x, (std::vector<double>{0.1, 0.7}));  // the all-reduce's bits
  EXPECT_TRUE(velocity.empty());

  AlgorithmOptions nesterov;
  nesterov.params.Set("outer_lr", 0.5);
  nesterov.params.Set("outer_momentum", 0.9);
  internal::OuterStep outer(nesterov, velocity, 1);
  // Round 1: x_r = 1, x̄ = 0.8: Δ = 0.2, u = 0.2, x = 1 − 0.5·(0.2 + 0.9·0.2) = 0.81.
  x = {0.8};
  outer.Apply(std::vector<double>{1.0}, x);
  EXPECT_DOUBLE_EQ(velocity[0], 0.2);
  EXPECT_DOUBLE_EQ(x[0], 0.81);
  // Round 2: x_r = 0.81, x̄ = 0.71: Δ = 0.1, u = 0.9·0.2 + 0.1 = 0.28, x = 0.81 − 0.5·(0.1 + 0.252) = 0.634.
  x = {0.71};
  outer.Apply(std::vector<double>{0.81}, x);
  EXPECT_DOUBLE_EQ(velocity[0], 0.28);
  EXPECT_NEAR(x[0], 0.634, 1e-15);
  // A round whose displacement is all noise (share 0): no momentum, u = Δ, x = x_r − αΔ.
  x = {0.5};
  outer.Apply(std::vector<double>{0.6}, x, 0.0);
  EXPECT_NEAR(velocity[0], 0.1, 1e-15);
  EXPECT_NEAR(x[0], 0.55, 1e-15);
}

// Outer momentum changes local SGD's run, every worker ends with the same
// model, and the same seed repeats it bit for bit.
TEST(OuterStepTest, LocalSgdWithOuterMomentumIsDeterministicAndShared) {
  const Dataset data = testing::SmallDense(240, 6, SyntheticTask::kBinary);
  TrainOptions options;
  options.algorithm = Options(AlgorithmKind::kLocalSgd, 400, 0);
  options.algorithm.batch = 2;
  options.algorithm.params.Set("sync_period", std::uint64_t{5});
  const Outcome plain = TrainOn(data, 3, options);
  options.algorithm.params.Set("outer_lr", 0.7);
  options.algorithm.params.Set("outer_momentum", 0.6);
  const Outcome first = TrainOn(data, 3, options), second = TrainOn(data, 3, options);
  ASSERT_TRUE(plain.status.ok() && first.status.ok() && second.status.ok());
  EXPECT_NE(first.summaries[0].x, plain.summaries[0].x);
  EXPECT_EQ(first.summaries[0].x, second.summaries[0].x);
  for (const RunSummary& s : first.summaries) EXPECT_EQ(s.x, first.summaries[0].x);
  EXPECT_EQ(first.summaries[0].algorithm.Describe(), "b=2 I=5 outer_lr=0.7 outer_mu=0.6");
}

// A target stops the run at the first evaluated round that reaches it, with
// that round's model, and records where; the rounds before are the
// unstopped run's.
TEST(TargetTest, ALossTargetStopsAtTheFirstRoundThatReachesIt) {
  const Dataset data = testing::SmallDense(240, 6, SyntheticTask::kBinary);
  TrainOptions options;
  options.algorithm = Options(AlgorithmKind::kPsgd, 600, 0);
  options.algorithm.batch = 4;
  options.algorithm.lr = 0.5;
  options.eval_every = 1;
  std::vector<std::vector<RoundRecord>> records(2);
  auto run = [&](const TrainOptions& o, std::vector<RoundRecord>& into) {
    Outcome out;
    out.summaries.resize(2);
    out.status = RunInProcess(2, [&](Communicator& comm) -> Status {
      const LinearModelObjective f(Problem::kLogistic,
                                   SelectRows(data, ShardIndices(data.num_samples(), comm.rank(), 2, o.seed)), 1e-3);
      struct Keep final : RoundObserver {
        std::vector<RoundRecord>* records;
        Status OnRound(const RoundRecord& r, std::span<const double>) override {
          records->push_back(r);
          return Status::OK();
        }
      } keep;
      keep.records = &into;
      TrainOptions mine = o;
      if (comm.rank() == 0) mine.observers.push_back(&keep);
      CRPSGD_ASSIGN_OR_RETURN(out.summaries[static_cast<std::size_t>(comm.rank())], Train(mine, f, comm));
      return Status::OK();
    });
    return out;
  };
  const Outcome full = run(options, records[0]);
  ASSERT_TRUE(full.status.ok()) << full.status.ToString();
  EXPECT_FALSE(full.summaries[0].reached);
  // The loss of round 40 as the target: the first round at or below it.
  const double target = *records[0][40].loss;
  std::size_t first = 1;
  while (*records[0][first].loss > target) ++first;
  options.targets.loss = target;
  const Outcome stopped = run(options, records[1]);
  ASSERT_TRUE(stopped.status.ok()) << stopped.status.ToString();
  const RunSummary& s = stopped.summaries[0];
  ASSERT_TRUE(s.reached);
  EXPECT_EQ(s.reached->round, first);
  EXPECT_EQ(s.rounds, first);
  EXPECT_EQ(s.reached->sfo_per_worker, first * 4);
  EXPECT_EQ(s.sfo_per_worker, first * 4);
  EXPECT_EQ(s.budget_left, 600 - first * 4);
  EXPECT_EQ(s.final_loss, *records[0][first].loss);  // the model of that round
  ASSERT_EQ(records[1].size(), first + 1);
  for (std::size_t t = 0; t <= first; ++t) EXPECT_EQ(records[1][t].loss, records[0][t].loss) << "round " << t;
  EXPECT_EQ(stopped.summaries[1].x, s.x);  // every worker stopped with the same model

  // An accuracy target (no test data: on the training data) and bad targets.
  options.targets = {};
  options.targets.accuracy = 0.5;
  records[1].clear();
  const Outcome accurate = run(options, records[1]);
  ASSERT_TRUE(accurate.status.ok()) << accurate.status.ToString();
  ASSERT_TRUE(accurate.summaries[0].reached);
  EXPECT_GE(*accurate.summaries[0].train_accuracy, 0.5);
  options.targets.accuracy = 90.0;
  EXPECT_EQ(run(options, records[1]).status.code(), StatusCode::kInvalidArgument);
  options.targets = {};
  options.targets.gap = 0.1;  // no f*
  EXPECT_EQ(run(options, records[1]).status.code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace crpsgd
