#include "mapinverse/solvers/reverse_step.hpp"

#include <torch/torch.h>

namespace mapinverse {

at::Tensor reverse_step(const at::Tensor& x_t, const at::Tensor& x_hat, double sigma_t,
                        double sigma_s, double sigma_floor, const ReverseStepOptions& options,
                        NoiseSource& noise) {
  if (options.update == ReverseUpdate::kRenoise) {
    const double scale = std::sqrt(std::max(sigma_s * sigma_s - sigma_floor * sigma_floor, 0.0));
    return scale > 0.0 ? x_hat + scale * noise.randn_like(x_hat) : x_hat;
  }
  const double ratio = sigma_s / sigma_t;
  const double c = options.eta * sigma_s * std::sqrt(std::max(1.0 - ratio * ratio, 0.0));
  const double keep = std::sqrt(std::max(sigma_s * sigma_s - c * c, 0.0)) / sigma_t;
  auto x_s = x_hat + keep * (x_t - x_hat);
  return c > 0.0 ? x_s + c * noise.randn_like(x_hat) : x_s;
}

}  // namespace mapinverse
