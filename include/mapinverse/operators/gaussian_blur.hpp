#pragma once

#include <cmath>
#include <cstdint>
#include <functional>
#include <string>

#include <fmt/format.h>

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
      require(std::isfinite(sigma_pixels) && sigma_pixels > 0.0,
              "GaussianBlur::Options::sigma_pixels = {}. Violated constraint: "
              "sigma_pixels > 0",
              sigma_pixels);
      require(kernel_size == 0 || (kernel_size >= 1 && kernel_size % 2 == 1),
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
    return filter(y, "adjoint()", "y", [](const at::Tensor& spectrum) { return spectrum.conj(); });
  }

  at::Tensor gram(const at::Tensor& y) const override {
    return filter(y, "gram()", "y",
                  [](const at::Tensor& spectrum) { return spectrum.abs().square(); });
  }

  /// irfft2(rfft2(r) / (a + b |K^|^2)); with a = 0, frequencies with |K^| <= 1e-3 max |K^|
  /// (kSingularValueCutoff) are taken as outside range(H) and give 0.
  at::Tensor solve_gram(const at::Tensor& r, double a, double b) const override;

  std::string name() const override { return "GaussianBlur"; }

  /// Closed form in the unitary 2-D Fourier basis: V^T = U^T = fft2 (orthonormal),
  /// S = |K^| (the kernel's DFT on the image grid), singular values below
  /// kSingularValueCutoff * max |K^| counted as 0. `like` is an image [B,C,H,W].
  std::shared_ptr<const SpectralDecomposition> spectral_decomposition(
      const at::Tensor& like) const override;

  /// Relative cut-off of spectral_decomposition(): |K^| <= 1e-3 max |K^| is 0.
  static constexpr double kSingularValueCutoff = 1e-3;

  /// The normalised kernel, [k,k] float64 on the CPU, centred at (k/2, k/2).
  const at::Tensor& kernel() const { return kernel_; }
  const Options& options() const { return options_; }

  /// rfft2 of the kernel wrapped onto a height x width grid with its centre at
  /// (0, 0): [height, width/2 + 1], complex, in `options`' dtype and device.
  at::Tensor spectrum(int64_t height, int64_t width, const at::TensorOptions& options) const;

 private:
  static at::Tensor make_kernel(const Options& options);

  /// The kernel wrapped onto a height x width grid with its centre at (0, 0), float64.
  at::Tensor wrapped_kernel(int64_t height, int64_t width) const;

  /// irfft2(rfft2(x) * multiplier(K^)) after checking that x is [B,C,H,W].
  at::Tensor filter(const at::Tensor& x, const char* method, const char* name,
                    const std::function<at::Tensor(const at::Tensor&)>& multiplier) const;

  Options options_;
  at::Tensor kernel_;
  detail::PlacementCache cache_;
};

}  // namespace mapinverse
