// Train() end to end on inproc workers: budget accounting, rounds, determinism,
// micro-batches, convergence and divergence.
#include <mutex>

#include <gtest/gtest.h>

#include "crpsgd/crpsgd.h"
#include "testing/problems.h"

namespace crpsgd {
namespace {

using testing::Recorder;

struct Outcome {
  std::vector<RunSummary> summaries;  // per worker
  std::vector<std::vector<RoundRecord>> records;
  std::vector<CommStats> stats;
  Status status;
};

Outcome RunOn(const Dataset& data, Problem problem, int workers, TrainOptions options, double lambda = 1e-3) {
  Outcome out;
  out.summaries.resize(workers);
  out.records.resize(workers);
  out.stats.resize(workers);
  out.status = RunInProcess(workers, [&](Communicator& comm) -> Status {
    const LinearModelObjective f(
        problem, SelectRows(data, ShardIndices(data.num_samples(), comm.rank(), workers, options.seed)), lambda);
    Recorder recorder;
    TrainOptions mine = options;
    mine.observers.push_back(&recorder);
    auto summary = Train(mine, f, comm);
    if (!summary.ok()) return summary.status();
    out.summaries[comm.rank()] = std::move(summary).value();
    out.records[comm.rank()] = std::move(recorder.records);
    out.stats[comm.rank()] = comm.stats();
    return Status::OK();
  });
  return out;
}

TrainOptions Options(AlgorithmKind kind, std::uint64_t budget, double lr) {
  TrainOptions o;
  o.algorithm.kind = kind;
  o.algorithm.budget = budget;
  o.algorithm.lr = lr;
  o.algorithm.batch = 2;
  o.algorithm.params.Set("b1", std::uint64_t{2});
  o.algorithm.params.Set("rho", 1.3);
  o.algorithm.params.Set("sync_period", std::uint64_t{5});
  o.seed = 11;
  return o;
}

struct Case {
  AlgorithmKind kind;
  int workers;
};

void PrintTo(const Case& c, std::ostream* os) { *os << AlgorithmName(c.kind) << " N=" << c.workers; }

class TrainAccountingTest : public ::testing::TestWithParam<Case> {};

TEST_P(TrainAccountingTest, RoundsSfoAndBytesFollowThePlan) {
  const Case c = GetParam();
  const Dataset data = testing::SmallDense(240, 6, SyntheticTask::kBinary);
  TrainOptions options = Options(c.kind, 301, 0.2);
  const AlgorithmPlan plan = PlanAlgorithm(options.algorithm, c.workers);
  const Outcome out = RunOn(data, Problem::kLogistic, c.workers, options);
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  for (int r = 0; r < c.workers; ++r) {
    const RunSummary& s = out.summaries[r];
    EXPECT_EQ(s.rounds, plan.rounds);
    EXPECT_EQ(s.sfo_per_worker, plan.sfo_per_worker);
    EXPECT_EQ(s.budget_left, plan.budget_left);
    EXPECT_EQ(s.sfo_per_worker + s.budget_left, 301u);
    EXPECT_EQ(s.sfo_total, s.sfo_per_worker * c.workers);
    // One training all-reduce of the d-vector per round; nothing else counts.
    EXPECT_EQ(out.stats[r].training.calls, plan.rounds);
    // (auto's noise statistic rides in the same all-reduce: one more entry.)
    const std::size_t entries = c.kind == AlgorithmKind::kAuto && c.workers > 1 ? 7 : 6;
    EXPECT_EQ(s.bytes, plan.rounds * entries * sizeof(double));
    // Every worker ends with the same model, bit for bit.
    EXPECT_EQ(s.x, out.summaries[0].x);
    EXPECT_EQ(s.final_loss, out.summaries[0].final_loss);
  }
  // Per round: the batch of the schedule, cumulative SFO, the loss at the last round.
  const auto& rec = out.records[0];
  ASSERT_EQ(rec.size(), plan.rounds + 1);  // round 0 is the starting point
  EXPECT_EQ(rec[0].round, 0u);
  ASSERT_TRUE(rec[0].loss.has_value());
  EXPECT_NEAR(*rec[0].loss, std::log(2.0), 1e-12);  // f(0) for logistic
  std::uint64_t sfo = 0;
  for (std::size_t t = 1; t < rec.size(); ++t) {
    EXPECT_EQ(rec[t].round, t);
    if (c.kind == AlgorithmKind::kCrPsgd) {  // (catalyst restarts its batches: tested below)
      EXPECT_EQ(rec[t].batch, GeometricBatch(2, 1.3).BatchAt(t));
    }
    sfo += rec[t].samples != 0 ? rec[t].samples : rec[t].batch * rec[t].local_steps;
    EXPECT_EQ(rec[t].sfo_per_worker, sfo);
    EXPECT_EQ(rec[t].sfo_total, sfo * c.workers);
    EXPECT_GE(rec[t].wall_s, rec[t - 1].wall_s);
  }
  EXPECT_TRUE(rec.back().last);
  ASSERT_TRUE(rec.back().loss.has_value());
  EXPECT_EQ(*rec.back().loss, out.summaries[0].final_loss);
  EXPECT_LT(out.summaries[0].final_loss, std::log(2.0));  // it learned something
}

INSTANTIATE_TEST_SUITE_P(Algorithms, TrainAccountingTest,
                         ::testing::Values(Case{AlgorithmKind::kPsgd, 1}, Case{AlgorithmKind::kPsgd, 3},
                                           Case{AlgorithmKind::kCrPsgd, 1}, Case{AlgorithmKind::kCrPsgd, 4},
                                           Case{AlgorithmKind::kLocalSgd, 1}, Case{AlgorithmKind::kLocalSgd, 3},
                                           Case{AlgorithmKind::kCrPsgdCatalyst, 1},
                                           Case{AlgorithmKind::kCrPsgdCatalyst, 4}, Case{AlgorithmKind::kAuto, 1},
                                           Case{AlgorithmKind::kAuto, 3}));

TEST(CatalystTest, BudgetSplitFollowsAlgorithm2) {
  // N = 4, T = 301: K = ⌊√1204⌋ = 34 outer iterations of ⌊√75.25⌋ = 8 SFO each.
  // Inner CR-PSGD with B₁ = 2, ρ = 1.3: batches 2, 2, 3 (7 SFO), the next (4) does not fit.
  AlgorithmOptions o = Options(AlgorithmKind::kCrPsgdCatalyst, 301, 0.1).algorithm;
  const AlgorithmPlan plan = PlanAlgorithm(o, 4);  // K inner runs of 3 rounds and 7 SFO
  EXPECT_EQ(plan.rounds, 34u * 3);
  EXPECT_EQ(plan.sfo_per_worker, 34u * 7);
  EXPECT_EQ(plan.budget_left, 301u - 34 * 7);
  o.params.Set("outer_iterations", std::uint64_t{5});
  o.params.Set("inner_budget", std::uint64_t{60});
  EXPECT_EQ(PlanAlgorithm(o, 4).sfo_per_worker, 5u * PlanBudget(GeometricBatch(2, 1.3), 60).spent);
}

TEST(CatalystTest, RecordsCarryTheOuterIterationAndNumberRoundsAcrossIt) {
  const Dataset data = testing::SmallDense(200, 5, SyntheticTask::kBinary);
  TrainOptions options = Options(AlgorithmKind::kCrPsgdCatalyst, 301, 0.2);
  const Outcome out = RunOn(data, Problem::kNonconvexLogistic, 4, options);
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  const auto& rec = out.records[0];
  ASSERT_EQ(rec.size(), 34u * 3 + 1);
  for (std::size_t t = 1; t < rec.size(); ++t) {
    EXPECT_EQ(rec[t].fields.Number("outer_iteration"), static_cast<double>((t - 1) / 3 + 1)) << t;
    EXPECT_EQ(rec[t].batch, GeometricBatch(2, 1.3).BatchAt((t - 1) % 3 + 1)) << t;  // each inner run restarts at B₁
    EXPECT_EQ(rec[t].last, t == rec.size() - 1);
  }
  const RunSummary& s = out.summaries[0];
  EXPECT_EQ(s.fields.Number("outer_iterations"), 34.0);
  EXPECT_EQ(s.fields.Number("inner_budget"), 8.0);
  ASSERT_TRUE(s.fields.Number("gradient_norm").has_value());
  EXPECT_GT(*s.fields.Number("gradient_norm"), 0.0);
}

// One outer iteration over the whole budget is CR-PSGD on h(x) = f(x) + θ/2‖x − x₁‖².
TEST(CatalystTest, OneOuterIterationIsCrPsgdOnTheProximalObjective) {
  const Dataset data = testing::SmallDense(120, 4, SyntheticTask::kBinary);
  const std::vector<double> start = {0.3, -0.2, 0.1, 0.5};
  std::vector<double> catalyst_x, direct_x;
  const Status status = RunInProcess(3, [&](Communicator& comm) -> Status {
    const LinearModelObjective f(Problem::kNonconvexLogistic, SelectRows(data, ShardIndices(120, comm.rank(), 3, 5)),
                                 0.1);
    TrainOptions catalyst = Options(AlgorithmKind::kCrPsgdCatalyst, 200, 0.3);
    catalyst.algorithm.params.Set("theta", 2.0);
    catalyst.algorithm.params.Set("outer_iterations", std::uint64_t{1});
    catalyst.algorithm.params.Set("inner_budget", std::uint64_t{200});
    catalyst.initial_x = start;
    CRPSGD_ASSIGN_OR_RETURN(RunSummary a, Train(catalyst, f, comm));
    const ProximalObjective h(f, 2.0, start);
    TrainOptions direct = catalyst;
    direct.algorithm.kind = AlgorithmKind::kCrPsgd;
    CRPSGD_ASSIGN_OR_RETURN(RunSummary b, Train(direct, h, comm));
    if (comm.rank() == 0) catalyst_x = a.x, direct_x = b.x;
    return Status::OK();
  });
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_EQ(catalyst_x, direct_x);  // same seed, same samples, same arithmetic
}

TEST(CatalystTest, InvalidSplitsNameTheFlag) {
  AlgorithmOptions o = Options(AlgorithmKind::kCrPsgdCatalyst, 100, 0.1).algorithm;
  o.params.Set("b1", std::uint64_t{6});  // ⌊√(100/4)⌋ = 5 < 6
  EXPECT_NE(o.Validate(4).message().find("inner budget 5"), std::string::npos) << o.Validate(4).message();
  EXPECT_TRUE(o.Validate(1).ok());  // ⌊√100⌋ = 10 >= 6
  o.params.Set("b1", std::uint64_t{1});
  o.params.Set("outer_iterations", std::uint64_t{30});
  o.params.Set("inner_budget", std::uint64_t{5});
  EXPECT_NE(o.Validate(4).message().find("exceeds --budget"), std::string::npos);
  o.params.Set("outer_iterations", std::uint64_t{0});
  o.params.Set("inner_budget", std::uint64_t{0});
  o.params.Set("theta", 0.0);
  EXPECT_NE(o.Validate(4).message().find("--theta must be > 0"), std::string::npos);
}

TEST(TrainTest, SameSeedIsBitIdenticalAndAnotherSeedIsNot) {
  const Dataset data = testing::ToSparse(testing::SmallDense(200, 5, SyntheticTask::kBinary));
  for (AlgorithmKind kind : {AlgorithmKind::kPsgd, AlgorithmKind::kCrPsgd, AlgorithmKind::kLocalSgd}) {
    TrainOptions options = Options(kind, 150, 0.3);
    options.algorithm.sampling = Sampling::kReshuffle;
    const Outcome a = RunOn(data, Problem::kLogistic, 3, options);
    const Outcome b = RunOn(data, Problem::kLogistic, 3, options);
    options.seed = 12;
    const Outcome c = RunOn(data, Problem::kLogistic, 3, options);
    ASSERT_TRUE(a.status.ok() && b.status.ok() && c.status.ok());
    EXPECT_EQ(a.summaries[0].x, b.summaries[0].x) << AlgorithmName(kind);
    EXPECT_EQ(a.summaries[0].final_loss, b.summaries[0].final_loss);
    EXPECT_NE(a.summaries[0].x, c.summaries[0].x) << AlgorithmName(kind);
  }
}

TEST(TrainTest, EvalEverySfoEvaluatesOnceAtEachMultipleOfTheSamples) {
  const Dataset data = testing::SmallDense(200, 5, SyntheticTask::kBinary);
  // Growing batches (cr-psgd) and rounds of many steps (local-sgd): evaluations
  // follow the samples spent, not the rounds.
  for (AlgorithmKind kind : {AlgorithmKind::kPsgd, AlgorithmKind::kCrPsgd, AlgorithmKind::kLocalSgd}) {
    TrainOptions options = Options(kind, 300, 0.3);
    options.eval_every_sfo = 50;
    const Outcome out = RunOn(data, Problem::kLogistic, 2, options);
    ASSERT_TRUE(out.status.ok()) << out.status.ToString();
    std::uint64_t previous_sfo = 0, evaluated = 0;
    for (const RoundRecord& r : out.records[0]) {
      const bool crossed = r.round > 0 && r.sfo_per_worker / 50 > previous_sfo / 50;
      EXPECT_EQ(r.loss.has_value(), r.round == 0 || r.last || crossed) << AlgorithmName(kind) << " round " << r.round;
      evaluated += r.loss.has_value();
      previous_sfo = r.sfo_per_worker;
    }
    // The start, the end and rounds between (a large round may cross two multiples at once).
    EXPECT_GE(evaluated, 4u) << AlgorithmName(kind);
  }
}

TEST(TrainTest, MicroBatchesGiveTheSameStepAndTheSameRounds) {
  const Dataset data = testing::SmallDense(400, 5, SyntheticTask::kBinary);
  TrainOptions whole = Options(AlgorithmKind::kCrPsgd, 1000, 0.5);
  TrainOptions pieces = whole;
  pieces.algorithm.max_micro_batch = 7;  // the late batches (~200) become ~30 pieces
  const Outcome a = RunOn(data, Problem::kLogistic, 2, whole);
  const Outcome b = RunOn(data, Problem::kLogistic, 2, pieces);
  ASSERT_TRUE(a.status.ok() && b.status.ok());
  EXPECT_EQ(a.summaries[0].rounds, b.summaries[0].rounds);
  EXPECT_EQ(a.stats[0].training.calls, b.stats[0].training.calls);
  for (std::size_t j = 0; j < 5; ++j) EXPECT_NEAR(a.summaries[0].x[j], b.summaries[0].x[j], 1e-12);
}

TEST(TrainTest, CrPsgdReachesPsgdAccuracyWithFarFewerRounds) {
  // Least squares is PL with a closed-form f*; 4 workers, T = 4000 each.
  const Dataset data = testing::SmallDense(4000, 10, SyntheticTask::kRegression);
  double f_star = 0;
  Status st = RunInProcess(1, [&](Communicator& comm) -> Status {
    const LinearModelObjective f(Problem::kLeastSquares, data, 1e-3);
    CRPSGD_ASSIGN_OR_RETURN(Optimum opt, ComputeOptimum(f, comm));
    f_star = opt.value;
    return Status::OK();
  });
  ASSERT_TRUE(st.ok());
  TrainOptions psgd = Options(AlgorithmKind::kPsgd, 4000, 0.05);
  psgd.algorithm.batch = 1;
  TrainOptions cr = Options(AlgorithmKind::kCrPsgd, 4000, 0.5);
  cr.algorithm.params.Set("b1", std::uint64_t{1});
  cr.algorithm.params.Set("rho", 1.1);
  const Outcome a = RunOn(data, Problem::kLeastSquares, 4, psgd);
  const Outcome b = RunOn(data, Problem::kLeastSquares, 4, cr);
  ASSERT_TRUE(a.status.ok() && b.status.ok());
  const double gap_psgd = a.summaries[0].final_loss - f_star, gap_cr = b.summaries[0].final_loss - f_star;
  const double gap_start = a.records[0][0].loss.value() - f_star;
  EXPECT_LT(gap_psgd, 0.1 * gap_start) << gap_psgd << " " << gap_cr;
  EXPECT_LT(gap_cr, 0.1 * gap_start) << gap_psgd << " " << gap_cr;
  EXPECT_LT(gap_cr, 3 * gap_psgd);
  EXPECT_EQ(a.summaries[0].rounds, 4000u);
  EXPECT_LT(b.summaries[0].rounds * 40, a.summaries[0].rounds);
}

TEST(TrainTest, TheStopRuleStopsWhereTheGapHasClosedAndNotBefore) {
  // Least squares, f* in closed form: the run stops at the first evaluated
  // round whose f − f* is within the share of the start's, with budget left.
  const Dataset data = testing::SmallDense(2000, 8, SyntheticTask::kRegression);
  double f_star = 0;
  ASSERT_TRUE(RunInProcess(1, [&](Communicator& comm) -> Status {
                const LinearModelObjective f(Problem::kLeastSquares, data, 1e-3);
                CRPSGD_ASSIGN_OR_RETURN(Optimum opt, ComputeOptimum(f, comm));
                f_star = opt.value;
                return Status::OK();
              }).ok());
  TrainOptions options = Options(AlgorithmKind::kPsgd, 20000, 0.05);
  options.f_star = f_star;
  options.eval_every = 1;
  options.targets.relative_gap = 1e-2;
  const Outcome out = RunOn(data, Problem::kLeastSquares, 2, options);
  ASSERT_TRUE(out.status.ok()) << out.status.message();
  const RunSummary& s = out.summaries[0];
  ASSERT_TRUE(s.reached.has_value());
  EXPECT_GT(s.budget_left, 0u);  // stopped early
  const std::vector<RoundRecord>& records = out.records[0];
  const double start_gap = records.front().loss.value() - f_star;
  EXPECT_LE(s.final_loss - f_star, 1e-2 * start_gap);
  ASSERT_GE(records.size(), 3u);  // the round before had not closed the gap
  EXPECT_GT(records[records.size() - 2].loss.value() - f_star, 1e-2 * start_gap);
  EXPECT_EQ(records.back().round, s.reached->round);

  TrainOptions without_f_star = options;  // the rule needs f*
  without_f_star.f_star.reset();
  EXPECT_EQ(RunOn(data, Problem::kLeastSquares, 2, without_f_star).status.code(), StatusCode::kInvalidArgument);
  TrainOptions bad = options;
  bad.targets.relative_gap = 1.5;
  EXPECT_EQ(RunOn(data, Problem::kLeastSquares, 2, bad).status.code(), StatusCode::kInvalidArgument);
}

TEST(TrainTest, DivergenceStopsEveryWorkerWithTheRound) {
  const Dataset data = testing::SmallDense(100, 4, SyntheticTask::kRegression);
  TrainOptions options = Options(AlgorithmKind::kPsgd, 1000, 1e3);
  const Outcome out = RunOn(data, Problem::kLeastSquares, 3, options);
  EXPECT_EQ(out.status.code(), StatusCode::kDiverged);
  EXPECT_NE(out.status.message().find("round "), std::string::npos) << out.status.message();
}

TEST(TrainTest, AnObserverErrorStopsTheRun) {
  class StopAt final : public RoundObserver {
   public:
    Status OnRound(const RoundRecord& r, std::span<const double>) override {
      return r.round == 3 ? Status::IOError("disk full") : Status::OK();
    }
  };
  const Dataset data = testing::SmallDense(100, 4, SyntheticTask::kBinary);
  const Status status = RunInProcess(2, [&](Communicator& comm) -> Status {
    const LinearModelObjective f(Problem::kLogistic, SelectRows(data, ShardIndices(100, comm.rank(), 2, 1)), 0.0);
    StopAt stop;
    TrainOptions o = Options(AlgorithmKind::kPsgd, 50, 0.1);
    o.observers.push_back(&stop);
    return Train(o, f, comm).status();
  });
  EXPECT_EQ(status.code(), StatusCode::kIOError);
}

TEST(TrainTest, RejectsEmptyShardsAndBadStartingPoints) {
  const Dataset data = testing::SmallDense(10, 3, SyntheticTask::kBinary);
  Status status = RunInProcess(1, [&](Communicator& comm) {
    const LinearModelObjective empty(Problem::kLogistic, SelectRows(data, std::vector<std::size_t>{}), 0.0);
    return Train(Options(AlgorithmKind::kPsgd, 10, 0.1), empty, comm).status();
  });
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("empty shard"), std::string::npos);
  status = RunInProcess(1, [&](Communicator& comm) {
    const LinearModelObjective f(Problem::kLogistic, data, 0.0);
    TrainOptions o = Options(AlgorithmKind::kPsgd, 10, 0.1);
    o.initial_x = {1.0};
    return Train(o, f, comm).status();
  });
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
}

// Train runs the parameters it is given: R is FitToRounds' to meet, and
// Train refuses parameters that do not (it used to refit them silently).
TEST(TrainTest, RunsRoundsOnlyWithParametersFittedToThem) {
  const Dataset data = testing::SmallDense(120, 4, SyntheticTask::kBinary);
  TrainOptions o = Options(AlgorithmKind::kPsgd, 300, 0.1);  // B = 2: 150 rounds
  o.algorithm.rounds = 10;
  const Outcome unfitted = RunOn(data, Problem::kLogistic, 2, o);
  EXPECT_EQ(unfitted.status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(unfitted.status.message().find("takes 150 rounds; fit its parameters to R first (FitToRounds)"),
            std::string::npos)
      << unfitted.status.message();
  const Result<AlgorithmOptions> fitted = FitToRounds(o.algorithm, 2);
  ASSERT_TRUE(fitted.ok()) << fitted.status().ToString();
  EXPECT_EQ(fitted->batch, 30u);
  o.algorithm = *fitted;
  const Outcome ran = RunOn(data, Problem::kLogistic, 2, o);
  ASSERT_TRUE(ran.status.ok()) << ran.status.ToString();
  EXPECT_EQ(ran.summaries[0].rounds, 10u);
  // FitToRounds checks the settings before it fits them: a bad one is named, not divided by.
  AlgorithmOptions zero_batch = o.algorithm;
  zero_batch.kind = AlgorithmKind::kLocalSgd;
  zero_batch.batch = 0;
  const Status refused = FitToRounds(zero_batch, 2).status();
  EXPECT_NE(refused.message().find("--batch must be >= 1"), std::string::npos) << refused.ToString();
}

TEST(TrainTest, MomentumAndWeightDecayFollowTheHeavyBallRecursion) {
  // One worker, batch = the whole shard: the rounds are exact gradient steps,
  // so the iterates can be recomputed here with the objective itself.
  const Dataset data = testing::SmallDense(30, 3, SyntheticTask::kRegression);
  TrainOptions options = Options(AlgorithmKind::kPsgd, 90, 0.05);
  options.algorithm.batch = 30;
  options.algorithm.sampling = Sampling::kReshuffle;  // each round sees every sample once
  options.algorithm.momentum = 0.9;
  options.algorithm.weight_decay = 0.1;
  const Outcome out = RunOn(data, Problem::kLeastSquares, 1, options, 0.0);
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  const LinearModelObjective f(Problem::kLeastSquares, data, 0.0);
  std::vector<double> x(3, 0.0), v(3, 0.0);
  for (int t = 0; t < 3; ++t) {
    std::vector<double> g(3, 0.0);
    f.AccumulateGradient(x, testing::AllIndices(30), g);
    for (int j = 0; j < 3; ++j) {
      v[j] = 0.9 * v[j] + (g[j] / 30 + 0.1 * x[j]);
      x[j] -= 0.05 * v[j];
    }
  }
  for (int j = 0; j < 3; ++j) EXPECT_NEAR(out.summaries[0].x[j], x[j], 1e-12);
  options.algorithm.momentum = 1.0;
  EXPECT_EQ(options.algorithm.Validate().code(), StatusCode::kInvalidArgument);
}

TEST(LrScheduleTest, ScalesByTheShareOfTheBudgetSpent) {
  EXPECT_EQ(LrScale(LrSchedule::kConstant, 0.9), 1.0);
  EXPECT_DOUBLE_EQ(LrScale(LrSchedule::kCosine, 0.0), 1.0);
  EXPECT_NEAR(LrScale(LrSchedule::kCosine, 0.5), 0.5, 1e-15);
  EXPECT_NEAR(LrScale(LrSchedule::kCosine, 1.0), 0.0, 1e-15);
  EXPECT_EQ(LrScale(LrSchedule::kStep, 0.49), 1.0);
  EXPECT_EQ(LrScale(LrSchedule::kStep, 0.5), 0.1);
  EXPECT_EQ(LrScale(LrSchedule::kStep, 0.8), 0.01);
  EXPECT_EQ(ParseLrSchedule("linear").status().code(), StatusCode::kInvalidArgument);

  // Full-batch PSGD on one worker: round t steps with γ·½(1 + cos(π (t−1)/3)).
  const Dataset data = testing::SmallDense(30, 3, SyntheticTask::kRegression);
  TrainOptions options = Options(AlgorithmKind::kPsgd, 90, 0.2);
  options.algorithm.batch = 30;
  options.algorithm.sampling = Sampling::kReshuffle;
  options.algorithm.lr_schedule = LrSchedule::kCosine;
  const Outcome out = RunOn(data, Problem::kLeastSquares, 1, options, 0.0);
  ASSERT_TRUE(out.status.ok());
  const LinearModelObjective f(Problem::kLeastSquares, data, 0.0);
  std::vector<double> x(3, 0.0);
  for (int t = 0; t < 3; ++t) {
    std::vector<double> g(3, 0.0);
    f.AccumulateGradient(x, testing::AllIndices(30), g);
    const double lr = 0.2 * 0.5 * (1 + std::cos(3.141592653589793 * t / 3.0));
    for (int j = 0; j < 3; ++j) x[j] -= lr * g[j] / 30;
  }
  for (int j = 0; j < 3; ++j) EXPECT_NEAR(out.summaries[0].x[j], x[j], 1e-12);
}

// --lr-batch-scaling: CR-PSGD's round t steps with γ·(B_t/B₁)^p, capped at
// --lr-max. Batches of 30, 60 and 120 reshuffled passes over 30 samples are
// full gradients, so the iterates can be written out.
TEST(LrBatchScalingTest, StepGrowsWithTheBatchUpToTheCap) {
  EXPECT_EQ(LrBatchFactor(LrBatchScaling::kNone, 4.0), 1.0);
  EXPECT_EQ(LrBatchFactor(LrBatchScaling::kSqrt, 4.0), 2.0);
  EXPECT_EQ(LrBatchFactor(LrBatchScaling::kLinear, 4.0), 4.0);
  const Dataset data = testing::SmallDense(30, 3, SyntheticTask::kRegression);
  const LinearModelObjective f(Problem::kLeastSquares, data, 0.0);
  struct ScalingCase {
    LrBatchScaling scaling;
    double lr_max;
    std::vector<double> factors;  // of rounds 1, 2, 3
  };
  for (const ScalingCase& c :
       {ScalingCase{LrBatchScaling::kNone, 0.0, {1, 1, 1}},
        ScalingCase{LrBatchScaling::kSqrt, 0.0, {1, std::sqrt(2.0), 2}},
        ScalingCase{LrBatchScaling::kLinear, 0.0, {1, 2, 4}}, ScalingCase{LrBatchScaling::kLinear, 0.03, {1, 2, 3}}}) {
    TrainOptions options = Options(AlgorithmKind::kCrPsgd, 210, 0.01);
    options.algorithm.params.Set("b1", std::uint64_t{30});
    options.algorithm.params.Set("rho", 2.0);
    options.algorithm.sampling = Sampling::kReshuffle;
    options.algorithm.lr_batch_scaling = c.scaling;
    options.algorithm.lr_max = c.lr_max;
    const Outcome out = RunOn(data, Problem::kLeastSquares, 1, options, 0.0);
    ASSERT_TRUE(out.status.ok()) << out.status.ToString();
    ASSERT_EQ(out.summaries[0].rounds, 3u);
    std::vector<double> x(3, 0.0);
    for (double factor : c.factors) {
      std::vector<double> g(3, 0.0);
      f.AccumulateGradient(x, testing::AllIndices(30), g);
      for (int j = 0; j < 3; ++j) x[j] -= 0.01 * factor * g[j] / 30;
    }
    for (int j = 0; j < 3; ++j) {
      EXPECT_NEAR(out.summaries[0].x[j], x[j], 1e-12) << LrBatchScalingName(c.scaling) << " max " << c.lr_max;
    }
  }
}

TEST(NetworkModelTest, RingAllreduceCostAndParsing) {
  const NetworkModel model = ParseNetworkModel("alpha=1e-3,bandwidth=1e6").value();
  // N = 4, 400 bytes: 2·3 messages of 100 bytes, each 1 ms + 100 µs.
  EXPECT_NEAR(model.AllreduceSeconds(400, 4), 6 * 1.1e-3, 1e-15);
  EXPECT_EQ(model.AllreduceSeconds(400, 1), 0.0);  // one worker sends nothing
  for (const char* bad : {"alpha=1", "bandwidth=5", "alpha=x,bandwidth=1", "alpha=1,bandwidth=0",
                          "alpha=-1,bandwidth=2", "latency=1,bandwidth=2", ""}) {
    EXPECT_EQ(ParseNetworkModel(bad).status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

TEST(NetworkModelTest, RecordsAccumulateModelledTimePerRound) {
  const Dataset data = testing::SmallDense(100, 5, SyntheticTask::kBinary);
  TrainOptions options = Options(AlgorithmKind::kPsgd, 20, 0.1);
  options.net_model = ParseNetworkModel("alpha=1e-4,bandwidth=1e5").value();
  const Outcome out = RunOn(data, Problem::kLogistic, 2, options);
  ASSERT_TRUE(out.status.ok());
  const double per_round = options.net_model->AllreduceSeconds(5 * sizeof(double), 2);
  const auto& rec = out.records[0];
  for (std::size_t t = 1; t < rec.size(); ++t) EXPECT_NEAR(*rec[t].net_model_s, t * per_round, 1e-12);
  EXPECT_NEAR(*out.summaries[0].net_model_s, 10 * per_round, 1e-12);
}

}  // namespace
}  // namespace crpsgd
