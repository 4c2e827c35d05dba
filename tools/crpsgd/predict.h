// `crpsgd predict`: scores a saved linear model on a data file, as LIBLINEAR's
// `predict` does (the same accuracy line, one prediction per line), with the
// data options of `crpsgd train`.
#pragma once

#include <string>

#include "crpsgd/status.h"
#include "flags.h"

namespace crpsgd::cli {

struct PredictFlags {
  std::string model;  // a LIBLINEAR model file (crpsgd's --save-model, or liblinear-train's)
  std::string out;    // predictions, one per line; "" = none
  DataFlags data;
  std::string loss = "cross-entropy";  // a network's: mse scores a regression network
};

// Reads the model and the data, writes the predictions to --out (atomically)
// and returns the lines to print on stdout: "Accuracy = 83.7037% (226/270)"
// for classifiers, the mean squared error and squared correlation for
// regression models (LIBLINEAR's lines, to the letter), and R² after them for
// a regression network (--loss mse). Errors name the file or flag.
Result<std::string> Predict(const PredictFlags& flags);

}  // namespace crpsgd::cli
