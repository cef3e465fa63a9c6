#include "mapinverse/optimizers/gradient_ascent.hpp"

#include <torch/torch.h>

namespace mapinverse {

at::Tensor GradientAscent::State::step(const at::Tensor& z, const at::Tensor& gradient,
                                       double learning_rate) {
  return z + learning_rate * gradient;
}

}  // namespace mapinverse
