#pragma once

#include "mapinverse/core/tensor.hpp"

namespace mapinverse {

/// How a vector-Jacobian product treats the graph it runs through.
struct VjpOptions {
  /// Keep the graph for another pass through it.
  bool retain_graph = false;
  /// Record the product itself, so it can be differentiated again.
  bool create_graph = false;
  /// An input the output does not depend on gives an undefined tensor instead of an error.
  bool allow_unused = false;
};

/// output_gradient^T d(output)/d(input): one reverse-mode pass of autograd from `output`
/// to `input` (which must require grad). Compiled in the library, so that headers need
/// not include LibTorch's autograd frontend.
at::Tensor vector_jacobian_product(const at::Tensor& output, const at::Tensor& input,
                                   const at::Tensor& output_gradient,
                                   const VjpOptions& options = {});

}  // namespace mapinverse
