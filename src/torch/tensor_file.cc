// --format tensors: a torch.save file of {'x': X, 'y': y}.
#include <fstream>
#include <iterator>

#include <torch/torch.h>

#include "crpsgd/torch.h"
#include "torch/script_module.h"

namespace crpsgd {

Result<Dataset> ReadTensorFile(const std::filesystem::path& path) {
  const std::string name = path.string();
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound(name + ": no such file");
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string how = " (--format tensors: torch.save({'x': X, 'y': y}, FILE) in PyTorch 1.6 or later)";
  c10::IValue value;
  try {
    value = torch::pickle_load(bytes);
  } catch (const c10::Error& e) {
    // LibTorch reads the zip format torch.save writes since 1.6, not the legacy
    // one (_use_new_zipfile_serialization=False), and only dictionaries of
    // two or more entries.
    return Status::InvalidArgument(name + ": LibTorch cannot read it as a tensors file" + how +
                                   "; the legacy format and one-entry dictionaries are not readable");
  }
  if (!value.isGenericDict()) return Status::InvalidArgument(name + ": holds no dictionary" + how);
  const c10::impl::GenericDict dict = value.toGenericDict();
  auto get = [&](const char* key) -> Result<torch::Tensor> {
    for (const auto& entry : dict) {
      if (entry.key().isString() && entry.key().toStringRef() == key) {
        if (!entry.value().isTensor()) return Status::InvalidArgument(name + ": '" + key + "' is not a tensor" + how);
        return entry.value().toTensor();
      }
    }
    return Status::InvalidArgument(name + ": has no '" + key + "' entry" + how);
  };
  CRPSGD_ASSIGN_OR_RETURN(torch::Tensor x, get("x"));
  CRPSGD_ASSIGN_OR_RETURN(torch::Tensor y, get("y"));
  if (x.dim() < 2 || x.dim() > 4) {
    return Status::InvalidArgument(name + ": x has shape " + internal::ShapeText(x) +
                                   "; expected [n, features], [n, height, width] or [n, channels, height, width]");
  }
  if (x.scalar_type() != torch::kFloat32 && x.scalar_type() != torch::kUInt8 && x.scalar_type() != torch::kFloat64) {
    return Status::InvalidArgument(name + ": x is " + std::string(c10::toString(x.scalar_type())) +
                                   "; expected float32 or uint8");
  }
  if (y.dim() != 1 || y.size(0) != x.size(0)) {
    return Status::InvalidArgument(name + ": y has shape " + internal::ShapeText(y) + ", x " + internal::ShapeText(x) +
                                   ": y must be [n], one label or target per sample of x");
  }
  if (!y.is_floating_point() && y.scalar_type() != torch::kInt64 && y.scalar_type() != torch::kInt32) {
    return Status::InvalidArgument(name + ": y is " + std::string(c10::toString(y.scalar_type())) +
                                   "; expected int64 class numbers or float targets");
  }
  if (x.size(0) == 0) return Status::InvalidArgument(name + ": holds no sample");
  Dataset data;
  data.source = name;
  const std::int64_t n = x.size(0);
  const torch::Tensor flat = x.reshape({n, -1}).to(torch::kFloat64).contiguous();
  if (!torch::isfinite(flat).all().item<bool>()) return Status::InvalidArgument(name + ": x has a NaN or infinity");
  ResizeDense(data, static_cast<std::size_t>(n), static_cast<std::size_t>(flat.size(1)));
  std::copy_n(flat.data_ptr<double>(), flat.numel(), data.dense.data());
  if (x.dim() == 3) data.image_shape = {1, static_cast<std::size_t>(x.size(1)), static_cast<std::size_t>(x.size(2))};
  if (x.dim() == 4) {
    data.image_shape = {static_cast<std::size_t>(x.size(1)), static_cast<std::size_t>(x.size(2)),
                        static_cast<std::size_t>(x.size(3))};
  }
  const torch::Tensor labels = y.to(torch::kFloat64).contiguous();
  if (!torch::isfinite(labels).all().item<bool>()) return Status::InvalidArgument(name + ": y has a NaN or infinity");
  data.labels.assign(labels.data_ptr<double>(), labels.data_ptr<double>() + labels.numel());
  return data;
}

}  // namespace crpsgd
