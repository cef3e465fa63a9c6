#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>

#include <fmt/format.h>

#include "mapinverse/core/tensor.hpp"
#include "mapinverse/core/error.hpp"
#include "mapinverse/core/tensor_checks.hpp"
#include "mapinverse/operators/forward_operator.hpp"

namespace mapinverse {

/// A non-linear, differentiable, element-wise forward model y = f(x), e.g. a sensor
/// saturation y = tanh(x). vjp() is the autograd default, so f must be built from
/// differentiable torch operations; LinearisedOperator turns it into a linear one.
class PointwiseNonlinear : public ForwardOperator {
 public:
  using Function = std::function<at::Tensor(const at::Tensor&)>;

  /// `function` maps a tensor to one of the same shape; `label` names it in
  /// name() ("PointwiseNonlinear(label)").
  PointwiseNonlinear(Function function, std::string label)
      : function_(std::move(function)), label_(std::move(label)) {
    require(static_cast<bool>(function_),
            "PointwiseNonlinear::PointwiseNonlinear(): expected a callable function for "
            "'{}', got an empty one",
            label_);
  }

  /// y = tanh(x).
  static std::shared_ptr<const PointwiseNonlinear> tanh();

  at::Tensor apply(const at::Tensor& x) const override {
    const auto where = name() + "::apply()";
    check_floating(x, where.c_str(), "x");
    auto y = function_(x);
    require(y.defined() && y.sizes() == x.sizes(),
            "{}: expected the function to return the shape of x {}, got {}", where, shape_string(x),
            shape_string(y));
    return y;
  }

  std::string name() const override { return fmt::format("PointwiseNonlinear({})", label_); }

 private:
  Function function_;
  std::string label_;
};

}  // namespace mapinverse
