#include "mapinverse/operators/forward_operator.hpp"

#include <torch/torch.h>

namespace mapinverse {

at::Tensor detail::batched_dot(const at::Tensor& u, const at::Tensor& w) {
  return (u * w).reshape({u.size(0), -1}).sum(1);
}

at::Tensor ForwardOperator::vjp(const at::Tensor& x, const at::Tensor& v) const {
  const auto where = name() + "::vjp()";
  check_floating(x, where.c_str(), "x");
  check_floating(v, where.c_str(), "v");
  c10::InferenceMode inference_off(false);
  at::AutoGradMode grad_on(true);
  const auto input = detail::autograd_ready(x).detach().requires_grad_(true);
  const auto output = apply(input);
  require(output.sizes() == v.sizes(), "{}: expected v of shape {} (the shape of apply(x)), got {}",
          where, shape_string(output), shape_string(v));
  check_same_placement(output, v, where.c_str(), "apply(x)", "v");
  if (!output.requires_grad()) return at::zeros_like(input).detach();
  VjpOptions allow_unused;
  allow_unused.allow_unused = true;
  const auto gradient =
      vector_jacobian_product(output, input, detail::autograd_ready(v), allow_unused);
  return gradient.defined() ? gradient.detach() : at::zeros_like(input).detach();
}

at::Tensor LinearOperator::solve_gram(const at::Tensor& r, double a, double b) const {
  const auto where = name() + "::solve_gram()";
  check_gram_coefficients(a, b, where);
  check_floating(r, where.c_str(), "r");
  require(r.dim() >= 1, "{}: expected r of shape [B,...], got {}", where, shape_string(r));
  if (b == 0.0) return r / a;

  const auto system = [&](const at::Tensor& u) { return a * u + b * gram(u); };
  const auto dot = [](const at::Tensor& u, const at::Tensor& w) {
    return detail::batched_dot(u, w);
  };
  const auto scale = [&r](const at::Tensor& values) {
    return detail::per_sample_scalar(values, r);
  };
  const double tolerance = cg_options_.tolerance;

  auto solution = at::zeros_like(r);
  auto residual = r.clone();
  auto direction = residual;
  auto residual_norm2 = dot(residual, residual);
  const auto threshold = tolerance * tolerance * residual_norm2;
  // Samples leave the iteration once converged (or r = 0); their updates are zeroed.
  auto active = residual_norm2 > threshold;
  for (int64_t iteration = 0; iteration < cg_options_.max_iterations && active.any().item<bool>();
       ++iteration) {
    const auto system_direction = system(direction);
    const auto curvature = dot(direction, system_direction);
    // Zero curvature means r has a component outside range(H) with a == 0:
    // nothing more can be gained for that sample.
    const auto usable = active & (curvature > 0);
    const auto step =
        at::where(usable, residual_norm2 / at::where(usable, curvature, at::ones_like(curvature)),
                  at::zeros_like(curvature));
    solution = solution + scale(step) * direction;
    residual = residual - scale(step) * system_direction;
    const auto next_norm2 = dot(residual, residual);
    active = usable & (next_norm2 > threshold);
    const auto ratio = at::where(
        active, next_norm2 / at::where(active, residual_norm2, at::ones_like(residual_norm2)),
        at::zeros_like(next_norm2));
    direction = residual + scale(ratio) * direction;
    residual_norm2 = next_norm2;
  }
  if (!at::isfinite(solution).all().item<bool>()) {
    throw NumericalError(fmt::format(
        "{}: conjugate gradients produced NaN or infinite values (a = {}, b = {})", where, a, b));
  }
  return solution;
}

}  // namespace mapinverse
