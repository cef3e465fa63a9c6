#include "models/module_weights.hpp"

#include <torch/torch.h>

#include "mapinverse/core/error.hpp"

namespace mapinverse::detail {

void load_weights(torch::nn::Module& module, const std::filesystem::path& path, const char* what,
                  const torch::Device& device) {
  require(std::filesystem::is_regular_file(path), "{} {}: no such file", what, path.string());
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(path.string());
    module.load(archive);
  } catch (const c10::Error& error) {
    throw std::invalid_argument(fmt::format("{} {}: cannot be read as {} weights ({})", what,
                                            path.string(), what, error.what_without_backtrace()));
  }
  // A file that holds NaN or Inf would only show as a NaN many steps into a solve.
  for (const auto& tensors : {module.named_parameters(), module.named_buffers()}) {
    for (const auto& item : tensors) {
      const auto& value = item.value();
      if (!value.is_floating_point()) continue;
      require(torch::isfinite(value).all().item<bool>(),
              "{} {}: the weight {} holds NaN or infinite values", what, path.string(), item.key());
    }
  }
  module.to(device);
  module.eval();
  for (auto& parameter : module.parameters()) parameter.requires_grad_(false);
}

}  // namespace mapinverse::detail
