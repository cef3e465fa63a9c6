#include "mapinverse/solvers/data_term.hpp"

#include <algorithm>

#include <torch/torch.h>

#include "mapinverse/core/random.hpp"

namespace mapinverse::detail {

DataTerm data_term(const Problem& problem, const at::Tensor& x_hat, double a, double b,
                   bool with_fit) {
  at::NoGradGuard no_grad;
  const auto estimate = x_hat.detach();
  const auto& op = problem.forward_operator;
  const auto residual = problem.measurement - op->apply(estimate);
  std::shared_ptr<const LinearOperator> linear =
      op->is_linear() ? std::static_pointer_cast<const LinearOperator>(op)
                      : std::make_shared<LinearisedOperator>(op, estimate);
  const auto weighted = linear->solve_gram(residual, a, b);
  DataTerm term;
  term.gradient = linear->adjoint(weighted).detach();
  if (!with_fit) return term;
  term.residual_norm = residual.reshape({residual.size(0), -1}).norm(2, 1);
  term.objective = -0.5 * batched_dot(residual, weighted);
  return term;
}

// 20 power iterations on A^T A from a fixed start. The Rayleigh-type ratio approaches
// ||A||^2 from below, and is exact after one step for a projection (a mask).
double operator_norm_squared(const Problem& problem) {
  if (!problem.forward_operator->is_linear()) return 1.0;
  const auto& op = static_cast<const LinearOperator&>(*problem.forward_operator);
  if (const auto s = op.uniform_singular_value()) return *s * *s;
  auto generator = make_generator(0x5eed);
  auto shape = problem.batch_shape();
  shape[0] = 1;
  auto v = at::randn(shape, generator, problem.measurement.options().dtype(at::kDouble));
  double norm = 0.0;
  for (int i = 0; i < 20; ++i) {
    const auto w = op.adjoint(op.apply(v.to(problem.measurement.options()))).to(at::kDouble);
    norm = w.norm().item<double>() / std::max(v.norm().item<double>(), 1e-300);
    v = w / std::max(w.norm().item<double>(), 1e-300);
  }
  return std::max(norm, 1e-12);
}

}  // namespace mapinverse::detail
