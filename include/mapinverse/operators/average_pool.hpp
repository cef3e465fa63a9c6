#pragma once

#include <cstdint>
#include <string>

#include <fmt/format.h>

#include "mapinverse/core/tensor.hpp"
#include "mapinverse/core/error.hpp"
#include "mapinverse/core/tensor_checks.hpp"
#include "mapinverse/operators/forward_operator.hpp"

namespace mapinverse {

/// Down-sampling by k x k average pooling (super-resolution): [B,C,H,W] ->
/// [B,C,H/k,W/k]. Its adjoint is nearest-neighbour up-sampling divided by k^2, so
/// H H^T = I / k^2 and solve_gram(r, a, b) = r / (a + b / k^2) in closed form.
class AveragePool : public LinearOperator {
 public:
  struct Options {
    /// Pooling factor k along both axes; H and W of the input must be divisible by k.
    int64_t factor = 2;

    void validate() const {
      require(factor >= 1, "AveragePool::Options::factor = {}. Violated constraint: factor >= 1",
              factor);
    }
  };

  explicit AveragePool(const Options& options) : options_(options) { options_.validate(); }

  at::Tensor apply(const at::Tensor& x) const override {
    constexpr const char* where = "AveragePool::apply()";
    check_floating(x, where, "x");
    const int64_t k = options_.factor;
    require(x.dim() == 4 && x.size(2) % k == 0 && x.size(3) % k == 0,
            "{}: expected x of shape [B,C,H,W] with H and W divisible by the factor {}, "
            "got {}",
            where, k, shape_string(x));
    return x.reshape({x.size(0), x.size(1), x.size(2) / k, k, x.size(3) / k, k}).mean({3, 5});
  }

  at::Tensor adjoint(const at::Tensor& y) const override;

  at::Tensor gram(const at::Tensor& y) const override;

  at::Tensor solve_gram(const at::Tensor& r, double a, double b) const override;

  std::string name() const override { return "AveragePool"; }

  /// H H^T = I / k^2: every singular value is 1 / k.
  std::optional<double> uniform_singular_value() const override {
    return 1.0 / static_cast<double>(options_.factor);
  }

  int64_t factor() const { return options_.factor; }
  const Options& options() const { return options_; }

 private:
  static void check_measurement(const at::Tensor& y, const char* where, const char* name) {
    check_floating(y, where, name);
    require(y.dim() == 4, "{}: expected {} of shape [B,C,h,w], got {}", where, name,
            shape_string(y));
  }

  Options options_;
};

}  // namespace mapinverse
