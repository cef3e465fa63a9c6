#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include <torch/torch.h>

#include "mapinverse/core/random.hpp"

namespace mapinverse::testing {

/// Options of the float64 CPU tensors that reference computations are written in.
inline const torch::TensorOptions kDouble = torch::TensorOptions().dtype(torch::kFloat64);

/// Standard normal tensor of `shape` and `dtype`, fixed by `seed` (drawn on the CPU).
inline torch::Tensor normal(const std::vector<int64_t>& shape, uint64_t seed,
                            torch::ScalarType dtype = torch::kFloat64) {
  auto generator = make_generator(seed);
  return randn(shape, torch::TensorOptions().dtype(dtype), generator);
}

/// Relative distance ||a - b|| / ||b||, with ||b|| floored at 1e-300 so that b = 0 stays finite.
inline double relative_error(const torch::Tensor& a, const torch::Tensor& b) {
  return (a - b).norm().item<double>() / std::max(b.norm().item<double>(), 1e-300);
}

/// Largest absolute entry of a - b.
inline double max_error(const torch::Tensor& a, const torch::Tensor& b) {
  return (a - b).abs().max().item<double>();
}

}  // namespace mapinverse::testing
