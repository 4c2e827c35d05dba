// The registry of objectives: built-in names, your own, and what Make gives.
#include <gtest/gtest.h>

#include <fstream>

#include "crpsgd/objective_registry.h"
#include "testing/problems.h"
#include "testing/temp_dir.h"

namespace crpsgd {
namespace {

TEST(ObjectiveRegistryTest, HasTheLinearModelsAndListsThemForAnUnknownName) {
  const ObjectiveRegistry registry = ObjectiveRegistry::WithLinearModels();
  EXPECT_EQ(registry.Names(), (std::vector<std::string>{"logreg", "leastsq", "ncvx-logreg"}));
  EXPECT_EQ(registry.Find("leastsq")->labels, LabelTask::kRegression);
  EXPECT_EQ(registry.Find("logreg")->labels, LabelTask::kBinary);
  EXPECT_FALSE(registry.Find("logreg")->network());
  EXPECT_EQ(registry.Get("svm").status().message(), "--problem must be logreg, leastsq or ncvx-logreg, got 'svm'");
}

TEST(ObjectiveRegistryTest, MakesEachWorkersObjectivesAndSavesTheModel) {
  const ObjectiveRegistry registry = ObjectiveRegistry::WithLinearModels();
  auto shard = std::make_shared<const Dataset>(testing::SmallDense(20, 3, SyntheticTask::kBinary));
  ObjectiveSettings settings;
  settings.lambda = 0.01;
  auto made = registry.Make("logreg", settings, {shard, shard, 2, 1, 0, {}});
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  ASSERT_NE(made->train, nullptr);
  ASSERT_NE(made->test, nullptr);
  EXPECT_EQ(made->train->dim(), 3u);
  EXPECT_TRUE(made->train->convex());
  EXPECT_EQ(made->train->model_state(), nullptr);
  testing::TempDir dir;
  auto file = made->save_model(dir.path(), std::vector<double>{0.5, -1.0, 2.0});
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_EQ(file->filename(), "model.liblinear");
  std::ifstream in(*file);
  std::string first;
  std::getline(in, first);
  EXPECT_EQ(first, "solver_type L2R_LR");
  // Settings are checked before anything is made.
  settings.lambda = -1;
  EXPECT_NE(registry.Make("logreg", settings, {shard, nullptr, 2, 1, 0, {}}).status().message().find("--lambda"),
            std::string::npos);
  settings.lambda = 0.01;
  settings.augment = true;
  EXPECT_NE(registry.Make("logreg", settings, {shard, nullptr, 2, 1, 0, {}}).status().message().find("--augment"),
            std::string::npos);
}

TEST(ObjectiveRegistryTest, TakesYourOwnObjectiveOnceByName) {
  ObjectiveRegistry registry = ObjectiveRegistry::WithLinearModels();
  ObjectiveFactory mine;
  mine.name = "my-leastsq";
  mine.labels = LabelTask::kRegression;
  mine.make = [](const ObjectiveSettings& s, const ObjectiveInputs& in) -> Result<WorkerObjectives> {
    WorkerObjectives out;
    out.train = std::make_unique<LinearModelObjective>(Problem::kLeastSquares, in.train, s.lambda);
    return out;
  };
  ASSERT_TRUE(registry.Add(mine).ok());
  EXPECT_FALSE(registry.Add(mine).ok()) << "a name is registered once";
  auto shard = std::make_shared<const Dataset>(testing::SmallDense(10, 2, SyntheticTask::kRegression));
  auto made = registry.Make("my-leastsq", {}, {shard, nullptr, 2, 1, 0, {}});
  ASSERT_TRUE(made.ok());
  EXPECT_EQ(made->train->num_samples(), 10u);
  EXPECT_FALSE(made->save_model) << "this factory gives no saver";
  EXPECT_FALSE(registry.Make("my-leastsq", {}, {nullptr, nullptr, 2, 1, 0, {}}).ok()) << "no shard";
}

}  // namespace
}  // namespace crpsgd
