#include "mapinverse/optimizers/adam.hpp"

#include <torch/torch.h>

namespace mapinverse {

at::Tensor Adam::State::step(const at::Tensor& z, const at::Tensor& gradient,
                             double learning_rate) {
  if (!first_moment_.defined()) {
    first_moment_ = at::zeros_like(gradient);
    second_moment_ = at::zeros_like(gradient);
  }
  ++count_;
  first_moment_ = options_.beta1 * first_moment_ + (1.0 - options_.beta1) * gradient;
  second_moment_ = options_.beta2 * second_moment_ + (1.0 - options_.beta2) * gradient * gradient;
  const double correction1 = 1.0 - std::pow(options_.beta1, static_cast<double>(count_));
  const double correction2 = 1.0 - std::pow(options_.beta2, static_cast<double>(count_));
  const auto denominator = (second_moment_ / correction2).sqrt() + options_.epsilon;
  return z + (learning_rate / correction1) * first_moment_ / denominator;
}

}  // namespace mapinverse
