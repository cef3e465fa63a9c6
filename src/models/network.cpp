#include "mapinverse/models/network.hpp"

#include <torch/torch.h>

namespace mapinverse {

at::Tensor Network::forward_at(const at::Tensor& x_in, double noise_input,
                               const at::Tensor& labels) const {
  return forward(x_in, at::full({x_in.size(0)}, noise_input, x_in.options()), labels);
}

}  // namespace mapinverse
