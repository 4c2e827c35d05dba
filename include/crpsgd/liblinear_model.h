// LIBLINEAR's model file format, for the built-in linear models: a model
// trained by crpsgd scores the same with LIBLINEAR's `predict`, and a model
// trained by `liblinear-train` (or crpsgd) is a warm start.
//
//   solver_type L2R_LR        (logreg, ncvx-logreg; L2R_L2LOSS_SVR for leastsq)
//   nr_class 2
//   label 1 -1                (classifiers, the data's own labels: w·a > 0 predicts the first;
//                              K > 2 classes: one weight column per label, the largest w_k·a wins)
//   nr_feature 13
//   bias -1                   (≥ 0: a constant feature of this value is appended)
//   w
//   0.0345...                 (one weight per line; the bias weight last)
#pragma once

#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "crpsgd/linear_models.h"
#include "crpsgd/status.h"

namespace crpsgd {

struct LiblinearModel {
  std::string solver_type;
  // Binary and regression models: one weight per feature, then the bias
  // weight when bias >= 0, oriented as crpsgd's x: w·a > 0 predicts labels[0]
  // (a file whose first label is the negative one is negated). K > 2 classes:
  // K weights per feature (then per bias), feature by feature, as in the file.
  std::vector<double> weights;
  std::size_t nr_feature = 0;
  double bias = -1.0;  // LIBLINEAR's -B: the appended feature's value; < 0 = none
  // Classifiers: the data's own labels. Binary: the positive one (1, or the
  // larger of two) first; K classes: in the file's order.
  std::vector<double> labels;

  // A support-vector regression solver (fits leastsq) rather than a classifier.
  bool is_regression() const { return solver_type.find("SVR") != std::string::npos; }
  // Weights per feature: 1, or K for a multi-class model.
  std::size_t columns() const { return labels.size() > 2 ? labels.size() : 1; }
};

// Writes x of `problem` (its last coordinate, or K coordinates, the bias
// weight when bias != 0, crpsgd's --bias) atomically. `labels`: the data's
// own labels (LoadedData::class_labels): binary {of +1, of −1}, empty for 1
// and −1; K > 2 labels: x holds K weights per feature (MultinomialLogisticObjective).
Status WriteLiblinearModel(const std::filesystem::path& path, Problem problem, std::span<const double> x, double bias,
                           std::span<const double> labels = {});

// Reads a classification (binary or K classes) or regression model. Errors
// name the file and line.
Result<LiblinearModel> ReadLiblinearModel(const std::filesystem::path& path);

// w_k·a over the features both the model and the data have (LIBLINEAR's
// predict ignores the data's features beyond the model's), plus the bias
// weight times the bias feature's value, for each of the model's columns.
std::vector<double> LiblinearMargins(const LiblinearModel& model, const Dataset& data, std::size_t row);

// The label LIBLINEAR's predict gives for a row's margins: binary, the first
// label when w·a > 0; K classes, the label of the largest w_k·a (the first of
// equal ones).
double LiblinearPredictedLabel(const LiblinearModel& model, const std::vector<double>& margins);

// What LIBLINEAR's predict prints for a data set, and the file it writes.
struct LiblinearPredictions {
  std::string lines;        // "Accuracy = 83.7037% (226/270)", or a regression's two lines
  std::string predictions;  // one label (or value) per line, "%.17g"
};
// Scores `data` (its labels as the file gives them) with `model`, as LIBLINEAR's predict does.
LiblinearPredictions PredictLiblinear(const LiblinearModel& model, const Dataset& data);

// predict's report lines: a classifier's accuracy; a regression's mean squared
// error and squared correlation (LIBLINEAR's, to the letter), then, with_r2, R²
// (the coefficient of determination).
std::string AccuracyLine(std::size_t correct, std::size_t n);
std::string RegressionLines(const std::vector<double>& predicted, const std::vector<double>& labels, bool with_r2);

}  // namespace crpsgd
