#include "mapinverse/models/ode_consistency.hpp"

#include <torch/torch.h>

namespace mapinverse {

at::Tensor OdeConsistency::evaluate(const at::Tensor& z, const at::Tensor& t,
                                    const at::Tensor& labels) const {
  const auto& schedule = *denoiser_->schedule();
  const auto sigma_start = schedule.sigma(t);
  const double sigma_end = schedule.sigma(options_.epsilon);
  require((sigma_start >= sigma_end).all().item<bool>(),
          "OdeConsistency::origin(): expected every t >= epsilon = {}", options_.epsilon);
  const auto inverse_rho = 1.0 / options_.rho;
  const auto start_root = sigma_start.pow(inverse_rho);
  const double end_root = std::pow(sigma_end, inverse_rho);
  const auto grid = [&](int64_t i) {
    const double fraction = static_cast<double>(i) / static_cast<double>(options_.num_steps);
    return (start_root + fraction * (end_root - start_root)).pow(options_.rho);
  };
  auto x = z;
  auto sigma = sigma_start;
  for (int64_t i = 0; i < options_.num_steps; ++i) {
    const bool last = i + 1 == options_.num_steps;
    const auto sigma_next = last ? at::full_like(sigma, sigma_end) : grid(i + 1);
    const auto slope = drift(x, sigma, labels);
    auto x_next = x + (sigma_next - sigma) * slope;
    if (!last) {
      x_next = x + (sigma_next - sigma) * 0.5 * (slope + drift(x_next, sigma_next, labels));
    }
    x = x_next;
    sigma = sigma_next;
  }
  return x;
}

at::Tensor OdeConsistency::drift(const at::Tensor& x, const at::Tensor& sigma,
                                 const at::Tensor& labels) const {
  return (x - denoiser_->denoise(x, sigma.reshape({-1}), labels)) / sigma;
}

}  // namespace mapinverse
