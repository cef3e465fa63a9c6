#include "mapinverse/operators/gaussian_blur.hpp"

#include <torch/torch.h>

namespace mapinverse {

at::Tensor GaussianBlur::solve_gram(const at::Tensor& r, double a, double b) const {
  check_gram_coefficients(a, b, "GaussianBlur::solve_gram()");
  return filter(r, "solve_gram()", "r", [a, b](const at::Tensor& spectrum) {
    const auto gram = spectrum.abs().square();
    if (a > 0.0) return (a + b * gram).reciprocal();
    // a = 0: r lies in range(H), and frequencies whose |K^| is below the cut-off count as
    // outside it (0), as in spectral_decomposition(); dividing by their |K^|^2 (1e-17 for
    // a 2-pixel blur) turned rounding errors into infinities.
    const auto kept = gram > (kSingularValueCutoff * kSingularValueCutoff) * gram.max();
    return at::where(kept, (b * gram).reciprocal(), at::zeros_like(gram));
  });
}

at::Tensor GaussianBlur::spectrum(int64_t height, int64_t width,
                                  const at::TensorOptions& options) const {
  return cache_.get({options.device(), options.dtype().toScalarType(), {height, width}}, [&] {
    // Transformed in float64 on the CPU, then converted once.
    const auto complex_type = c10::toComplexType(options.dtype().toScalarType());
    return at::fft_rfft2(wrapped_kernel(height, width)).to(options.device(), complex_type);
  });
}

at::Tensor GaussianBlur::wrapped_kernel(int64_t height, int64_t width) const {
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
  return wrapped;
}

namespace {

// H = F^* diag(K^) F with F the unitary 2-D DFT: V^T = F, S = |K^|, U^T = diag(phase^*) F,
// so S^+ U^T y = F y / K^ where |K^| is above the cut-off. Every coefficient the solvers
// form is a real multiple of these, and |K^| is symmetric under k -> -k for a real
// kernel, so V c stays real up to rounding; from_spectral() keeps the real part.
class FourierDecomposition final : public SpectralDecomposition {
 public:
  FourierDecomposition(const at::Tensor& kernel_spectrum, double cutoff)
      : spectrum_(kernel_spectrum),
        singular_values_(kernel_spectrum.abs() *
                         (kernel_spectrum.abs() > cutoff * kernel_spectrum.abs().max())) {}

  at::Tensor to_spectral(const at::Tensor& x) const override {
    return at::fft_fft2(x, c10::nullopt, {-2, -1}, "ortho");
  }
  at::Tensor from_spectral(const at::Tensor& c) const override {
    return at::real(at::fft_ifft2(c, c10::nullopt, {-2, -1}, "ortho")).contiguous();
  }
  at::Tensor singular_values(const at::Tensor& like) const override {
    return singular_values_.to(like.device(), c10::toRealValueType(like.scalar_type()));
  }
  at::Tensor pseudo_inverse(const at::Tensor& y) const override {
    const auto kept = singular_values_ > 0;
    const auto safe = at::where(kept, spectrum_, at::ones_like(spectrum_));
    const auto coefficients = to_spectral(y) / safe.to(y.device());
    return coefficients * kept.to(y.device());
  }

 private:
  at::Tensor spectrum_;         // K^, complex, [H,W]
  at::Tensor singular_values_;  // |K^| with the cut-off applied, real, [H,W]
};

}  // namespace

std::shared_ptr<const SpectralDecomposition> GaussianBlur::spectral_decomposition(
    const at::Tensor& like) const {
  check_floating(like, "GaussianBlur::spectral_decomposition()", "like");
  require(like.dim() == 4,
          "GaussianBlur::spectral_decomposition(): expected like of shape "
          "[B,C,H,W], got {}",
          shape_string(like));
  const auto spectrum = at::fft_fft2(wrapped_kernel(like.size(2), like.size(3)))
                            .to(like.device(), c10::toComplexType(like.scalar_type()));
  return std::make_shared<FourierDecomposition>(spectrum, kSingularValueCutoff);
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
