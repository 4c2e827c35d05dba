// The data of a training job: read (or generated) once, then each worker's shard.
//
//   crpsgd::DataOptions options;
//   options.train = "train.svm";
//   auto data = crpsgd::LoadData(options, seed, crpsgd::PartsToRead::All(workers));
//   ...
//   auto shard = crpsgd::ShardOf(*data, options, comm.rank(), comm.size(), seed);
//
// Two ways to shard. kRandom reads the whole file on every process and gives
// each worker a seeded random partition of it (ShardIndices). kByteRange
// (LIBSVM only) reads worker k's byte range of the file and nothing else, so
// no process ever holds the whole file; under MPI the ranks then agree on the
// model's width and on whether every part was read (AgreeOnParts).
//
// Errors name the file and, where a setting is at fault, the crpsgd flag of
// that setting (--data, --labels, --format, ...), as the tool prints them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crpsgd/communicator.h"
#include "crpsgd/dataset.h"
#include "crpsgd/status.h"

namespace crpsgd {

enum class DataFormat {
  kAuto,  // from the content (gzip looked into) and the name: DetectFormat
  kLibsvm,
  kIdx,
  kCifar10,
  kSynthetic,  // generated (SyntheticOptions); no file
  kTensors,    // torch.save({'x': X, 'y': y}): read by DataOptions::read_tensors (auto: *.pt, *.pth)
  kCsv,        // comma- or tab-separated numbers (ReadCsv), plain or gzip
  kNpy,        // a NumPy 2-D array (ReadNpy)
  kNpz,        // a NumPy archive of arrays x and y (ReadNpz)
};
// "auto", "libsvm", "idx", "cifar10", "synthetic", "tensors", "csv", "npy", "npz"
const char* DataFormatName(DataFormat format);
Result<DataFormat> ParseDataFormat(std::string_view name);
// --format auto: *.pt/*.pth tensors, "idx" in the name or IDX's magic bytes
// IDX, a folder or *.bin CIFAR-10, NumPy's magic .npy, a zip archive .npz; text (plain or gzip)
// is CSV when its first data line has a comma (or tabs and no colon), else LIBSVM.
DataFormat DetectFormat(const std::filesystem::path& path);

enum class Sharding {
  kRandom,     // every process reads all; worker k keeps its seeded share
  kByteRange,  // worker k reads the k-th byte range of a LIBSVM file only
};
const char* ShardingName(Sharding sharding);  // "random", "byte-range"
Result<Sharding> ParseSharding(std::string_view name);

// What a label is to the objective that will read it. A file's labels (LIBSVM,
// tensors) are never changed silently: labels that are all +1/−1/1/0, or of
// two values only, are binary (the larger one, or 1, is the positive class);
// more values are classes 0..K−1 in the order of the values, and the data's
// own labels stay in LoadedData::class_labels. Anything else is refused,
// naming the sample and its label.
enum class LabelTask {
  kBinary,      // ±1: a file's two labels (+1 the larger); images: positive_class against the others
  kRegression,  // any real number (LIBSVM)
  kClasses,     // class numbers 0..C−1 (networks): images and tensor files keep theirs, a file's K labels
                // become 0..K−1 in their order (its ±1: 0 and 1)
};

struct DataOptions {
  std::filesystem::path train;         // --data; empty with kSynthetic
  std::filesystem::path test;          // --test-data; empty = no test set
  std::filesystem::path train_labels;  // --labels (IDX); empty = derived from the images file's name
  std::filesystem::path test_labels;   // --test-labels (IDX); likewise
  DataFormat format = DataFormat::kAuto;
  LabelTask labels = LabelTask::kBinary;
  int positive_class = 0;   // kBinary from images: this class is +1
  int negative_class = -1;  // and this one −1 (the others dropped); < 0: every other class
  // kBinary: a file of more than two labels becomes classes 0..K−1 (a
  // multinomial model: logreg) instead of an error.
  bool multiclass = false;
  // kClasses: the labels are the loss's own targets (a network trained with
  // mse or its own loss): read as given, never renamed into classes.
  bool labels_as_given = false;
  TableOptions table;  // CSV and .npy: which column holds the label (--label-column)
  // A constant feature appended to every sample (0: none). nullopt (crpsgd
  // train's default, --bias auto): 1 where the features are standardized
  // automatically or the problem is least squares (kRegression) on a table
  // file, else none (LIBLINEAR's default). LoadedData::bias says which.
  std::optional<double> bias = 0.0;
  bool normalize = false;  // images: channels to mean 0, std 1 (training set statistics)
  // Tables: each feature to std 1, and to mean 0 when dense with an intercept
  // (bias) or for a network (FeatureStatistics of the training set, applied to
  // the test set too). A LIBSVM file of ≥ 50% non-zeros is then stored dense.
  // nullopt (crpsgd train's default, --standardize auto): on for a linear
  // model's dense table (LIBSVM, CSV, NumPy) with a feature outside [−1, 1]
  // (not scaled, as svm-scale writes) or a least-squares target, where one
  // step size 1/L would otherwise crawl along the small features.
  std::optional<bool> standardize = false;
  Sharding sharding = Sharding::kRandom;
  SyntheticOptions synthetic;  // kSynthetic; its seed is LoadData's (task from `labels`)
  // kTensors: the reader of tensor files, crpsgd::ReadTensorFile of the torch
  // target (crpsgd/torch.h); null in a program without LibTorch.
  std::function<Result<Dataset>(const std::filesystem::path&)> read_tensors;
};

// Which byte-range parts a process reads (kByteRange): those of `ranks`, out
// of `workers`. In process: all of them; under mpirun: the rank's own.
struct PartsToRead {
  std::vector<int> ranks;
  int workers = 1;
  static PartsToRead All(int workers);
};

struct LoadedData {
  // kRandom: the whole training (and test) set, which every worker shards by
  // seed. kByteRange: empty; `parts` has the data instead.
  Dataset train;
  std::optional<Dataset> test;
  // kByteRange: worker r's own part of the training file (and of the test
  // file), by r, for the workers of this process. Shared with the
  // objectives, never copied.
  struct Part {
    std::shared_ptr<Dataset> train, test;  // test: null without a test file
  };
  std::map<int, Part> parts;
  std::size_t num_features = 0;       // of the model: every worker's data has this width
  std::size_t num_train_samples = 0;  // all workers' together
  std::size_t num_classes = 2;        // classes of the training labels (at least 2)
  // The data's own label of each class, where the loader renamed a file's
  // labels: binary tasks {label of +1, label of −1}; class tasks the labels of
  // classes 0..K−1. Empty where the labels are as stored (images, synthetic).
  std::vector<double> class_labels;
  // --standardize: the training set's statistics, applied to the features
  // before the bias; null without.
  std::shared_ptr<const FeatureScaling> scaling;
  double bias = 0.0;  // the bias feature appended (0: none), --bias auto resolved
  // What --bias auto and --standardize auto chose and why, for the log; empty
  // when they changed nothing.
  std::string automatic_choices;

  // --sampling global: the whole training set every worker of this process
  // samples from, one copy they share (set before the workers start; null:
  // each makes its own).
  std::shared_ptr<const Dataset> whole_train;

  bool byte_range() const { return !parts.empty(); }
};

// Reads (or generates, seeded by `seed`) the training and test data. Every MPI
// rank calls it and gets the same result, so all fail together on bad input.
// With kByteRange only the parts in `parts` are read; when they are not all
// the workers' (under mpirun), AgreeOnParts must follow.
Result<LoadedData> LoadData(const DataOptions& options, std::uint64_t seed, const PartsToRead& parts = {});

// kByteRange under mpirun, after LoadData read this rank's part: the ranks
// agree on the model's width (the largest feature index of any part) and
// check every part (collective; also when this rank's read failed). A part
// that failed ends every rank with the error of the lowest such rank;
// *print_here is true on that rank alone, so the message appears once.
Status AgreeOnParts(Communicator& comm, const DataOptions& options, Result<LoadedData>& data, bool* print_here);

// One worker's training and test samples (test: null without a test set).
struct WorkerShard {
  std::shared_ptr<const Dataset> train, test;
};

// Worker `rank` of `workers`: its byte-range part, or its seeded share of the
// whole set (the same partition for the same seed on every machine).
Result<WorkerShard> ShardOf(const LoadedData& data, const DataOptions& options, int rank, int workers,
                            std::uint64_t seed);

}  // namespace crpsgd
