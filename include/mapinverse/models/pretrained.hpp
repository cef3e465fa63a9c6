#pragma once

// The project's own Fashion-MNIST models (models/ in the source tree, installed to
// share/mapinverse/models): where they are and how to load them.

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "mapinverse/core/tensor.hpp"

#include "mapinverse/core/error.hpp"
#include "mapinverse/models/preconditioning.hpp"
#include "mapinverse/models/unet_options.hpp"
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
  require(std::filesystem::is_regular_file(path),
          "shipped model {} not found (looked in {}; set MAPINVERSE_MODELS to the "
          "folder that holds it)",
          file, model_directory().string());
  return path;
}

/// A U-Net trained by training/train_denoiser, with EDM preconditioning, in eval mode
/// on `device` with frozen weights.
std::shared_ptr<const EdmDenoiser> load_unet_denoiser(const std::filesystem::path& path,
                                                      const at::Device& device = at::kCPU,
                                                      const UNetOptions& options = UNetOptions{});

/// A U-Net trained by training/train_consistency, with the boundary parameterisation
/// C(x, eps) = x.
std::shared_ptr<const BoundaryConsistency> load_unet_consistency(
    const std::filesystem::path& path, const at::Device& device = at::kCPU,
    const UNetOptions& options = UNetOptions{});

}  // namespace mapinverse
