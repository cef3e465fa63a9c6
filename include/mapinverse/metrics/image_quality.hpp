#pragma once

#include <cmath>

#include <ATen/ops/arange.h>
#include <ATen/ops/conv2d.h>
#include <ATen/ops/exp.h>
#include <ATen/ops/log10.h>
#include <ATen/ops/outer.h>

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
inline at::Tensor psnr(const at::Tensor& estimate, const at::Tensor& reference,
                          double data_range = 2.0) {
  detail::check_image_pair(estimate, reference, "psnr()");
  const auto mse = (estimate.to(at::kDouble) - reference.to(at::kDouble))
                       .pow(2)
                       .reshape({estimate.size(0), -1})
                       .mean(1);
  return 10.0 * at::log10(data_range * data_range / mse.clamp_min(1e-20));
}

/// Structural similarity per sample, [B] (Wang et al. 2004): 11x11 Gaussian window with
/// sigma 1.5, K1 = 0.01, K2 = 0.03, computed on the valid region per channel and averaged.
/// `data_range` is the span of the pixel values (2 for [-1, 1]).
inline at::Tensor ssim(const at::Tensor& estimate, const at::Tensor& reference,
                          double data_range = 2.0) {
  detail::check_image_pair(estimate, reference, "ssim()");
  constexpr int64_t kWindow = 11;
  detail::require(estimate.size(2) >= kWindow && estimate.size(3) >= kWindow,
                  "ssim(): expected images of at least 11x11 pixels, got {}",
                  shape_string(estimate));
  const auto options = at::TensorOptions().dtype(at::kDouble).device(estimate.device());
  const auto coordinates = at::arange(kWindow, options) - (kWindow - 1) / 2.0;
  auto profile = at::exp(-coordinates.pow(2) / (2.0 * 1.5 * 1.5));
  profile = profile / profile.sum();
  const auto window = at::outer(profile, profile).reshape({1, 1, kWindow, kWindow});
  const int64_t channels = estimate.size(1);
  const auto kernel = window.expand({channels, 1, kWindow, kWindow});
  const auto filter = [&](const at::Tensor& image) {
    const int64_t one[] = {1, 1};
    const int64_t zero[] = {0, 0};
    return at::conv2d(image, kernel, at::Tensor(), one, zero, one, channels);
  };
  const auto x = estimate.to(at::kDouble);
  const auto y = reference.to(at::kDouble);
  const auto mu_x = filter(x);
  const auto mu_y = filter(y);
  const auto var_x = filter(x * x) - mu_x * mu_x;
  const auto var_y = filter(y * y) - mu_y * mu_y;
  const auto cov = filter(x * y) - mu_x * mu_y;
  const double c1 = std::pow(0.01 * data_range, 2);
  const double c2 = std::pow(0.03 * data_range, 2);
  const auto map = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) /
                   ((mu_x * mu_x + mu_y * mu_y + c1) * (var_x + var_y + c2));
  return map.reshape({estimate.size(0), -1}).mean(1);
}

}  // namespace mapinverse
