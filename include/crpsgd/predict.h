// Scoring a saved model on a data file, as LIBLINEAR's `predict` does: a
// linear model (model.liblinear from --save-model, or liblinear-train's) or a
// network's model.pt. What `crpsgd predict` runs.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "crpsgd/data_loader.h"
#include "crpsgd/status.h"

namespace crpsgd {

struct PredictOptions {
  std::filesystem::path model;  // LIBLINEAR's format, or a network's model.pt (by its .pt name)
  std::filesystem::path out;    // the predictions, one per line (written atomically); empty: none
  // The file to score (`train`). Its labels, bias and scaling are the model's:
  // Predict sets them (a --bias given must be the model's own).
  DataOptions data;
  // A network's: the --problem it was trained as (softmax, mlp, resnet20, or
  // torchscript for a --model run's model.pt), mlp's hidden units, and its
  // loss in training (cross-entropy: a classifier; mse: a regression).
  std::string problem;
  std::uint64_t hidden = 0;
  std::string loss = "cross-entropy";
};

// Reads the model and the data, writes the predictions to `out` and returns
// the lines to print: "Accuracy = 83.7037% (226/270)" for classifiers, the
// mean squared error and squared correlation for regression models
// (LIBLINEAR's lines, to the letter), and R² after them for a regression
// network. Errors name the file or flag.
Result<std::string> Predict(const PredictOptions& options);

}  // namespace crpsgd
