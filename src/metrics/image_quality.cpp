#include "mapinverse/metrics/image_quality.hpp"

#include <torch/torch.h>

namespace mapinverse {

at::Tensor psnr(const at::Tensor& estimate, const at::Tensor& reference, double data_range) {
  detail::check_image_pair(estimate, reference, "psnr()");
  const auto mse = (estimate.to(at::kDouble) - reference.to(at::kDouble))
                       .pow(2)
                       .reshape({estimate.size(0), -1})
                       .mean(1);
  return 10.0 * at::log10(data_range * data_range / mse.clamp_min(1e-20));
}

at::Tensor ssim(const at::Tensor& estimate, const at::Tensor& reference, double data_range) {
  detail::check_image_pair(estimate, reference, "ssim()");
  constexpr int64_t kWindow = 11;
  require(estimate.size(2) >= kWindow && estimate.size(3) >= kWindow,
          "ssim(): expected images of at least 11x11 pixels, got {}", shape_string(estimate));
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
