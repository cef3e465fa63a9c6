#include "mapinverse/optimizers/momentum.hpp"

#include <torch/torch.h>

namespace mapinverse {

at::Tensor Momentum::State::step(const at::Tensor& z, const at::Tensor& gradient,
                                 double learning_rate) {
  velocity_ = velocity_.defined() ? options_.momentum * velocity_ + gradient : gradient;
  const auto direction = options_.nesterov ? gradient + options_.momentum * velocity_ : velocity_;
  return z + learning_rate * direction;
}

}  // namespace mapinverse
