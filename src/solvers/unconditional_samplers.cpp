#include "mapinverse/solvers/unconditional_samplers.hpp"

#include <torch/torch.h>

namespace mapinverse {

at::Tensor EdmHeunSampler::sample(const SampleRequest& request) const {
  at::NoGradGuard no_grad;
  auto generator = make_generator(request.seed);
  const auto& schedule = *denoiser_->schedule();
  auto sigmas = TimeSteps(options_).values();
  for (auto& value : sigmas) value = schedule.sigma(value);
  sigmas.push_back(0.0);
  auto x = sigmas.front() * randn(request.batch_shape(), request.options, generator);
  for (size_t i = 0; i + 1 < sigmas.size(); ++i) {
    const double step = sigmas[i + 1] - sigmas[i];
    const auto slope = drift(x, sigmas[i], request.labels);
    auto next = x + step * slope;
    if (sigmas[i + 1] > 0.0)
      next = x + 0.5 * step * (slope + drift(next, sigmas[i + 1], request.labels));
    x = next;
  }
  return x;
}

at::Tensor EdmHeunSampler::drift(const at::Tensor& x, double sigma,
                                 const at::Tensor& labels) const {
  return (x - denoiser_->denoise(x, sigma, labels)) / sigma;
}

at::Tensor ConsistencySampler::sample(const SampleRequest& request) const {
  at::NoGradGuard no_grad;
  auto generator = make_generator(request.seed);
  const auto& schedule = *consistency_->schedule();
  const double sigma_eps = schedule.sigma(consistency_->epsilon());
  auto x = schedule.sigma(options_.times.front()) *
           randn(request.batch_shape(), request.options, generator);
  x = consistency_->origin(x, options_.times.front(), request.labels);
  for (size_t i = 1; i < options_.times.size(); ++i) {
    const double sigma = schedule.sigma(options_.times[i]);
    const auto noisy = x + std::sqrt(std::max(sigma * sigma - sigma_eps * sigma_eps, 0.0)) *
                               randn_like(x, generator);
    x = consistency_->origin(noisy, options_.times[i], request.labels);
  }
  return x;
}

}  // namespace mapinverse
