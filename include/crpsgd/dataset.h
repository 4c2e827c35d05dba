// Dataset: a plain value holding samples (rows) and their labels.
//
// Features are either dense (row-major Eigen matrix) or sparse (row-major
// Eigen CSR matrix, as read from LIBSVM files); exactly one is used. Readers
// are free functions that return a Dataset or a Status naming the file and,
// for text formats, the line. Thread safety: a const Dataset may be shared.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include <Eigen/Core>
#include <Eigen/SparseCore>

#include "crpsgd/status.h"

namespace crpsgd {

using DenseMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using SparseMatrix = Eigen::SparseMatrix<double, Eigen::RowMajor, std::int64_t>;

struct Dataset {
  Dataset() = default;
  Dataset(const Dataset&) = default;
  Dataset& operator=(const Dataset&) = default;
  // Eigen 3.4's SparseMatrix has no move constructor, so a default move of a
  // Dataset would copy the CSR arrays (for a GB-sized shard: twice the memory
  // and seconds, at every return through a Result). These swap them instead.
  Dataset(Dataset&& other) noexcept;
  Dataset& operator=(Dataset&& other) noexcept;

  bool is_sparse = false;
  DenseMatrix dense;           // [samples x features], when !is_sparse
  SparseMatrix sparse;         // [samples x features], when is_sparse
  std::vector<double> labels;  // [samples]; ±1 for binary tasks, class numbers, or any real for regression
  std::string source;          // where it came from, for messages
  // Images: the shape of one sample, [channels, height, width], with each row
  // of `dense` stored channel by channel, row by row. Empty for other data.
  std::vector<std::size_t> image_shape;

  std::size_t num_samples() const { return labels.size(); }
  std::size_t num_features() const { return is_sparse ? sparse.cols() : dense.cols(); }
};

// Sizes data.dense to rows x cols (contents unset), on huge pages where the
// system allows: gradients read rows at random, and 2 MiB pages spare them a
// TLB miss per row.
void ResizeDense(Dataset& data, std::size_t rows, std::size_t cols);

// The rows `rows` of `data`, in that order (a shard, a test subset).
Dataset SelectRows(const Dataset& data, std::span<const std::size_t> rows);

// Appends a constant feature of value `bias` to every sample (an intercept, as
// LIBLINEAR's -B). No-op when bias == 0.
void AppendBiasFeature(Dataset& data, double bias);

// ---- LIBSVM / SVMlight text ------------------------------------------------
enum class LabelKind {
  kBinary,      // labels must be +1/-1 or 1/0; stored as ±1
  kRegression,  // any finite number
};

struct LibsvmOptions {
  LabelKind labels = LabelKind::kBinary;
  // Number of features; 0 = the largest index seen. A larger index is an error.
  std::size_t num_features = 0;
};

// One of `count` near-equal byte ranges of a file: part k holds the lines that
// start in bytes [k·S/count, (k+1)·S/count) of the S-byte file. The parts of
// k = 0..count−1 hold every line exactly once, in file order.
struct FilePart {
  int index = 0;
  int count = 1;
};

// "label idx:val idx:val ... # comment", indices 1-based and increasing.
// Blank lines and lines starting with '#' are skipped. With a part, only that
// part's bytes are read (a worker holds 1/count of the file, not all of it); a
// part may hold no sample, the whole file may not. Without num_features the
// width is the largest index in what was read. Errors name the line's number
// in the whole file.
Result<Dataset> ReadLibsvm(const std::filesystem::path& path, const LibsvmOptions& options = {}, FilePart part = {});

// ---- Tables: CSV / TSV text (plain or gzip), NumPy .npy ---------------------
// One sample a row, its label in one column and its features in the others.
struct TableOptions {
  // The label column: a 0-based index ("0", the default: the first), a
  // negative one counting from the end ("-1": the last), or a header's name.
  std::string label_column = "0";
};

// Comma- (or, when the first row has tabs, tab-) separated numbers; a first
// row that is not all numbers is the header (its names may pick the label
// column). Blank lines and lines starting with '#' are skipped. Every row
// has the header's number of fields; an empty or non-numeric field is an
// error naming the line and column (missing values are not filled in).
Result<Dataset> ReadCsv(const std::filesystem::path& path, const TableOptions& options = {});

// A NumPy array file: one 2-D array [samples, columns] of float64/32, or of
// (unsigned) integers of 1 to 8 bytes, little-endian, C or Fortran order.
Result<Dataset> ReadNpy(const std::filesystem::path& path, const TableOptions& options = {});

// A NumPy .npz archive (np.savez or np.savez_compressed) of arrays x
// ([samples, features], or images [n, H, W] / [n, C, H, W]) and y ([samples]).
Result<Dataset> ReadNpz(const std::filesystem::path& path);

// ---- IDX (MNIST / Fashion-MNIST), plain or gzip ----------------------------
struct IdxOptions {
  double scale = 1.0 / 255.0;  // pixel bytes are multiplied by this
  // Binary task: samples of positive_class get label +1. If negative_class is
  // >= 0 only samples of the two classes are kept (a against b); otherwise all
  // other classes get -1 (one against the rest). positive_class < 0 keeps the
  // raw class numbers as labels (for regression or multi-class use).
  int positive_class = 0;
  int negative_class = -1;
};

Result<Dataset> ReadIdx(const std::filesystem::path& images, const std::filesystem::path& labels,
                        const IdxOptions& options = {});

// The labels file that belongs to an images file, by the usual naming
// ("train-images-idx3-ubyte.gz" -> "train-labels-idx1-ubyte.gz"); empty if the
// name does not follow it.
std::filesystem::path IdxLabelsPathFor(const std::filesystem::path& images);

// ---- CIFAR-10 binary -------------------------------------------------------
// Records of 1 label byte (0..9) and 3072 pixel bytes (1024 red, 1024 green,
// 1024 blue, each 32x32 row-major), as in data_batch_1.bin ... test_batch.bin.
struct Cifar10Options {
  double scale = 1.0 / 255.0;  // pixel bytes are multiplied by this
  // As IdxOptions: positive_class < 0 keeps the class numbers 0..9 as labels.
  int positive_class = -1;
  int negative_class = -1;
};

// Reads and concatenates the files, in the order given.
Result<Dataset> ReadCifar10(const std::vector<std::filesystem::path>& files, const Cifar10Options& options = {});

// The training files of a CIFAR-10 folder: data_batch_1.bin ... data_batch_5.bin,
// those that exist (at least one), or NotFound.
Result<std::vector<std::filesystem::path>> Cifar10TrainingFiles(const std::filesystem::path& folder);

// ---- Image helpers -----------------------------------------------------------
// Per-channel normalisation: every pixel of channel c becomes (v − mean_c)/std_c
// with the means and standard deviations given (one per channel).
Status NormalizeChannels(Dataset& data, std::span<const double> mean, std::span<const double> stddev);
// The per-channel mean and standard deviation of an image data set.
void ChannelStatistics(const Dataset& data, std::vector<double>* mean, std::vector<double>* stddev);

// ---- Tabular standardisation (--standardize) -------------------------------
// Feature j becomes (v − mean_j) / scale_j. Sparse data and models without an
// intercept keep mean 0: sparsity stays, and a linear model trained on the
// scaled features is still exactly a linear model of the raw ones.
struct FeatureScaling {
  std::vector<double> mean, scale;
};
// The training data's statistics: scale is each feature's standard deviation
// (zeros of sparse rows included; 1 for a constant feature); mean is its mean
// when `center`, else 0.
FeatureScaling FeatureStatistics(const Dataset& data, bool center);
// Stores sparse data dense (no-op for dense data).
void MakeDense(Dataset& data);
// Scales `data` in place; its width must be the statistics'. Sparse data must have mean 0.
void ApplyScaling(Dataset& data, const FeatureScaling& scaling);
// The weights of a linear model trained on scaled features, for the raw ones:
// x holds `columns` weights per feature, the scaled features' first, then
// (bias != 0) those of the bias feature of value `bias`. w_j/scale_j, and the
// shift Σ_j w_j mean_j/scale_j moved into the bias weight.
std::vector<double> UnscaleWeights(std::span<const double> x, const FeatureScaling& scaling, std::size_t columns,
                                   double bias);

// ---- Synthetic -------------------------------------------------------------
enum class SyntheticTask { kRegression, kBinary };

struct SyntheticOptions {
  SyntheticTask task = SyntheticTask::kRegression;
  std::size_t samples = 10000;
  std::size_t features = 50;
  double noise = 0.5;  // std. dev. of the label noise (regression) / logit noise (binary)
  // κ >= 1: feature j has variance κ^(−j/(d−1)), from 1 down to 1/κ, so the
  // Hessian of least squares has condition number close to κ. 1 = isotropic.
  double condition_number = 1.0;
  std::uint64_t seed = 1;
};

// Gaussian features a_i ~ N(0, D) with D = diag(κ^(−j/(d−1))) (I when κ = 1);
// a hidden x_true ~ N(0, I/d).
// Regression: b_i = a_i·x_true + noise·N(0,1). Binary: sign(a_i·x_true + noise·N(0,1)).
// The same options give the same data on every machine.
Result<Dataset> MakeSynthetic(const SyntheticOptions& options);

// ---- Shards ----------------------------------------------------------------
// The sample indices of worker `rank` of `size`: a seeded random partition of
// 0..n-1 into near-equal parts (sizes differ by at most one). Pure.
std::vector<std::size_t> ShardIndices(std::size_t n, int rank, int size, std::uint64_t seed);

}  // namespace crpsgd
