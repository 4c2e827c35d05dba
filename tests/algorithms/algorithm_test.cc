#include <cmath>
#include <string>
#include <variant>

#include <gtest/gtest.h>

#include "crpsgd/algorithm.h"

namespace crpsgd {
namespace {

AlgorithmOptions Valid(AlgorithmKind kind) {
  AlgorithmOptions o;
  o.kind = kind;
  o.budget = 100;
  o.lr = 0.1;
  return o;
}

struct Bad {
  const char* name;
  AlgorithmKind kind;
  void (*mutate)(AlgorithmOptions&);
  const char* fragment;
};

void PrintTo(const Bad& b, std::ostream* os) { *os << b.name; }

class InvalidOptionsTest : public ::testing::TestWithParam<Bad> {};

TEST_P(InvalidOptionsTest, NamesTheFlag) {
  AlgorithmOptions o = Valid(GetParam().kind);
  ASSERT_TRUE(o.Validate().ok());
  GetParam().mutate(o);
  const Status s = o.Validate();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find(GetParam().fragment), std::string::npos) << s.message();
}

INSTANTIATE_TEST_SUITE_P(
    Table, InvalidOptionsTest,
    ::testing::Values(
        Bad{"rho_one", AlgorithmKind::kCrPsgd, [](AlgorithmOptions& o) { o.params.Set("rho", 1.0); },
            "--rho must be > 1 (got 1)"},
        Bad{"rho_below_one", AlgorithmKind::kCrPsgd, [](AlgorithmOptions& o) { o.params.Set("rho", 0.5); },
            "--rho must be > 1"},
        Bad{"rho_nan", AlgorithmKind::kCrPsgd,
            [](AlgorithmOptions& o) { o.params.Set("rho", static_cast<double>(std::nan(""))); }, "--rho"},
        Bad{"b1_zero", AlgorithmKind::kCrPsgd, [](AlgorithmOptions& o) { o.params.Set("b1", std::uint64_t{0}); },
            "--b1 must be >= 1"},
        Bad{"budget_below_b1", AlgorithmKind::kCrPsgd,
            [](AlgorithmOptions& o) { o.params.Set("b1", std::uint64_t{101}); }, "--budget (100) is below --b1 (101)"},
        Bad{"budget_zero", AlgorithmKind::kPsgd, [](AlgorithmOptions& o) { o.budget = 0; }, "--budget must be >= 1"},
        Bad{"batch_zero", AlgorithmKind::kPsgd, [](AlgorithmOptions& o) { o.batch = 0; }, "--batch must be >= 1"},
        Bad{"budget_below_batch", AlgorithmKind::kLocalSgd, [](AlgorithmOptions& o) { o.batch = 200; },
            "--budget (100) is below --batch (200)"},
        Bad{"sync_zero", AlgorithmKind::kLocalSgd,
            [](AlgorithmOptions& o) { o.params.Set("sync_period", std::uint64_t{0}); }, "--sync-period must be >= 1"},
        Bad{"lr_negative", AlgorithmKind::kPsgd, [](AlgorithmOptions& o) { o.lr = -1; }, "--lr must be a positive"},
        Bad{"lr_max_negative", AlgorithmKind::kCrPsgd, [](AlgorithmOptions& o) { o.lr_max = -1; },
            "--lr-max must be 0 (no cap) or at least --lr (0.1), got -1"},
        Bad{"lr_max_below_lr", AlgorithmKind::kCrPsgd, [](AlgorithmOptions& o) { o.lr_max = 0.05; },
            "--lr-max must be 0 (no cap) or at least --lr (0.1), got 0.05"},
        Bad{"micro_zero", AlgorithmKind::kPsgd, [](AlgorithmOptions& o) { o.max_micro_batch = 0; },
            "--max-micro-batch must be >= 1"}),
    [](const auto& p) { return std::string(p.param.name); });

// Independent bad values are reported together, each on its line.
TEST(InvalidOptionsTest, EveryBadValueIsReportedAtOnce) {
  AlgorithmOptions o = Valid(AlgorithmKind::kCrPsgd);
  o.params.Set("b1", std::uint64_t{0});
  o.params.Set("rho", 0.5);
  o.momentum = 2;
  o.lr = -1;
  const Status s = o.Validate();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  for (const char* fragment : {"4 settings are wrong:", "\n  --b1 must be >= 1", "\n  --rho must be > 1",
                               "\n  --momentum must be in [0, 1)", "\n  --lr must be a positive"}) {
    EXPECT_NE(s.message().find(fragment), std::string::npos) << s.message();
  }
}

TEST(AlgorithmNamesTest, RoundTripAndDescribe) {
  for (AlgorithmKind k : {AlgorithmKind::kPsgd, AlgorithmKind::kCrPsgd, AlgorithmKind::kLocalSgd}) {
    EXPECT_EQ(*ParseAlgorithm(AlgorithmName(k)), k);
  }
  EXPECT_EQ(ParseAlgorithm("adam").status().code(), StatusCode::kInvalidArgument);
  AlgorithmOptions o = Valid(AlgorithmKind::kCrPsgd);
  o.params.Set("b1", std::uint64_t{4});
  o.params.Set("rho", 1.05);
  EXPECT_EQ(o.Describe(), "B1=4 rho=1.05");
  o.lr_batch_scaling = LrBatchScaling::kLinear;
  o.lr_max = 0.4;
  EXPECT_EQ(o.Describe(), "B1=4 rho=1.05 lr~linear(B) lr<=0.4");  // part of a checkpoint's run identity
  for (LrBatchScaling s : {LrBatchScaling::kNone, LrBatchScaling::kSqrt, LrBatchScaling::kLinear}) {
    EXPECT_EQ(*ParseLrBatchScaling(LrBatchScalingName(s)), s);
  }
  EXPECT_EQ(ParseLrBatchScaling("square").status().code(), StatusCode::kInvalidArgument);
}

// Each algorithm's registry row: its parameters in tables, the batch its
// checks name, and its name.
TEST(AlgorithmNamesTest, EveryAlgorithmDescribesItsOwnParameters) {
  AlgorithmOptions o = Valid(AlgorithmKind::kPsgd);
  o.batch = 8;
  o.params.Set("b1", std::uint64_t{2});
  o.params.Set("sync_period", std::uint64_t{10});
  o.params.Set("rho", 1.5);
  o.params.Set("theta", 0.25);
  o.params.Set("outer_iterations", std::uint64_t{3});
  const std::pair<AlgorithmKind, const char*> expected[] = {
      {AlgorithmKind::kPsgd, "B=8"},
      {AlgorithmKind::kCrPsgd, "B1=2 rho=1.5"},
      {AlgorithmKind::kLocalSgd, "b=8 I=10"},
      {AlgorithmKind::kCrPsgdCatalyst, "B1=2 rho=1.5 theta=0.25 K=3"}};
  for (const auto& [kind, text] : expected) {
    o.kind = kind;
    EXPECT_EQ(o.Describe(), text) << AlgorithmName(kind);
    EXPECT_EQ(*ParseAlgorithm(AlgorithmName(kind)), kind);
    const bool fixed = kind == AlgorithmKind::kPsgd || kind == AlgorithmKind::kLocalSgd;
    EXPECT_EQ(o.SmallestBatch(), fixed ? 8u : 2u) << AlgorithmName(kind);
  }
}

// An algorithm's own parameters are set by name: unset ones keep their row's
// default; a name no algorithm takes, or a value of the wrong kind, is refused
// naming the parameter; one an algorithm does not take is left alone.
TEST(AlgorithmParamsTest, ByNameWithDefaultsAndChecked) {
  EXPECT_EQ(std::get<std::uint64_t>(ParamDefault("b1")), 1u);
  EXPECT_EQ(std::get<double>(ParamDefault("rho")), 1.1);
  EXPECT_EQ(std::get<std::uint64_t>(ParamDefault("sync_period")), 10u);
  EXPECT_EQ(std::get<std::string>(ParamDefault("round_split")), "local-steps");
  EXPECT_TRUE(std::holds_alternative<std::nullptr_t>(ParamDefault("b2")));

  AlgorithmOptions o = Valid(AlgorithmKind::kCrPsgd);
  EXPECT_EQ(o.Describe(), "B1=1 rho=1.1");        // the defaults
  o.params.Set("sync_period", std::uint64_t{3});  // local SGD's: cr-psgd leaves it alone
  EXPECT_TRUE(o.Validate().ok());
  EXPECT_EQ(o.Describe(), "B1=1 rho=1.1");

  AlgorithmOptions typo = o;
  typo.params.Set("b_1", std::uint64_t{4});
  EXPECT_NE(typo.Validate().message().find("algorithm parameter 'b_1': no algorithm takes it"), std::string::npos)
      << typo.Validate().message();
  AlgorithmOptions wrong_kind = o;
  wrong_kind.params.Set("b1", 4.0);  // a count
  EXPECT_NE(wrong_kind.Validate().message().find("algorithm parameter 'b1': of the wrong kind (a count)"),
            std::string::npos)
      << wrong_kind.Validate().message();
  AlgorithmOptions literals = o;  // what a library user writes
  literals.params.Set("b1", 4);
  literals.params.Set("rho", 2);
  EXPECT_TRUE(literals.Validate().ok()) << literals.Validate().message();
  EXPECT_EQ(literals.Describe(), "B1=4 rho=2");
  AlgorithmOptions last_iterate = Valid(AlgorithmKind::kAuto);
  last_iterate.params.Set("tail_average", 0);  // a count for a share: 0, not auto
  EXPECT_TRUE(last_iterate.Validate().ok()) << last_iterate.Validate().message();
  EXPECT_NE(last_iterate.Describe().find("tail=0"), std::string::npos) << last_iterate.Describe();
  AlgorithmOptions norm_test = o;
  norm_test.params.Set("rho", "auto");  // a number, or the word auto
  EXPECT_TRUE(norm_test.Validate().ok());
  EXPECT_TRUE(norm_test.adaptive_batch());
  EXPECT_EQ(norm_test.rho(), "auto");
}

}  // namespace
}  // namespace crpsgd
