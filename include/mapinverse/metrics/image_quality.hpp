#pragma once

#include <cmath>

#include "mapinverse/core/tensor.hpp"
#include "mapinverse/core/error.hpp"
#include "mapinverse/core/tensor_checks.hpp"

namespace mapinverse {

namespace detail {
inline void check_image_pair(const at::Tensor& estimate, const at::Tensor& reference,
                             const char* where) {
  check_floating(estimate, where, "estimate");
  check_floating(reference, where, "reference");
  require(estimate.sizes() == reference.sizes() && estimate.dim() == 4,
          "{}: expected estimate and reference of the same shape [B,C,H,W], got {} and {}", where,
          shape_string(estimate), shape_string(reference));
}
}  // namespace detail

/// Peak signal-to-noise ratio per sample, [B], in dB: 10 log10(range^2 / MSE). Images in
/// the library's [-1, 1] convention have range 2.
at::Tensor psnr(const at::Tensor& estimate, const at::Tensor& reference, double data_range = 2.0);

/// Structural similarity per sample, [B] (Wang et al. 2004): 11x11 Gaussian window with
/// sigma 1.5, K1 = 0.01, K2 = 0.03, computed on the valid region per channel and averaged.
/// `data_range` is the span of the pixel values (2 for [-1, 1]).
at::Tensor ssim(const at::Tensor& estimate, const at::Tensor& reference, double data_range = 2.0);

}  // namespace mapinverse
