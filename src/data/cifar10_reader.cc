// CIFAR-10 binary reader. The file size is checked before anything is read or
// allocated: it must be a whole number of 3073-byte records.
#include <cmath>
#include <fstream>

#include "crpsgd/dataset.h"

namespace crpsgd {
namespace {

constexpr std::size_t kPixels = 3 * 32 * 32;
constexpr std::size_t kRecord = 1 + kPixels;

}  // namespace

Result<std::vector<std::filesystem::path>> Cifar10TrainingFiles(const std::filesystem::path& folder) {
  std::vector<std::filesystem::path> files;
  for (int i = 1; i <= 5; ++i) {
    const auto file = folder / ("data_batch_" + std::to_string(i) + ".bin");
    std::error_code ec;
    if (std::filesystem::exists(file, ec)) files.push_back(file);
  }
  if (files.empty()) return Status::NotFound(folder.string() + ": no data_batch_1.bin ... data_batch_5.bin in it");
  return files;
}

Result<Dataset> ReadCifar10(const std::vector<std::filesystem::path>& files, const Cifar10Options& options) {
  if (files.empty()) return Status::InvalidArgument("ReadCifar10(): no files given");
  if (options.positive_class >= 0 && options.positive_class == options.negative_class) {
    return Status::InvalidArgument("--positive-class and --negative-class must differ");
  }
  std::size_t records = 0;
  for (const auto& file : files) {
    std::error_code ec;
    const std::string name = file.string();
    if (!std::filesystem::exists(file, ec)) return Status::NotFound(name + ": no such file");
    if (std::filesystem::is_directory(file, ec)) {
      return Status::InvalidArgument(name + ": is a directory, expected a CIFAR-10 .bin file");
    }
    const auto size = std::filesystem::file_size(file, ec);
    if (ec) return Status::IOError(name + ": cannot read its size: " + ec.message());
    if (size == 0 || size % kRecord != 0) {
      return Status::Corruption(name + ": size " + std::to_string(size) +
                                " bytes is not a whole number of 3073-byte CIFAR-10 records");
    }
    records += size / kRecord;
  }
  Dataset data;
  data.source = files.front().string();
  data.image_shape = {3, 32, 32};
  data.dense.resize(static_cast<Eigen::Index>(records), static_cast<Eigen::Index>(kPixels));
  data.labels.reserve(records);
  std::vector<unsigned char> record(kRecord);
  Eigen::Index row = 0;
  for (const auto& file : files) {
    std::ifstream in(file, std::ios::binary);
    if (!in) return Status::IOError(file.string() + ": cannot open for reading");
    for (std::size_t k = 0; in.read(reinterpret_cast<char*>(record.data()), kRecord); ++k) {
      const int c = record[0];
      if (c > 9) {
        return Status::Corruption(file.string() + ": record " + std::to_string(k) + " (byte offset " +
                                  std::to_string(k * kRecord) + ") has label " + std::to_string(c) + ", expected 0..9");
      }
      if (options.positive_class >= 0 && options.negative_class >= 0 && c != options.positive_class &&
          c != options.negative_class) {
        continue;
      }
      for (std::size_t p = 0; p < kPixels; ++p)
        data.dense(row, static_cast<Eigen::Index>(p)) = record[1 + p] * options.scale;
      data.labels.push_back(options.positive_class < 0 ? c : (c == options.positive_class ? 1.0 : -1.0));
      ++row;
    }
    if (in.bad()) return Status::IOError(file.string() + ": read error");
  }
  if (row == 0) return Status::InvalidArgument(data.source + ": no sample belongs to the classes asked for");
  data.dense.conservativeResize(row, Eigen::NoChange);
  return data;
}

Status NormalizeChannels(Dataset& data, std::span<const double> mean, std::span<const double> stddev) {
  if (data.image_shape.empty() || data.is_sparse)
    return Status::InvalidArgument("per-channel normalisation needs image data");
  const std::size_t channels = data.image_shape[0];
  if (mean.size() != channels || stddev.size() != channels) {
    return Status::InvalidArgument("per-channel normalisation needs " + std::to_string(channels) +
                                   " means and deviations");
  }
  const std::size_t plane = data.image_shape[1] * data.image_shape[2];
  for (std::size_t c = 0; c < channels; ++c) {  // all checked before anything changes
    if (!(stddev[c] > 1e-12) || !std::isfinite(mean[c])) {
      return Status::InvalidArgument("channel " + std::to_string(c) + " has no variance: cannot normalise it");
    }
  }
  for (std::size_t c = 0; c < channels; ++c) {
    data.dense.middleCols(static_cast<Eigen::Index>(c * plane), static_cast<Eigen::Index>(plane)).array() -= mean[c];
    data.dense.middleCols(static_cast<Eigen::Index>(c * plane), static_cast<Eigen::Index>(plane)).array() /= stddev[c];
  }
  return Status::OK();
}

void ChannelStatistics(const Dataset& data, std::vector<double>* mean, std::vector<double>* stddev) {
  const std::size_t channels = data.image_shape.at(0);
  const std::size_t plane = data.image_shape[1] * data.image_shape[2];
  mean->assign(channels, 0.0);
  stddev->assign(channels, 0.0);
  for (std::size_t c = 0; c < channels; ++c) {
    const auto block = data.dense.middleCols(static_cast<Eigen::Index>(c * plane), static_cast<Eigen::Index>(plane));
    const double m = block.mean();
    (*mean)[c] = m;
    (*stddev)[c] = std::sqrt((block.array() - m).square().mean());
  }
}

}  // namespace crpsgd
