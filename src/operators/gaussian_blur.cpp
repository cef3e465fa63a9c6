#include "mapinverse/operators/gaussian_blur.hpp"

#include <torch/torch.h>

namespace mapinverse {

at::Tensor GaussianBlur::solve_gram(const at::Tensor& r, double a, double b) const {
  check_gram_coefficients(a, b, "GaussianBlur::solve_gram()");
  return filter(r, "solve_gram()", "r", [a, b](const at::Tensor& spectrum) {
    return (a + b * spectrum.abs().square()).reciprocal();
  });
}

at::Tensor GaussianBlur::spectrum(int64_t height, int64_t width,
                                  const at::TensorOptions& options) const {
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

at::Tensor GaussianBlur::make_kernel(const Options& options) {
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

at::Tensor GaussianBlur::filter(
    const at::Tensor& x, const char* method, const char* name,
    const std::function<at::Tensor(const at::Tensor&)>& multiplier) const {
  const auto where = fmt::format("GaussianBlur::{}", method);
  check_floating(x, where.c_str(), name);
  require(x.dim() == 4, "{}: expected {} of shape [B,C,H,W], got {}", where, name, shape_string(x));
  const int64_t height = x.size(2);
  const int64_t width = x.size(3);
  const auto factor = multiplier(spectrum(height, width, x.options()));
  return at::fft_irfft2(at::fft_rfft2(x) * factor, {{height, width}});
}

}  // namespace mapinverse
