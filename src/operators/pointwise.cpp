#include "mapinverse/operators/pointwise.hpp"

#include <torch/torch.h>

namespace mapinverse {

std::shared_ptr<const PointwiseNonlinear> PointwiseNonlinear::tanh() {
  return std::make_shared<const PointwiseNonlinear>([](const at::Tensor& x) { return at::tanh(x); },
                                                    "tanh");
}

}  // namespace mapinverse
