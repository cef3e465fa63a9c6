#pragma once

#include <filesystem>

#include <torch/nn/module.h>

namespace mapinverse::detail {

/// Loads weights saved by torch::save into `module`, moves it to `device`, puts it in
/// eval mode and freezes its parameters (the solvers differentiate with respect to
/// images, never weights). Errors name the file and `what` was expected in it; a weight
/// holding NaN or Inf is refused, naming the weight.
void load_weights(torch::nn::Module& module, const std::filesystem::path& path, const char* what,
                  const torch::Device& device);

}  // namespace mapinverse::detail
