// LIBLINEAR's model file format, for the built-in linear models: a model
// trained by crpsgd scores the same with LIBLINEAR's `predict`, and a model
// trained by `liblinear-train` (or crpsgd) is a warm start.
//
//   solver_type L2R_LR        (logreg, ncvx-logreg; L2R_L2LOSS_SVR for leastsq)
//   nr_class 2
//   label 1 -1                (classifiers: w·a > 0 predicts the first label)
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
  // One weight per feature, then the bias weight when bias >= 0. Oriented as
  // crpsgd's x: w·a > 0 means label +1 (a file with "label -1 1" is negated).
  std::vector<double> weights;
  std::size_t nr_feature = 0;
  double bias = -1.0;  // LIBLINEAR's -B: the appended feature's value; < 0 = none

  // A support-vector regression solver (fits leastsq) rather than a classifier.
  bool is_regression() const { return solver_type.find("SVR") != std::string::npos; }
};

// Writes x of `problem` (its last coordinate is the bias weight when
// bias != 0, crpsgd's --bias) atomically. Binary labels are +1 and −1.
Status WriteLiblinearModel(const std::filesystem::path& path, Problem problem, std::span<const double> x, double bias);

// Reads a binary classification or regression model. Errors name the file and line.
Result<LiblinearModel> ReadLiblinearModel(const std::filesystem::path& path);

}  // namespace crpsgd
