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

}  // namespace crpsgd
