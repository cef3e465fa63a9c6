#include <torch/torch.h>

#include "mapinverse/core/autograd.hpp"

#include <torch/csrc/autograd/autograd.h>

namespace mapinverse {

at::Tensor vector_jacobian_product(const at::Tensor& output, const at::Tensor& input,
                                   const at::Tensor& output_gradient, const VjpOptions& options) {
  return torch::autograd::grad({output}, {input}, {output_gradient}, options.retain_graph,
                               options.create_graph, options.allow_unused)[0];
}

}  // namespace mapinverse
