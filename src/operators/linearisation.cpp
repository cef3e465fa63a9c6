#include "mapinverse/operators/linearisation.hpp"

#include <torch/torch.h>

namespace mapinverse {

at::Tensor LinearisedOperator::apply(const at::Tensor& v) const {
  const auto where = name() + "::apply()";
  check_argument(v, point_, where, "v");
  const bool differentiable = at::GradMode::is_enabled() && v.requires_grad();
  c10::InferenceMode inference_off(false);
  at::AutoGradMode grad_on(true);
  const auto [input, output] = evaluate(v);
  if (!output.requires_grad()) return at::zeros_like(output);
  const auto dummy = at::zeros_like(output).requires_grad_(true);
  const auto transposed = vector_jacobian_product(output, input, dummy, {true, true, true});
  if (!transposed.defined() || !transposed.requires_grad()) return at::zeros_like(output);
  const auto product = vector_jacobian_product(transposed, dummy, detail::autograd_ready(v),
                                               {differentiable, differentiable, true});
  if (!product.defined()) return at::zeros_like(output);
  return differentiable ? product : product.detach();
}

at::Tensor LinearisedOperator::adjoint(const at::Tensor& u) const {
  const auto where = name() + "::adjoint()";
  check_argument(u, offset_, where, "u");
  const bool differentiable = at::GradMode::is_enabled() && u.requires_grad();
  c10::InferenceMode inference_off(false);
  at::AutoGradMode grad_on(true);
  const auto [input, output] = evaluate(u);
  if (!output.requires_grad()) return at::zeros_like(input).detach();
  const auto product = vector_jacobian_product(output, input, detail::autograd_ready(u),
                                               {differentiable, differentiable, true});
  if (!product.defined()) return at::zeros_like(input).detach();
  return differentiable ? product : product.detach();
}

}  // namespace mapinverse
