#pragma once

#include <cstdint>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

namespace mapinverse {

/// A CPU generator seeded with `seed`. All randomness in the library is drawn on
/// the CPU from such a generator and then moved to the target device, so a seed
/// gives the same numbers on every device.
inline torch::Generator make_generator(uint64_t seed) {
  return at::detail::createCPUGenerator(seed);
}

/// Standard normal noise with the shape, dtype and device of `like`.
inline torch::Tensor randn_like(const torch::Tensor& like, torch::Generator& generator) {
  auto noise = torch::randn(like.sizes(), generator,
                            torch::TensorOptions().dtype(like.scalar_type()).device(torch::kCPU));
  return noise.to(like.device());
}

/// Standard normal noise of the given shape and options.
inline torch::Tensor randn(torch::IntArrayRef sizes, const torch::TensorOptions& options,
                           torch::Generator& generator) {
  auto noise = torch::randn(sizes, generator, options.device(torch::kCPU));
  return noise.to(options.device());
}

}  // namespace mapinverse
