#pragma once

#include <cmath>
#include <cstdint>
#include <string>

#include <fmt/format.h>

#include <ATen/ops/arange.h>
#include <ATen/ops/fft_irfft2.h>
#include <ATen/ops/fft_rfft2.h>
#include <ATen/ops/exp.h>
#include <ATen/ops/outer.h>
#include <ATen/ops/zeros.h>

#include "mapinverse/core/tensor.hpp"
#include "mapinverse/core/error.hpp"
#include "mapinverse/core/tensor_checks.hpp"
#include "mapinverse/operators/forward_operator.hpp"
#include "mapinverse/operators/placement_cache.hpp"

namespace mapinverse {

/// Deblurring: circular convolution of each channel with a normalised Gaussian
/// kernel, H x = irfft2(rfft2(x) K^), computed by FFT on the image size. The
/// adjoint is the circular correlation (conjugate spectrum), and H H^T is diagonal in
/// the Fourier basis, so solve_gram(r, a, b) = irfft2(rfft2(r) / (a + b |K^|^2)).
class GaussianBlur : public LinearOperator {
 public:
  struct Options {
    /// Standard deviation of the Gaussian, in pixels.
    double sigma_pixels = 1.0;
    /// Side of the square kernel, odd; 0 derives 2 ceil(3 sigma_pixels) + 1. A kernel
    /// larger than the image wraps around, as circular convolution does.
    int64_t kernel_size = 0;

    void validate() const {
      detail::require(std::isfinite(sigma_pixels) && sigma_pixels > 0.0,
                      "GaussianBlur::Options::sigma_pixels = {}. Violated constraint: "
                      "sigma_pixels > 0",
                      sigma_pixels);
      detail::require(kernel_size == 0 || (kernel_size >= 1 && kernel_size % 2 == 1),
                      "GaussianBlur::Options::kernel_size = {}. Violated constraint: kernel_size "
                      "is 0 (derived from sigma_pixels) or odd and >= 1",
                      kernel_size);
    }
  };

  explicit GaussianBlur(const Options& options)
      : options_(options), kernel_(make_kernel(options_)) {}

  at::Tensor apply(const at::Tensor& x) const override {
    return filter(x, "apply()", "x", [](const at::Tensor& spectrum) { return spectrum; });
  }

  at::Tensor adjoint(const at::Tensor& y) const override {
    return filter(y, "adjoint()", "y",
                  [](const at::Tensor& spectrum) { return spectrum.conj(); });
  }

  at::Tensor gram(const at::Tensor& y) const override {
    return filter(y, "gram()", "y",
                  [](const at::Tensor& spectrum) { return spectrum.abs().square(); });
  }

  at::Tensor solve_gram(const at::Tensor& r, double a, double b) const override {
    check_gram_coefficients(a, b, "GaussianBlur::solve_gram()");
    return filter(r, "solve_gram()", "r", [a, b](const at::Tensor& spectrum) {
      return (a + b * spectrum.abs().square()).reciprocal();
    });
  }

  std::string name() const override { return "GaussianBlur"; }

  /// The normalised kernel, [k,k] float64 on the CPU, centred at (k/2, k/2).
  const at::Tensor& kernel() const { return kernel_; }
  const Options& options() const { return options_; }

  /// rfft2 of the kernel wrapped onto a height x width grid with its centre at
  /// (0, 0): [height, width/2 + 1], complex, in `options`' dtype and device.
  at::Tensor spectrum(int64_t height, int64_t width, const at::TensorOptions& options) const {
    return cache_.get({options.device(), options.dtype().toScalarType(), {height, width}}, [&] {
      // Wrapped and transformed in float64 on the CPU, then converted once.
      auto wrapped = at::zeros({height, width}, at::kDouble);
      const int64_t size = kernel_.size(0);
      const int64_t centre = size / 2;
      auto grid = wrapped.accessor<double, 2>();
      const auto weights = kernel_.accessor<double, 2>();
      for (int64_t i = 0; i < size; ++i) {
        for (int64_t j = 0; j < size; ++j) {
          const int64_t row = ((i - centre) % height + height) % height;
          const int64_t column = ((j - centre) % width + width) % width;
          grid[row][column] += weights[i][j];
        }
      }
      const auto complex_type = c10::toComplexType(options.dtype().toScalarType());
      return at::fft_rfft2(wrapped).to(options.device(), complex_type);
    });
  }

 private:
  static at::Tensor make_kernel(const Options& options) {
    options.validate();
    const int64_t size = options.kernel_size > 0
                             ? options.kernel_size
                             : 2 * static_cast<int64_t>(std::ceil(3.0 * options.sigma_pixels)) + 1;
    const auto offsets = at::arange(size, at::kDouble) - static_cast<double>(size / 2);
    const auto profile =
        at::exp(-offsets.square() / (2.0 * options.sigma_pixels * options.sigma_pixels));
    const auto kernel = at::outer(profile, profile);
    return (kernel / kernel.sum()).contiguous();
  }

  /// irfft2(rfft2(x) * multiplier(K^)) after checking that x is [B,C,H,W].
  template <typename Multiplier>
  at::Tensor filter(const at::Tensor& x, const char* method, const char* name,
                       Multiplier&& multiplier) const {
    const auto where = fmt::format("GaussianBlur::{}", method);
    detail::check_floating(x, where.c_str(), name);
    detail::require(x.dim() == 4, "{}: expected {} of shape [B,C,H,W], got {}", where, name,
                    shape_string(x));
    const int64_t height = x.size(2);
    const int64_t width = x.size(3);
    const auto factor = multiplier(spectrum(height, width, x.options()));
    return at::fft_irfft2(at::fft_rfft2(x) * factor, {{height, width}});
  }

  Options options_;
  at::Tensor kernel_;
  detail::PlacementCache cache_;
};

}  // namespace mapinverse
