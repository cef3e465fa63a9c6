#include "mapinverse/models/preconditioning.hpp"

#include <torch/torch.h>

namespace mapinverse {

at::Tensor EdmDenoiser::evaluate(const at::Tensor& x, const at::Tensor& sigma,
                                 const at::Tensor& labels) const {
  const double sd = options_.sigma_data;
  const auto variance = sigma.square() + sd * sd;
  const auto c_skip = (sd * sd) / variance;
  const auto c_out = sigma * sd * variance.rsqrt();
  const auto c_in = variance.rsqrt();
  const auto c_noise =
      detail::noise_input_vector(sigma.log() * noise_input_scale(options_.noise_input), x.size(0));
  return c_skip * x + c_out * network_->forward(c_in * x, c_noise, labels);
}

at::Tensor EdmDenoiser::evaluate_at(const at::Tensor& x, double sigma,
                                    const at::Tensor& labels) const {
  const double sd = options_.sigma_data;
  const double variance = sigma * sigma + sd * sd;
  const double c_skip = (sd * sd) / variance;
  const double c_out = sigma * sd / std::sqrt(variance);
  const double c_in = 1.0 / std::sqrt(variance);
  const double c_noise = std::log(sigma) * noise_input_scale(options_.noise_input);
  return at::add(x * c_skip, network_->forward_at(x * c_in, c_noise, labels), c_out);
}

at::Tensor BoundaryConsistency::evaluate(const at::Tensor& z, const at::Tensor& t,
                                         const at::Tensor& labels) const {
  const double sd = options_.sigma_data;
  const auto shifted = t - options_.epsilon;
  const auto c_skip = (sd * sd) / (shifted.square() + sd * sd);
  const auto c_out = shifted * sd * (t.square() + sd * sd).rsqrt();
  const auto c_in = (t.square() + sd * sd).rsqrt();
  const auto c_noise =
      detail::noise_input_vector(t.log() * noise_input_scale(options_.noise_input), z.size(0));
  return c_skip * z + c_out * network_->forward(c_in * z, c_noise, labels);
}

at::Tensor BoundaryConsistency::evaluate_at(const at::Tensor& z, double t,
                                            const at::Tensor& labels) const {
  const double sd = options_.sigma_data;
  const double shifted = t - options_.epsilon;
  const double c_skip = (sd * sd) / (shifted * shifted + sd * sd);
  const double c_out = shifted * sd / std::sqrt(t * t + sd * sd);
  const double c_in = 1.0 / std::sqrt(t * t + sd * sd);
  const double c_noise = std::log(t) * noise_input_scale(options_.noise_input);
  return at::add(z * c_skip, network_->forward_at(z * c_in, c_noise, labels), c_out);
}

}  // namespace mapinverse
