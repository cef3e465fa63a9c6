#include "mapinverse/solvers/data_term.hpp"

#include <torch/torch.h>

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

}  // namespace mapinverse::detail
