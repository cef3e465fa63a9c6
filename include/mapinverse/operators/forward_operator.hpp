#pragma once

#include <cmath>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "mapinverse/core/autograd.hpp"
#include "mapinverse/core/tensor.hpp"
#include "mapinverse/core/error.hpp"
#include "mapinverse/core/tensor_checks.hpp"
#include "mapinverse/operators/spectral_decomposition.hpp"

namespace mapinverse {

namespace detail {

/// `tensor` as a tensor that may take part in autograd: a tensor created under
/// inference mode cannot be saved for backward, so it is copied out.
inline at::Tensor autograd_ready(const at::Tensor& tensor) {
  return tensor.is_inference() ? tensor.clone() : tensor;
}

/// Sum over all but the batch dimension of u * w: one inner product per sample, [B].
at::Tensor batched_dot(const at::Tensor& u, const at::Tensor& w);

/// A per-sample scalar [B] shaped [B,1,...,1] to broadcast against `like`.
inline at::Tensor per_sample_scalar(const at::Tensor& values, const at::Tensor& like) {
  std::vector<int64_t> shape(static_cast<size_t>(like.dim()), 1);
  shape[0] = values.size(0);
  return values.reshape(shape);
}

}  // namespace detail

/// The forward model A of an inverse problem y = A(x) + noise (paper eq. 1).
/// `x` is batch-first ([B,C,H,W] images, [B,n] vectors) and every method acts on
/// each sample independently. Results keep the dtype and device of the input.
class ForwardOperator {
 public:
  ForwardOperator() = default;
  virtual ~ForwardOperator() = default;
  ForwardOperator(const ForwardOperator&) = delete;
  ForwardOperator& operator=(const ForwardOperator&) = delete;

  /// A(x), differentiable by autograd.
  virtual at::Tensor apply(const at::Tensor& x) const = 0;

  /// The vector-Jacobian product v^T dA/dx at x, shaped like x, detached. The
  /// default runs one reverse-mode autograd pass through apply(); it works whether
  /// or not autograd (or inference mode) is enabled by the caller.
  virtual at::Tensor vjp(const at::Tensor& x, const at::Tensor& v) const;

  /// Short human-readable name used in error messages and reports.
  virtual std::string name() const = 0;

  /// True exactly for subclasses of LinearOperator.
  virtual bool is_linear() const { return false; }
};

/// Settings of the conjugate-gradient solve behind the default
/// LinearOperator::solve_gram().
struct ConjugateGradientOptions {
  /// A sample stops once ||residual|| <= tolerance * ||r||.
  double tolerance = 1e-6;
  /// Upper bound on iterations; each costs one adjoint() and one apply().
  int64_t max_iterations = 200;

  void validate() const {
    require(std::isfinite(tolerance) && tolerance > 0.0,
            "ConjugateGradientOptions::tolerance = {}. Violated constraint: tolerance > 0",
            tolerance);
    require(max_iterations >= 1,
            "ConjugateGradientOptions::max_iterations = {}. Violated constraint: "
            "max_iterations >= 1",
            max_iterations);
  }
};

/// A linear forward model y = H x with its adjoint H^T.
///
/// solve_gram() is what the likelihood gradient of docs/design.md §3 needs:
///   grad_x log p(y | x) = H^T (sigma_y^2 I + sigma_eps^2 H H^T)^{-1} (y - H x),
/// i.e. solve_gram(y - H x, sigma_y^2, sigma_eps^2) followed by adjoint(); PGDM's
/// guidance uses it with (sigma_y^2, r_t^2).
class LinearOperator : public ForwardOperator {
 public:
  /// H^T y, shaped like the operator's input.
  virtual at::Tensor adjoint(const at::Tensor& y) const = 0;

  /// v^T H = H^T v: the adjoint, whatever x is. Detached like the default.
  at::Tensor vjp(const at::Tensor& /*x*/, const at::Tensor& v) const final {
    return adjoint(v).detach();
  }

  bool is_linear() const final { return true; }

  /// H H^T y on the measurement space.
  virtual at::Tensor gram(const at::Tensor& y) const { return apply(adjoint(y)); }

  /// (a I + b H H^T)^{-1} r for each sample, with a >= 0, b >= 0, a + b > 0. With
  /// a == 0, r must lie in range(H) where H H^T is singular. The default runs
  /// conjugate gradients per sample (conjugate_gradient_options()), returning the
  /// last iterate if max_iterations is reached first; operators with structure
  /// override it with a closed form.
  virtual at::Tensor solve_gram(const at::Tensor& r, double a, double b) const;

  /// s > 0 when every non-zero singular value of H equals s, i.e. H H^T = s^2 Pi with Pi
  /// the orthogonal projector onto range(H); nullopt otherwise or when unknown (the
  /// default). Then H^T H / s^2 projects onto the row space and H^T y / s^2 is the
  /// pseudo-inverse H^+ y: what DDRM needs of the operator's SVD (docs/design.md §3).
  virtual std::optional<double> uniform_singular_value() const { return std::nullopt; }

  /// H = U S V^T where the operator knows it (in closed form, or computed once and
  /// cached); nullptr otherwise (the default). DDRM runs on any operator that has one
  /// or a uniform_singular_value(). `like` is an input x of the shape and dtype the
  /// decomposition will be used with (an operator on images takes its size from it).
  /// Throws std::invalid_argument when the operator is too large to decompose.
  virtual std::shared_ptr<const SpectralDecomposition> spectral_decomposition(
      const at::Tensor& /*like*/) const {
    return nullptr;
  }

  const ConjugateGradientOptions& conjugate_gradient_options() const { return cg_options_; }

 protected:
  explicit LinearOperator(const ConjugateGradientOptions& cg_options = ConjugateGradientOptions{})
      : cg_options_(cg_options) {
    cg_options_.validate();
  }

  /// Throws std::invalid_argument unless a >= 0, b >= 0 and a + b > 0 (all finite).
  /// Every override of solve_gram() calls it first; `where` is "Class::solve_gram()".
  static void check_gram_coefficients(double a, double b, const std::string& where) {
    require(std::isfinite(a) && a >= 0.0, "{}: expected a >= 0, got a = {}", where, a);
    require(std::isfinite(b) && b >= 0.0, "{}: expected b >= 0, got b = {}", where, b);
    require(a + b > 0.0, "{}: expected a + b > 0, got a = {} and b = {}", where, a, b);
  }

 private:
  ConjugateGradientOptions cg_options_;
};

}  // namespace mapinverse
