#include "crpsgd/data_loader.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <sstream>

#include "crpsgd/enum_table.h"
#include "data/file_bytes.h"

namespace crpsgd {
namespace {

constexpr EnumTable<DataFormat, 9> kDataFormats{{{{DataFormat::kAuto, "auto"},
                                                  {DataFormat::kLibsvm, "libsvm"},
                                                  {DataFormat::kIdx, "idx"},
                                                  {DataFormat::kCifar10, "cifar10"},
                                                  {DataFormat::kSynthetic, "synthetic"},
                                                  {DataFormat::kTensors, "tensors"},
                                                  {DataFormat::kCsv, "csv"},
                                                  {DataFormat::kNpy, "npy"},
                                                  {DataFormat::kNpz, "npz"}}}};
constexpr EnumTable<Sharding, 2> kShardings{{{{Sharding::kRandom, "random"}, {Sharding::kByteRange, "byte-range"}}}};

DataFormat ResolveFormat(DataFormat format, const std::filesystem::path& path) {
  return format != DataFormat::kAuto ? format : DetectFormat(path);
}

// How LIBSVM labels are read: as numbers, which MapFileLabels then checks for
// the task; a byte-range part (binary or regression only) maps its own.
LibsvmOptions LibsvmOptionsFor(const DataOptions& o, std::size_t num_features, bool byte_range) {
  LibsvmOptions options;
  options.labels = byte_range && o.labels == LabelTask::kBinary ? LabelKind::kBinary : LabelKind::kRegression;
  options.num_features = num_features;
  return options;
}

// Formats whose labels are the user's own numbers (not images' class bytes).
bool HasFileLabels(DataFormat format) {
  return format == DataFormat::kLibsvm || format == DataFormat::kTensors || format == DataFormat::kCsv ||
         format == DataFormat::kNpy || format == DataFormat::kNpz;
}

std::string LabelText(double y) {
  std::ostringstream os;
  os << y;
  return os.str();
}

Status BadLabel(const Dataset& d, std::size_t i, const std::string& why) {
  return Status::InvalidArgument(d.source + ": sample " + std::to_string(i + 1) + ": label " + LabelText(d.labels[i]) +
                                 " " + why);
}

// The classes of a file's training labels, as LabelTask describes: binary when
// they are all +1/−1/1/0 or of two values, else K classes (kBinary only with
// o.multiclass). Renames train's and test's labels and records the data's own
// labels of the classes in loaded.class_labels.
// Far beyond any real class count: more distinct labels are a regression's targets.
constexpr std::size_t kMaxClasses = 10000;

Status MapFileLabels(const DataOptions& o, Dataset& train, Dataset* test, LoadedData& loaded) {
  std::vector<double> values;  // the distinct training labels, sorted
  bool plus_minus_one_zero = true;
  for (std::size_t i = 0; i < train.labels.size(); ++i) {
    const double y = train.labels[i];
    if (y != std::floor(y)) return BadLabel(train, i, "is not a class label (a whole number)");
    plus_minus_one_zero = plus_minus_one_zero && (y == 1.0 || y == 0.0 || y == -1.0);
    const auto at = std::lower_bound(values.begin(), values.end(), y);
    if (at == values.end() || *at != y) values.insert(at, y);
    if (values.size() > kMaxClasses) {
      return Status::InvalidArgument(train.source + ": more than " + std::to_string(kMaxClasses) +
                                     " distinct labels: a classifier's labels are classes (real-valued targets want "
                                     "--problem leastsq)");
    }
  }
  const bool binary = plus_minus_one_zero || values.size() <= 2;
  const auto has = [&](double y) { return std::binary_search(values.begin(), values.end(), y); };
  // Binary: 1 (or the larger of two values) is positive; the other labels of
  // +1/−1/1/0 (0 and −1 alike), or the smaller value, are negative.
  const double positive = plus_minus_one_zero ? 1.0 : values.back();
  const double negative = !plus_minus_one_zero ? values.front() : has(0.0) && !has(-1.0) ? 0.0 : -1.0;
  const auto is_negative = [&](double y) { return plus_minus_one_zero ? y == 0.0 || y == -1.0 : y == negative; };
  std::vector<double> own;  // own[k]: the data's label of class k (binary: of +1, then of −1)
  if (binary) {
    if (!plus_minus_one_zero && values.size() < 2) {
      return Status::InvalidArgument(train.source + ": every sample has label " + LabelText(positive) +
                                     ": a classifier needs two classes");
    }
    own = o.labels == LabelTask::kClasses ? std::vector<double>{negative, positive}
                                          : std::vector<double>{positive, negative};
  } else {
    if (o.labels == LabelTask::kBinary && !o.multiclass) {
      return Status::InvalidArgument(
          train.source + ": " + std::to_string(values.size()) + " labels (" + LabelText(values[0]) + ", " +
          LabelText(values[1]) + ", " + LabelText(values[2]) + (values.size() > 3 ? ", ..." : "") +
          "): this --problem is binary; --problem logreg (multinomial), softmax or mlp train " +
          std::to_string(values.size()) + " classes");
    }
    own = values;
  }
  // A label's class: binary tasks ±1 (kClasses: 1/0), else its index in `values`.
  const auto rename = [&](Dataset& d) -> Status {
    for (std::size_t i = 0; i < d.labels.size(); ++i) {
      const double y = d.labels[i];
      if (binary) {
        if (y != positive && !is_negative(y)) {
          return BadLabel(d, i,
                          std::string("is not one of the training data's two labels (") + LabelText(own[0]) + ", " +
                              LabelText(own[1]) + ")");
        }
        const bool is_positive = y == positive;
        d.labels[i] = o.labels == LabelTask::kClasses ? (is_positive ? 1.0 : 0.0) : (is_positive ? 1.0 : -1.0);
      } else {
        const auto at = std::lower_bound(values.begin(), values.end(), y);
        if (at == values.end() || *at != y) {
          return BadLabel(d, i, "is not one of the training data's " + std::to_string(values.size()) + " labels");
        }
        d.labels[i] = static_cast<double>(at - values.begin());
      }
    }
    return Status::OK();
  };
  CRPSGD_RETURN_IF_ERROR(rename(train));
  if (test != nullptr) CRPSGD_RETURN_IF_ERROR(rename(*test));
  loaded.class_labels = own;
  loaded.num_classes = binary ? 2 : values.size();
  return Status::OK();
}

// Images: every class for networks, else the binary task of the two class flags.
template <class ImageOptions>
ImageOptions ClassesFor(const DataOptions& o) {
  ImageOptions options;
  options.positive_class = o.labels == LabelTask::kClasses ? -1 : o.positive_class;
  options.negative_class = o.labels == LabelTask::kClasses ? -1 : o.negative_class;
  return options;
}

Result<Dataset> LoadOne(const DataOptions& o, const std::filesystem::path& path,
                        const std::filesystem::path& labels_file, const std::string& labels_flag,
                        std::size_t num_features) {
  switch (ResolveFormat(o.format, path)) {
    case DataFormat::kLibsvm: return ReadLibsvm(path, LibsvmOptionsFor(o, num_features, false));
    case DataFormat::kCsv: return ReadCsv(path, o.table);
    case DataFormat::kNpy: return ReadNpy(path, o.table);
    case DataFormat::kNpz: return ReadNpz(path);
    case DataFormat::kIdx: {
      const std::filesystem::path labels = labels_file.empty() ? IdxLabelsPathFor(path) : labels_file;
      if (labels.empty()) {
        return Status::InvalidArgument(path.string() + ": cannot derive the IDX labels file from this name; pass " +
                                       labels_flag);
      }
      return ReadIdx(path, labels, ClassesFor<IdxOptions>(o));
    }
    case DataFormat::kCifar10: {
      std::vector<std::filesystem::path> files = {path};
      std::error_code ec;
      if (std::filesystem::is_directory(path, ec)) {
        auto batches = Cifar10TrainingFiles(path);
        if (!batches.ok()) {
          return Status(batches.status().code(),
                        path.string() +
                            ": is a folder, so it was read as CIFAR-10 (a folder of data_batch_1..5.bin), "
                            "and it has no data_batch_1.bin ... data_batch_5.bin; for LIBSVM or IDX data "
                            "give the file");
        }
        files = std::move(batches).value();
      }
      return ReadCifar10(files, ClassesFor<Cifar10Options>(o));
    }
    case DataFormat::kTensors: {
      if (!o.read_tensors) {
        return Status::InvalidArgument(path.string() +
                                       ": is read as a tensors file (--format tensors), which needs LibTorch: "
                                       "this program has no reader for it");
      }
      return o.read_tensors(path);  // labels: MapFileLabels
    }
    case DataFormat::kAuto:
    case DataFormat::kSynthetic: break;
  }
  return Status::Internal(path.string() + ": no reader for format " + DataFormatName(o.format));
}

// What the other workers need to know of one byte-range part.
struct PartFacts {
  std::size_t features = 0, samples = 0, test_features = 0, test_samples = 0;
};

PartFacts FactsOf(const LoadedData::Part& part) {
  PartFacts facts{part.train->num_features(), part.train->num_samples(), 0, 0};
  if (part.test) facts.test_features = part.test->num_features(), facts.test_samples = part.test->num_samples();
  return facts;
}

// Every part read, and the facts of all the workers' parts: checks that each
// worker has samples and that the test data is no wider than the training
// data, gives every local part the model's width, and appends the bias.
Status FinishParts(const DataOptions& o, const std::vector<PartFacts>& all, LoadedData& data) {
  const auto workers = std::to_string(all.size());
  std::size_t width = 0, test_width = 0, samples = 0;
  for (std::size_t r = 0; r < all.size(); ++r) {
    if (all[r].samples == 0) {
      return Status::InvalidArgument(o.train.string() + ": worker " + std::to_string(r) + "'s byte range (part " +
                                     std::to_string(r + 1) + " of " + workers +
                                     ") holds no sample: the file is "
                                     "too small for " +
                                     workers + " workers");
    }
    if (!o.test.empty() && all[r].test_samples == 0) {
      return Status::InvalidArgument(o.test.string() + ": worker " + std::to_string(r) +
                                     "'s byte range holds no "
                                     "sample: the file is too small for " +
                                     workers + " workers");
    }
    width = std::max(width, all[r].features);
    test_width = std::max(test_width, all[r].test_features);
    samples += all[r].samples;
  }
  if (test_width > width) {
    return Status::InvalidArgument(o.test.string() + ": has " + std::to_string(test_width) +
                                   " features, the training data " + std::to_string(width));
  }
  for (auto& [rank, part] : data.parts) {
    for (Dataset* d : {part.train.get(), part.test.get()}) {
      if (d == nullptr) continue;
      d->sparse.conservativeResize(d->sparse.rows(), static_cast<Eigen::Index>(width));  // wider: no copy
      AppendBiasFeature(*d, data.bias);
    }
  }
  data.num_features = width + (data.bias != 0.0 ? 1 : 0);
  data.num_train_samples = samples;
  return Status::OK();
}

// A table kept dense, or a LIBSVM file of mostly non-zeros: a dense table
// written sparsely, which --standardize stores dense so it can be centred.
bool StoredDense(const Dataset& d) {
  return !d.is_sparse ||
         2 * static_cast<double>(d.sparse.nonZeros()) >= static_cast<double>(d.sparse.rows()) * d.sparse.cols();
}

// The feature of largest magnitude: {index from 1, as LIBSVM counts, value}.
std::pair<std::size_t, double> LargestFeature(const Dataset& d) {
  std::pair<std::size_t, double> largest{0, 0.0};
  auto see = [&](Eigen::Index column, double value) {
    if (std::abs(value) > std::abs(largest.second)) largest = {static_cast<std::size_t>(column) + 1, value};
  };
  if (d.is_sparse) {
    for (Eigen::Index r = 0; r < d.sparse.outerSize(); ++r) {
      for (SparseMatrix::InnerIterator it(d.sparse, r); it; ++it) see(it.col(), it.value());
    }
  } else {
    for (Eigen::Index r = 0; r < d.dense.rows(); ++r) {
      for (Eigen::Index c = 0; c < d.dense.cols(); ++c) see(c, d.dense(r, c));
    }
  }
  return largest;
}

// --standardize auto and --bias auto (nullopt in DataOptions): a table
// (LIBSVM, CSV, NumPy) held dense is standardized when not scaled (a feature
// outside [−1, 1]), and a linear model's also for least squares; a linear
// model gets an intercept on a CSV or NumPy table, or when standardized or
// least squares (a network has its own biases). A network on raw features trains as badly as a linear
// model with one step 1/L does: its first layer's steps are of the size of
// the largest feature (an MLP on scikit-learn's raw wine: 39.6% against
// 97.9% standardized). Anything else is left as it is. Without the whole
// training set (`whole_train` null: byte-range parts) nothing is
// standardized automatically. Returns whether to standardize; sets
// loaded.bias and what was chosen, for the log.
bool ResolveAutomaticChoices(const DataOptions& o, DataFormat format, const Dataset* whole_train, LoadedData& loaded) {
  const bool linear = o.labels != LabelTask::kClasses;
  const bool table = format == DataFormat::kLibsvm || format == DataFormat::kCsv || format == DataFormat::kNpy ||
                     format == DataFormat::kNpz;
  bool standardize = o.standardize.value_or(false);
  std::string why;
  if (!o.standardize && table && whole_train != nullptr && StoredDense(*whole_train)) {
    const auto [feature, value] = LargestFeature(*whole_train);
    if (std::abs(value) > 1.0) {
      std::ostringstream os;
      os << "feature " << feature << " reaches " << value << ": not scaled";
      why = os.str();
    } else if (linear && o.labels == LabelTask::kRegression) {
      why = "least squares";
    }
    standardize = !why.empty();
  }
  // LIBSVM is LIBLINEAR's format and keeps its convention (no intercept unless asked, so that runs and warm
  // starts match liblinear-train); a CSV or NumPy table gets one, as scikit-learn's fit_intercept gives it
  // (heart_scale as CSV: 81.5% test accuracy with it, 77.8% without; docs/experiments.md).
  const bool user_table = format == DataFormat::kCsv || format == DataFormat::kNpy || format == DataFormat::kNpz;
  loaded.bias =
      o.bias.value_or(linear && table && (standardize || user_table || o.labels == LabelTask::kRegression) ? 1.0 : 0.0);
  std::vector<std::string> chosen;
  if (!o.standardize && standardize) chosen.push_back("standardizing the features (" + why + ")");
  if (!o.bias && loaded.bias != 0.0) chosen.push_back("fitting an intercept (--bias 1)");
  if (!chosen.empty()) {
    loaded.automatic_choices =
        chosen.front() + (chosen.size() > 1 ? " and " + chosen.back() : std::string()) +
        (linear ? ", as scikit-learn's StandardScaler and fit_intercept would; --standardize=no --bias 0 trains on "
                  "the data as they are"
                : ", as scikit-learn's StandardScaler would (a saved model.pt keeps the statistics beside it, "
                  "feature_scaling.json, and predict applies them); --standardize=no trains on the data as they are");
  }
  return standardize;
}

// kByteRange: the parts of `parts.ranks`, finished at once when they are all
// the workers' (in-process), else by AgreeOnParts.
Result<LoadedData> LoadParts(const DataOptions& o, const PartsToRead& parts) {
  if (o.labels == LabelTask::kClasses) {
    return Status::InvalidArgument("--sharding byte-range is for linear models (logreg, leastsq, ncvx-logreg)");
  }
  if (o.format == DataFormat::kSynthetic) {
    return Status::InvalidArgument(
        "--sharding byte-range reads LIBSVM files; --format synthetic has none "
        "(use --sharding random)");
  }
  for (const std::filesystem::path* file : {&o.train, &o.test}) {
    const DataFormat format = ResolveFormat(o.format, *file);
    if (!file->empty() && format != DataFormat::kLibsvm) {
      return Status::InvalidArgument("--sharding byte-range reads LIBSVM files; " + file->string() + " is read as " +
                                     DataFormatName(format) + " (use --sharding random)");
    }
  }
  if (o.train.empty()) return Status::InvalidArgument("--data is required (or --format synthetic)");
  const LibsvmOptions options = LibsvmOptionsFor(o, 0, true);  // each part's width: its largest index
  LoadedData loaded;
  // No whole-file statistics here: --standardize auto stays off.
  ResolveAutomaticChoices(o, DataFormat::kLibsvm, /*whole_train=*/nullptr, loaded);
  for (const int rank : parts.ranks) {
    LoadedData::Part part;
    CRPSGD_ASSIGN_OR_RETURN(Dataset train, ReadLibsvm(o.train, options, {rank, parts.workers}));
    part.train = std::make_shared<Dataset>(std::move(train));
    if (!o.test.empty()) {
      CRPSGD_ASSIGN_OR_RETURN(Dataset test, ReadLibsvm(o.test, options, {rank, parts.workers}));
      part.test = std::make_shared<Dataset>(std::move(test));
    }
    loaded.parts.emplace(rank, std::move(part));
  }
  if (parts.ranks.size() == static_cast<std::size_t>(parts.workers)) {
    std::vector<PartFacts> facts;
    for (const auto& [rank, part] : loaded.parts) facts.push_back(FactsOf(part));
    CRPSGD_RETURN_IF_ERROR(FinishParts(o, facts, loaded));
  }
  return loaded;
}

}  // namespace

const char* DataFormatName(DataFormat format) { return kDataFormats.Name(format); }

DataFormat DetectFormat(const std::filesystem::path& path) {
  const std::string name = path.string();
  if (name.find("idx") != std::string::npos) return DataFormat::kIdx;
  if (name.ends_with(".pt") || name.ends_with(".pth")) return DataFormat::kTensors;
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec) || name.ends_with(".bin")) return DataFormat::kCifar10;
  const std::string head = data::Head(path, 4096);  // gzip: its content
  if (head.starts_with("\x93NUMPY") || (head.empty() && name.ends_with(".npy"))) return DataFormat::kNpy;
  if (head.starts_with(std::string_view("PK\x03\x04", 4)) || (head.empty() && name.ends_with(".npz"))) {
    return DataFormat::kNpz;  // a zip archive (PyTorch's are *.pt, found above)
  }
  if (data::DescribeContent(head) == "an IDX file") return DataFormat::kIdx;
  if (head.empty() && (name.ends_with(".csv") || name.ends_with(".tsv"))) return DataFormat::kCsv;
  // Text: the first line that is not blank or a comment decides.
  std::string_view rest = head;
  while (!rest.empty()) {
    const std::size_t newline = rest.find('\n');
    std::string_view line = rest.substr(0, newline);
    rest = newline == std::string_view::npos ? std::string_view() : rest.substr(newline + 1);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\r')) line.remove_prefix(1);
    if (line.empty() || line.front() == '#' || line.front() == '\r') continue;
    const bool comma = line.find(',') != std::string_view::npos;
    const bool tab_table = line.find('\t') != std::string_view::npos && line.find(':') == std::string_view::npos;
    return comma || tab_table ? DataFormat::kCsv : DataFormat::kLibsvm;
  }
  return DataFormat::kLibsvm;
}
Result<DataFormat> ParseDataFormat(std::string_view name) { return kDataFormats.Parse(name, "--format"); }
const char* ShardingName(Sharding sharding) { return kShardings.Name(sharding); }
Result<Sharding> ParseSharding(std::string_view name) { return kShardings.Parse(name, "--sharding"); }

PartsToRead PartsToRead::All(int workers) {
  PartsToRead parts{{}, workers};
  for (int r = 0; r < workers; ++r) parts.ranks.push_back(r);
  return parts;
}

namespace {

// The training set (synthetic, or --data) and --test-data, widened to the
// training set's features where it has fewer.
Status ReadSets(const DataOptions& o, std::uint64_t seed, LoadedData& loaded) {
  if (o.format == DataFormat::kSynthetic) {
    if (!o.train.empty()) return Status::InvalidArgument("--data is not used with --format synthetic");
    SyntheticOptions options = o.synthetic;
    options.task = o.labels == LabelTask::kRegression ? SyntheticTask::kRegression : SyntheticTask::kBinary;
    if (!(options.condition_number >= 1.0)) {
      std::ostringstream os;
      os << "--synthetic-condition must be >= 1, got " << options.condition_number;
      return Status::InvalidArgument(os.str());
    }
    options.seed = seed;
    CRPSGD_ASSIGN_OR_RETURN(loaded.train, MakeSynthetic(options));
    if (!o.test.empty()) return Status::InvalidArgument("--test-data is not used with --format synthetic");
    return Status::OK();
  }
  if (o.train.empty()) return Status::InvalidArgument("--data is required (or --format synthetic)");
  CRPSGD_ASSIGN_OR_RETURN(loaded.train, LoadOne(o, o.train, o.train_labels, "--labels", 0));
  if (o.test.empty()) return Status::OK();
  CRPSGD_ASSIGN_OR_RETURN(Dataset test,
                          LoadOne(o, o.test, o.test_labels, "--test-labels", loaded.train.num_features()));
  if (test.num_features() > loaded.train.num_features()) {
    return Status::InvalidArgument(o.test.string() + ": has " + std::to_string(test.num_features()) +
                                   " features, the training data " + std::to_string(loaded.train.num_features()));
  }
  if (test.is_sparse && test.num_features() < loaded.train.num_features()) {
    test.sparse.conservativeResize(test.sparse.rows(), static_cast<Eigen::Index>(loaded.train.num_features()));
  }
  loaded.test = std::move(test);
  return Status::OK();
}

// --standardize (a table's features, with the training set's statistics) and
// --normalize (an image's channels).
Status ScaleFeatures(const DataOptions& o, DataFormat format, LoadedData& loaded) {
  if (ResolveAutomaticChoices(o, format, &loaded.train, loaded)) {
    const bool center = loaded.bias != 0.0 || o.labels == LabelTask::kClasses;
    // A LIBSVM file of mostly non-zeros is a dense table written sparsely:
    // stored dense, it can be centred (a sparse one is only scaled).
    if (center && loaded.train.is_sparse && StoredDense(loaded.train)) {
      MakeDense(loaded.train);
      if (loaded.test) MakeDense(*loaded.test);
    }
    auto scaling = std::make_shared<FeatureScaling>(FeatureStatistics(loaded.train, center));
    ApplyScaling(loaded.train, *scaling);
    if (loaded.test) ApplyScaling(*loaded.test, *scaling);
    loaded.scaling = std::move(scaling);
  }
  if (!o.normalize) return Status::OK();
  if (loaded.train.image_shape.empty())
    return Status::InvalidArgument(
        "--normalize needs image data (IDX, CIFAR-10, or tensors of shape [n, H, W] or [n, C, H, W]); "
        "tables (LIBSVM, CSV, .npy) take --standardize");
  std::vector<double> mean, stddev;
  ChannelStatistics(loaded.train, &mean, &stddev);
  CRPSGD_RETURN_IF_ERROR(NormalizeChannels(loaded.train, mean, stddev));
  if (loaded.test) CRPSGD_RETURN_IF_ERROR(NormalizeChannels(*loaded.test, mean, stddev));
  return Status::OK();
}

// The labels as the task reads them (±1, class numbers or values), the
// number of classes, and a linear model's bias feature.
Status FinishLabels(const DataOptions& o, DataFormat format, LoadedData& loaded) {
  // Tensor files hold class numbers (or a network's targets) already; a
  // network with its own targets reads any file's labels as they are.
  const bool as_given = o.labels == LabelTask::kClasses && (format == DataFormat::kTensors || o.labels_as_given);
  // Images read with every class (--positive-class -1) for a linear
  // classifier: class numbers, which the classifier must see as classes
  // (multinomial logreg, or a binary problem's message), not as ±1 labels.
  const bool image_classes = o.labels == LabelTask::kBinary && o.positive_class < 0 &&
                             (format == DataFormat::kIdx || format == DataFormat::kCifar10);
  if (o.labels != LabelTask::kRegression && (HasFileLabels(format) || image_classes) && !as_given) {
    CRPSGD_RETURN_IF_ERROR(MapFileLabels(o, loaded.train, loaded.test ? &*loaded.test : nullptr, loaded));
  }
  if (o.labels != LabelTask::kClasses) {
    AppendBiasFeature(loaded.train, loaded.bias);
    if (loaded.test) AppendBiasFeature(*loaded.test, loaded.bias);
    return Status::OK();
  }
  if (format == DataFormat::kSynthetic) {  // its binary labels are ±1: classes 0 and 1
    for (double& y : loaded.train.labels) y = y == -1.0 ? 0.0 : y;
  }
  if (loaded.bias != 0.0) return Status::InvalidArgument("--bias is for linear models; networks have their own");
  if (loaded.class_labels.empty()) {  // as given: the largest class number + 1
    double largest = 0.0;
    for (double y : loaded.train.labels) largest = std::max(largest, y);
    loaded.num_classes = std::max<std::size_t>(2, static_cast<std::size_t>(largest) + 1);
  }
  return Status::OK();
}

}  // namespace

Result<LoadedData> LoadData(const DataOptions& o, std::uint64_t seed, const PartsToRead& parts) {
  if (o.bias && !std::isfinite(*o.bias)) return Status::InvalidArgument("--bias must be a finite number");
  if (o.sharding == Sharding::kByteRange) {
    if (o.standardize.value_or(false)) {
      return Status::InvalidArgument("--standardize needs the whole training set's statistics: --sharding random");
    }
    return LoadParts(o, parts);
  }
  LoadedData loaded;
  CRPSGD_RETURN_IF_ERROR(ReadSets(o, seed, loaded));
  const DataFormat format = ResolveFormat(o.format, o.train);
  CRPSGD_RETURN_IF_ERROR(ScaleFeatures(o, format, loaded));
  CRPSGD_RETURN_IF_ERROR(FinishLabels(o, format, loaded));
  loaded.num_features = loaded.train.num_features();
  loaded.num_train_samples = loaded.train.num_samples();
  return loaded;
}

Status AgreeOnParts(Communicator& comm, const DataOptions& options, Result<LoadedData>& data, bool* print_here) {
  *print_here = false;
  // Each rank's facts, gathered on every rank.
  constexpr std::size_t kSlots = 6;  // failed, status code, and PartFacts
  std::array<double, kSlots> mine{};
  if (!data.ok()) {
    mine[0] = 1.0;
    mine[1] = static_cast<double>(data.status().code());
  } else {
    const PartFacts facts = FactsOf(data->parts.at(comm.rank()));
    mine[2] = static_cast<double>(facts.features);
    mine[3] = static_cast<double>(facts.samples);
    mine[4] = static_cast<double>(facts.test_features);
    mine[5] = static_cast<double>(facts.test_samples);
  }
  CRPSGD_ASSIGN_OR_RETURN(const std::vector<double> all, comm.Allgather(mine, Traffic::kEvaluation));
  std::vector<PartFacts> facts(static_cast<std::size_t>(comm.size()));
  for (int r = 0; r < comm.size(); ++r) {
    const double* slot = all.data() + kSlots * static_cast<std::size_t>(r);
    if (slot[0] != 0.0) {  // the lowest failing rank reports; the others end with its code, silently
      if (r == comm.rank()) {
        *print_here = true;
        return data.status();
      }
      return Status(static_cast<StatusCode>(static_cast<int>(slot[1])),
                    "rank " + std::to_string(r) + " could not read its part of the data");
    }
    facts[static_cast<std::size_t>(r)] = {static_cast<std::size_t>(slot[2]), static_cast<std::size_t>(slot[3]),
                                          static_cast<std::size_t>(slot[4]), static_cast<std::size_t>(slot[5])};
  }
  const Status finished = FinishParts(options, facts, *data);
  *print_here = !finished.ok() && comm.rank() == 0;  // the same verdict on every rank: rank 0 says it
  return finished;
}

Result<WorkerShard> ShardOf(const LoadedData& data, const DataOptions& options, int rank, int workers,
                            std::uint64_t seed) {
  if (data.byte_range()) {
    const auto part = data.parts.find(rank);
    if (part == data.parts.end()) {
      return Status::InvalidArgument("worker " + std::to_string(rank) + "'s byte-range part was not read here");
    }
    return WorkerShard{part->second.train, part->second.test};
  }
  WorkerShard shard;
  shard.train = std::make_shared<const Dataset>(
      SelectRows(data.train, ShardIndices(data.train.num_samples(), rank, workers, seed)));
  if (data.test) {
    if (data.test->num_samples() < static_cast<std::size_t>(workers)) {
      return Status::InvalidArgument(options.test.string() + ": has fewer samples than there are workers");
    }
    shard.test = std::make_shared<const Dataset>(
        SelectRows(*data.test, ShardIndices(data.test->num_samples(), rank, workers, seed)));
  }
  return shard;
}

}  // namespace crpsgd
