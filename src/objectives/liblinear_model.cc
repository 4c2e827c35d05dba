#include "crpsgd/liblinear_model.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "crpsgd/files.h"

namespace crpsgd {

Status WriteLiblinearModel(const std::filesystem::path& path, Problem problem, std::span<const double> x, double bias,
                           std::span<const double> labels) {
  const bool has_bias = bias != 0.0;
  if (has_bias && (bias < 0.0 || x.empty())) {
    return Status::InvalidArgument(path.string() + ": LIBLINEAR's bias feature must be >= 0, got " +
                                   std::to_string(bias));
  }
  const bool regression = problem == Problem::kLeastSquares;
  const std::size_t columns = labels.size() > 2 ? labels.size() : 1;
  if (x.size() % columns != 0) {
    return Status::InvalidArgument(path.string() + ": " + std::to_string(x.size()) + " weights are not " +
                                   std::to_string(columns) + " per feature");
  }
  std::ostringstream out;
  out << "solver_type " << (regression ? "L2R_L2LOSS_SVR" : "L2R_LR") << "\nnr_class "
      << std::max<std::size_t>(2, labels.size()) << "\n";
  if (!regression) {
    out << "label";
    if (labels.empty()) out << " 1 -1";
    for (double label : labels) out << " " << ExactNumber(label);
    out << "\n";
  }
  out << "nr_feature " << x.size() / columns - (has_bias ? 1 : 0) << "\n";
  out << "bias " << ExactNumber(has_bias ? bias : -1.0) << "\nw\n";
  for (std::size_t j = 0; j < x.size(); j += columns) {  // one feature a line, as LIBLINEAR writes
    for (std::size_t k = 0; k < columns; ++k) out << ExactNumber(x[j + k]) << " ";
    out << "\n";
  }
  return WriteFileAtomic(path, out.str());
}

namespace {

// A LIBLINEAR model file, line by line: the header (key value...), then "w"
// and one line of weights per feature. Errors name the file and line.
class LiblinearModelParser {
 public:
  explicit LiblinearModelParser(std::string name) : name_(std::move(name)) {}

  Status Line(const std::string& line) {
    ++line_no_;
    std::istringstream fields(line);
    if (in_weights_) return WeightRow(fields);
    std::string key;
    if (!(fields >> key)) return Status::OK();
    if (key == "w") {
      in_weights_ = true;
      if (model_.solver_type.empty()) return Bad("the header lacks solver_type");
      if (!model_.is_regression() && nr_class_ < 2) {
        return Bad("nr_class must be 2 or more for a classifier, got " + std::to_string(nr_class_));
      }
    } else if (key == "solver_type") {
      fields >> model_.solver_type;
    } else if (key == "nr_class") {
      if (!(fields >> nr_class_)) return Bad("nr_class needs a number");
    } else if (key == "label") {
      double l;
      while (fields >> l) labels_.push_back(l);
    } else if (key == "nr_feature") {
      long long n = -1;
      if (!(fields >> n) || n < 0) return Bad("nr_feature needs a number >= 0");
      model_.nr_feature = static_cast<std::size_t>(n);
      have_nr_feature_ = true;
    } else if (key == "bias") {
      if (!(fields >> model_.bias)) return Bad("bias needs a number");
    } else if (key != "rho") {  // rho: one-class SVMs only
      return Bad("unknown header line '" + key + "' (is this a LIBLINEAR model file?)");
    }
    return Status::OK();
  }

  // The model, once every line is read: its header complete, its labels and weights consistent.
  Result<LiblinearModel> Finish() {
    if (!in_weights_) return Status::Corruption(name_ + ": no 'w' line: not a LIBLINEAR model file");
    if (!have_nr_feature_) return Status::Corruption(name_ + ": the header lacks nr_feature");
    if (!model_.is_regression()) {
      if (labels_.size() != static_cast<std::size_t>(nr_class_) || (nr_class_ == 2 && labels_[0] == labels_[1])) {
        return Status::Corruption(name_ + ": nr_class " + std::to_string(nr_class_) + " needs as many distinct labels");
      }
      // Binary: the positive label first (1, else the larger), as the data loader reads it.
      const bool first_positive = labels_[0] == 1.0 || (labels_[1] != 1.0 && labels_[0] > labels_[1]);
      if (nr_class_ == 2 && !first_positive) {
        for (double& w : model_.weights) w = -w;  // LIBLINEAR's w scores the first label
        std::swap(labels_[0], labels_[1]);
      }
      model_.labels = labels_;
    }
    const std::size_t expected = (model_.nr_feature + (model_.bias >= 0 ? 1 : 0)) * model_.columns();
    if (model_.weights.size() != expected) {
      return Status::Corruption(name_ + ": " + std::to_string(model_.weights.size()) + " weights, expected " +
                                std::to_string(expected) + " (nr_feature" + (model_.bias >= 0 ? " + bias)" : ")"));
    }
    return std::move(model_);
  }

 private:
  Status Bad(const std::string& what) const {
    return Status::Corruption(name_ + ":" + std::to_string(line_no_) + ": " + what);
  }

  // One feature's weights: one, or one per class beyond two.
  Status WeightRow(std::istringstream& fields) {
    std::string text;
    std::vector<double> row;
    while (fields >> text) {
      char* end = nullptr;
      const double w = std::strtod(text.c_str(), &end);
      if (end != text.c_str() + text.size() || !std::isfinite(w))
        return Bad("weight '" + text + "' is not a finite number");
      row.push_back(w);
    }
    if (row.empty()) return Status::OK();
    const std::size_t columns = model_.is_regression() || nr_class_ <= 2 ? 1 : static_cast<std::size_t>(nr_class_);
    if (row.size() != columns) {
      return Bad("expected " + std::to_string(columns) + " weight" + (columns > 1 ? "s" : "") +
                 " per line (a model of " + std::to_string(columns > 1 ? nr_class_ : 2) + " classes)");
    }
    model_.weights.insert(model_.weights.end(), row.begin(), row.end());
    return Status::OK();
  }

  std::string name_;
  LiblinearModel model_;
  std::vector<double> labels_;
  bool have_nr_feature_ = false, in_weights_ = false;
  int nr_class_ = 0;
  std::size_t line_no_ = 0;
};

}  // namespace

Result<LiblinearModel> ReadLiblinearModel(const std::filesystem::path& path) {
  const std::string name = path.string();
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return Status::NotFound(name + ": no such file");
  std::ifstream in(path);
  if (!in) return Status::IOError(name + ": cannot open for reading");
  LiblinearModelParser parser(name);
  std::string line;
  while (std::getline(in, line)) CRPSGD_RETURN_IF_ERROR(parser.Line(line));
  return parser.Finish();
}

// w_k·a over the features both the model and the data have (LIBLINEAR's
// predict ignores the data's features beyond the model's), plus the bias
// weight times the bias feature's value, for each of the model's columns.
std::vector<double> LiblinearMargins(const LiblinearModel& model, const Dataset& data, std::size_t row) {
  const std::size_t K = model.columns();
  std::vector<double> margin(K, 0.0);
  const auto add = [&](std::size_t j, double a) {
    for (std::size_t k = 0; k < K; ++k) margin[k] += model.weights[j * K + k] * a;
  };
  if (data.is_sparse) {
    for (SparseMatrix::InnerIterator it(data.sparse, static_cast<Eigen::Index>(row)); it; ++it) {
      if (static_cast<std::size_t>(it.col()) < model.nr_feature) add(static_cast<std::size_t>(it.col()), it.value());
    }
  } else {
    const std::size_t features = std::min(model.nr_feature, data.num_features());
    for (std::size_t j = 0; j < features; ++j) add(j, data.dense(row, j));
  }
  if (model.bias >= 0) add(model.nr_feature, model.bias);
  return margin;
}

// The label LIBLINEAR's predict gives: binary, the first label when w·a > 0;
// K classes, the label of the largest w_k·a (the first of equal ones).
double LiblinearPredictedLabel(const LiblinearModel& model, const std::vector<double>& margins) {
  if (margins.size() == 1) return margins[0] > 0 ? model.labels[0] : model.labels[1];
  return model.labels[static_cast<std::size_t>(std::max_element(margins.begin(), margins.end()) - margins.begin())];
}

namespace {

std::string Printf(const char* format, double value) {
  char text[64];
  std::snprintf(text, sizeof text, format, value);
  return text;
}

}  // namespace

// The lines of a regression: LIBLINEAR's two (mean squared error, squared
// correlation), then, unless the output must be LIBLINEAR's to the letter, R²
// (the coefficient of determination).
std::string RegressionLines(const std::vector<double>& predicted, const std::vector<double>& labels, bool with_r2) {
  const double count = static_cast<double>(predicted.size());
  double squared_error = 0.0, sum_p = 0.0, sum_y = 0.0, sum_pp = 0.0, sum_yy = 0.0, sum_py = 0.0;
  for (std::size_t i = 0; i < predicted.size(); ++i) {
    const double p = predicted[i], y = labels[i];
    squared_error += (p - y) * (p - y);
    sum_p += p, sum_y += y, sum_pp += p * p, sum_yy += y * y, sum_py += p * y;
  }
  const double r = count * sum_py - sum_p * sum_y;
  const double r2 = r * r / ((count * sum_pp - sum_p * sum_p) * (count * sum_yy - sum_y * sum_y));
  const double total = sum_yy - sum_y * sum_y / count;  // Σ (y − ȳ)²
  return Printf("Mean squared error = %g (regression)\n", squared_error / count) +
         Printf("Squared correlation coefficient = %g (regression)\n", r2) +
         (with_r2 ? Printf("R^2 = %g (coefficient of determination, 1 - SSE/SST)\n", 1.0 - squared_error / total) : "");
}

std::string AccuracyLine(std::size_t correct, std::size_t n) {
  return Printf("Accuracy = %g%% ", static_cast<double>(correct) / static_cast<double>(n) * 100.0) + "(" +
         std::to_string(correct) + "/" + std::to_string(n) + ")\n";
}

LiblinearPredictions PredictLiblinear(const LiblinearModel& model, const Dataset& data) {
  std::ostringstream predictions;
  std::size_t correct = 0;
  std::vector<double> values;  // regression: the predictions
  const std::size_t n = data.num_samples();
  for (std::size_t i = 0; i < n; ++i) {
    const std::vector<double> margins = LiblinearMargins(model, data, i);
    if (model.is_regression()) {
      predictions << Printf("%.17g", margins[0]) << "\n";  // LIBLINEAR's format
      values.push_back(margins[0]);
    } else {
      const double label = LiblinearPredictedLabel(model, margins);
      predictions << Printf("%.17g", label) << "\n";
      correct += label == data.labels[i] ? 1 : 0;
    }
  }
  return {model.is_regression() ? RegressionLines(values, data.labels, /*with_r2=*/false) : AccuracyLine(correct, n),
          predictions.str()};
}

}  // namespace crpsgd
