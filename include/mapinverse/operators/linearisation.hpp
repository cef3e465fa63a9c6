#pragma once

#include <memory>
#include <string>
#include <utility>

#include <fmt/format.h>

#include "mapinverse/core/autograd.hpp"
#include "mapinverse/core/tensor.hpp"
#include "mapinverse/core/error.hpp"
#include "mapinverse/core/tensor_checks.hpp"
#include "mapinverse/operators/forward_operator.hpp"

namespace mapinverse {

/// The Jacobian J of a differentiable forward model A at a point x0, as a linear
/// operator: A(x) ~ offset() + J (x - x0). This lets the linear-operator machinery
/// (likelihood gradient, PGDM guidance) run on non-linear problems by linearising
/// around the current estimate.
///
/// adjoint(u) = J^T u is one vector-Jacobian product at x0; apply(v) = J v is the
/// Jacobian-vector product by the double-VJP trick, J v = d/du <J^T u, v> for a
/// dummy u (linear in u, so any u works). A is re-evaluated at x0 on every call,
/// which keeps the operator free of mutable state. Both results are differentiable
/// with respect to their argument when autograd is on and it requires grad.
/// solve_gram() is the conjugate-gradient default.
class LinearisedOperator : public LinearOperator {
 public:
  /// `x0` is a batch [B,...]; inputs of apply() must have exactly its shape.
  LinearisedOperator(std::shared_ptr<const ForwardOperator> op, const at::Tensor& x0,
                     const ConjugateGradientOptions& cg_options = ConjugateGradientOptions{})
      : LinearOperator(cg_options), op_(std::move(op)) {
    constexpr const char* where = "LinearisedOperator::LinearisedOperator()";
    require(op_ != nullptr, "{}: expected a non-null operator", where);
    check_floating(x0, where, "x0");
    require(x0.dim() >= 1, "{}: expected x0 of shape [B,...], got {}", where, shape_string(x0));
    c10::InferenceMode inference_off(false);
    at::NoGradGuard no_grad;
    point_ = x0.detach().clone();
    offset_ = op_->apply(point_).detach();
  }

  at::Tensor apply(const at::Tensor& v) const override;

  at::Tensor adjoint(const at::Tensor& u) const override;

  std::string name() const override { return fmt::format("Linearised({})", op_->name()); }

  /// The linearisation point x0 (a detached copy).
  const at::Tensor& point() const { return point_; }
  /// A(x0), so that A(x) ~ offset() + J (x - x0).
  const at::Tensor& offset() const { return offset_; }
  const std::shared_ptr<const ForwardOperator>& op() const { return op_; }

 private:
  static void check_argument(const at::Tensor& argument, const at::Tensor& reference,
                             const std::string& where, const char* name) {
    check_floating(argument, where.c_str(), name);
    require(argument.sizes() == reference.sizes(), "{}: expected {} of shape {}, got {}", where,
            name, shape_string(reference), shape_string(argument));
  }

  /// A at x0 on a fresh graph, in the dtype and on the device of `like`.
  std::pair<at::Tensor, at::Tensor> evaluate(const at::Tensor& like) const {
    auto input = point_.to(like.options()).detach().requires_grad_(true);
    auto output = op_->apply(input);
    return {std::move(input), std::move(output)};
  }

  std::shared_ptr<const ForwardOperator> op_;
  at::Tensor point_;
  at::Tensor offset_;
};

}  // namespace mapinverse
