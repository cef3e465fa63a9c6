#pragma once

// The project's own Fashion-MNIST models (models/ in the source tree, installed to
// share/mapinverse/models): where they are and how to load them.

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include <fmt/format.h>
#include <torch/torch.h>

#include "mapinverse/core/error.hpp"
#include "mapinverse/models/classifier.hpp"
#include "mapinverse/models/preconditioning.hpp"
#include "mapinverse/models/unet.hpp"
#include "mapinverse/version.hpp"

namespace mapinverse {

/// File names of the shipped models.
inline constexpr const char* kDenoiserModelFile = "fmnist_edm_denoiser.pt";
inline constexpr const char* kConsistencyModelFile = "fmnist_consistency.pt";
inline constexpr const char* kClassifierModelFile = "fmnist_classifier.pt";
inline constexpr const char* kMixtureModelFile = "fmnist_gmm.pt";

/// The folder holding the shipped models: $MAPINVERSE_MODELS when set, otherwise the
/// folder recorded at configure time (the source tree's models/ in a build tree,
/// <prefix>/share/mapinverse/models once installed).
inline std::filesystem::path model_directory() {
  if (const char* folder = std::getenv("MAPINVERSE_MODELS"); folder != nullptr && *folder) {
    return folder;
  }
  return kModelDirectory;
}

/// model_directory() / file, checked to exist.
inline std::filesystem::path shipped_model_path(const std::string& file) {
  const auto path = model_directory() / file;
  detail::require(std::filesystem::is_regular_file(path),
                  "shipped model {} not found (looked in {}; set MAPINVERSE_MODELS to the "
                  "folder that holds it)",
                  file, model_directory().string());
  return path;
}

namespace detail {

/// torch::load with an error that names the file and what was expected in it.
template <typename Module>
void load_module(Module& module, const std::filesystem::path& path, const char* what,
                 const torch::Device& device) {
  require(std::filesystem::is_regular_file(path), "{} {}: no such file", what, path.string());
  try {
    torch::load(module, path.string());
  } catch (const c10::Error& error) {
    throw std::invalid_argument(fmt::format("{} {}: cannot be read as {} weights ({})", what,
                                            path.string(), what,
                                            error.what_without_backtrace()));
  }
  module->to(device);
  module->eval();
  // Inference only: the solvers differentiate with respect to images, never weights.
  for (auto& parameter : module->parameters()) parameter.requires_grad_(false);
}

inline UNet load_unet(const std::filesystem::path& path, const char* what,
                      const torch::Device& device, const UNetOptions& options) {
  UNet unet(options);
  load_module(unet, path, what, device);
  return unet;
}

}  // namespace detail

/// A U-Net trained by examples/training/train_denoiser, with EDM preconditioning.
inline std::shared_ptr<const EdmDenoiser> load_unet_denoiser(
    const std::filesystem::path& path, const torch::Device& device = torch::kCPU,
    const UNetOptions& options = UNetOptions{}) {
  const auto unet = detail::load_unet(path, "U-Net denoiser", device, options);
  return std::make_shared<EdmDenoiser>(std::make_shared<UNetNetwork>(unet));
}

/// A U-Net trained by examples/training/train_consistency, with the boundary
/// parameterisation C(x, eps) = x.
inline std::shared_ptr<const BoundaryConsistency> load_unet_consistency(
    const std::filesystem::path& path, const torch::Device& device = torch::kCPU,
    const UNetOptions& options = UNetOptions{}) {
  const auto unet = detail::load_unet(path, "U-Net consistency model", device, options);
  return std::make_shared<BoundaryConsistency>(std::make_shared<UNetNetwork>(unet));
}

/// The classifier trained by examples/training/train_classifier.
inline FashionClassifier load_classifier(const std::filesystem::path& path,
                                         const torch::Device& device = torch::kCPU) {
  FashionClassifier classifier;
  detail::load_module(classifier, path, "Fashion-MNIST classifier", device);
  return classifier;
}

}  // namespace mapinverse
