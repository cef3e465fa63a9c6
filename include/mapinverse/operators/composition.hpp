#pragma once

#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include <fmt/format.h>

#include "mapinverse/core/tensor.hpp"
#include "mapinverse/core/error.hpp"
#include "mapinverse/operators/forward_operator.hpp"

namespace mapinverse {

namespace detail {

template <typename Operator>
std::shared_ptr<Operator> checked_component(std::shared_ptr<Operator> component, const char* where,
                                            const char* name) {
  require(component != nullptr, "{}: expected a non-null {} operator", where, name);
  return component;
}

}  // namespace detail

/// H = outer . inner for two linear operators: apply = outer(inner(x)),
/// adjoint = inner^T(outer^T(y)). H H^T has no structure to exploit in general, so
/// solve_gram() is the conjugate-gradient default.
class ComposedOperator : public LinearOperator {
 public:
  ComposedOperator(std::shared_ptr<const LinearOperator> outer,
                   std::shared_ptr<const LinearOperator> inner,
                   const ConjugateGradientOptions& cg_options = ConjugateGradientOptions{})
      : LinearOperator(cg_options),
        outer_(detail::checked_component(std::move(outer), "ComposedOperator::ComposedOperator()",
                                         "outer")),
        inner_(detail::checked_component(std::move(inner), "ComposedOperator::ComposedOperator()",
                                         "inner")) {}

  at::Tensor apply(const at::Tensor& x) const override { return outer_->apply(inner_->apply(x)); }

  at::Tensor adjoint(const at::Tensor& y) const override {
    return inner_->adjoint(outer_->adjoint(y));
  }

  std::string name() const override {
    return fmt::format("Composed({}, {})", outer_->name(), inner_->name());
  }

  const std::shared_ptr<const LinearOperator>& outer() const { return outer_; }
  const std::shared_ptr<const LinearOperator>& inner() const { return inner_; }

 private:
  std::shared_ptr<const LinearOperator> outer_;
  std::shared_ptr<const LinearOperator> inner_;
};

/// A = outer . inner for any two forward operators. vjp() chains the components'
/// own vjp()s, so closed-form adjoints are used where a component has one. It is
/// not a LinearOperator (is_linear() is false) even when both parts are linear;
/// compose() picks ComposedOperator for that case.
class ComposedForwardOperator : public ForwardOperator {
 public:
  ComposedForwardOperator(std::shared_ptr<const ForwardOperator> outer,
                          std::shared_ptr<const ForwardOperator> inner)
      : outer_(detail::checked_component(
            std::move(outer), "ComposedForwardOperator::ComposedForwardOperator()", "outer")),
        inner_(detail::checked_component(
            std::move(inner), "ComposedForwardOperator::ComposedForwardOperator()", "inner")) {}

  at::Tensor apply(const at::Tensor& x) const override { return outer_->apply(inner_->apply(x)); }

  at::Tensor vjp(const at::Tensor& x, const at::Tensor& v) const override {
    at::Tensor intermediate;
    {
      at::NoGradGuard no_grad;
      intermediate = inner_->apply(x);
    }
    return inner_->vjp(x, outer_->vjp(intermediate, v));
  }

  std::string name() const override {
    return fmt::format("Composed({}, {})", outer_->name(), inner_->name());
  }

  const std::shared_ptr<const ForwardOperator>& outer() const { return outer_; }
  const std::shared_ptr<const ForwardOperator>& inner() const { return inner_; }

 private:
  std::shared_ptr<const ForwardOperator> outer_;
  std::shared_ptr<const ForwardOperator> inner_;
};

/// outer . inner: a ComposedOperator (as shared_ptr<const LinearOperator>) when both
/// static types are linear operators, a ComposedForwardOperator (as
/// shared_ptr<const ForwardOperator>) otherwise.
template <typename Outer, typename Inner>
auto compose(std::shared_ptr<Outer> outer, std::shared_ptr<Inner> inner) {
  static_assert(
      std::is_base_of_v<ForwardOperator, Outer> && std::is_base_of_v<ForwardOperator, Inner>,
      "compose(): both arguments must point to forward operators");
  if constexpr (std::is_base_of_v<LinearOperator, Outer> &&
                std::is_base_of_v<LinearOperator, Inner>) {
    return std::shared_ptr<const LinearOperator>(
        std::make_shared<const ComposedOperator>(std::move(outer), std::move(inner)));
  } else {
    return std::shared_ptr<const ForwardOperator>(
        std::make_shared<const ComposedForwardOperator>(std::move(outer), std::move(inner)));
  }
}

}  // namespace mapinverse
