#include <torch/torch.h>

#include "mapinverse/models/pretrained.hpp"

#include "mapinverse/models/unet.hpp"

namespace mapinverse {

std::shared_ptr<const EdmDenoiser> load_unet_denoiser(const std::filesystem::path& path,
                                                      const at::Device& device,
                                                      const UNetOptions& options) {
  const auto unet = load_unet(path, device, options, "U-Net denoiser");
  return std::make_shared<EdmDenoiser>(std::make_shared<UNetNetwork>(unet));
}

std::shared_ptr<const BoundaryConsistency> load_unet_consistency(const std::filesystem::path& path,
                                                                 const at::Device& device,
                                                                 const UNetOptions& options) {
  const auto unet = load_unet(path, device, options, "U-Net consistency model");
  return std::make_shared<BoundaryConsistency>(std::make_shared<UNetNetwork>(unet));
}

}  // namespace mapinverse
