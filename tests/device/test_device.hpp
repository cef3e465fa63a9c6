#pragma once

#include <cstdlib>
#include <optional>
#include <string>

#include <torch/torch.h>

namespace mapinverse::testing {

/// The device the device tests run on: $MAPINVERSE_TEST_DEVICE (default "cuda"), or none
/// when that is CUDA and no GPU is present.
inline std::optional<torch::Device> test_device() {
  const char* name = std::getenv("MAPINVERSE_TEST_DEVICE");
  const torch::Device device(name != nullptr && *name ? name : "cuda");
  if (device.is_cuda() && !torch::cuda::is_available()) return std::nullopt;
  return device;
}

/// float32 on the device: the tolerances of these tests are float32's.
inline torch::TensorOptions device_float() {
  return torch::TensorOptions().dtype(torch::kFloat32).device(*test_device());
}

}  // namespace mapinverse::testing
