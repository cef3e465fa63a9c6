#include "mapinverse/operators/dense_matrix.hpp"

#include <limits>

#include <torch/torch.h>

namespace mapinverse {

at::Tensor DenseMatrix::apply(const at::Tensor& x) const {
  constexpr const char* where = "DenseMatrix::apply()";
  check_floating(x, where, "x");
  require(x.dim() >= 2 && x.numel() == x.size(0) * cols(),
          "{}: expected x of shape [B,{}] (or [B,...] with {} entries per sample), "
          "got {}",
          where, fmt::join(input_shape_, ","), cols(), shape_string(x));
  return at::matmul(x.reshape({x.size(0), cols()}), placed(x).t());
}

at::Tensor DenseMatrix::adjoint(const at::Tensor& y) const {
  check_measurement(y, "DenseMatrix::adjoint()", "y");
  std::vector<int64_t> shape{y.size(0)};
  shape.insert(shape.end(), input_shape_.begin(), input_shape_.end());
  return at::matmul(y, placed(y)).reshape(shape);
}

at::Tensor DenseMatrix::gram(const at::Tensor& y) const {
  check_measurement(y, "DenseMatrix::gram()", "y");
  const auto matrix = placed(y);
  return at::matmul(at::matmul(y, matrix), matrix.t());
}

at::Tensor DenseMatrix::solve_gram(const at::Tensor& r, double a, double b) const {
  constexpr const char* where = "DenseMatrix::solve_gram()";
  check_gram_coefficients(a, b, where);
  check_measurement(r, where, "r");
  const auto matrix = placed(r);
  const auto system = a * at::eye(rows(), r.options()) + b * at::matmul(matrix, matrix.t());
  const auto [factor, info] = at::linalg_cholesky_ex(system);
  // A rank-deficient H leaves a last pivot of rounding size, which one LAPACK reports as
  // a failure (Debian's LibTorch 1.13) and another returns as a tiny positive number
  // (MKL, in the 2.x wheels): pivots are judged against the system's scale, so the
  // answer does not hang on rounding.
  const double epsilon = r.scalar_type() == at::kDouble ? std::numeric_limits<double>::epsilon()
                                                        : std::numeric_limits<float>::epsilon();
  const double pivot_floor =
      static_cast<double>(rows()) * epsilon * system.diagonal().max().item<double>();
  require(info.item<int64_t>() == 0 && factor.diagonal().pow(2).min().item<double>() > pivot_floor,
          "{}: a I + b H H^T is not positive definite for a = {}, b = {} (H has rank "
          "< {} rows); use a > 0",
          where, a, b, rows());
  return at::cholesky_solve(r.t(), factor).t();
}

}  // namespace mapinverse
