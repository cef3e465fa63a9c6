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

namespace {

// V^T, S and U of an m x n matrix, in float64, with V square (n x n) so that the
// coefficients cover the null space too: s_i = 0 for i >= min(m, n).
class MatrixDecomposition final : public SpectralDecomposition {
 public:
  MatrixDecomposition(const at::Tensor& matrix, std::vector<int64_t> input_shape, double cutoff)
      : input_shape_(std::move(input_shape)) {
    const auto [u, s, vh] = at::linalg_svd(matrix.to(at::kCPU, at::kDouble), true);
    const int64_t n = matrix.size(1);
    const int64_t rank_bound = s.size(0);
    auto padded = at::zeros({n}, at::kDouble);
    padded.narrow(0, 0, rank_bound).copy_(s * (s > cutoff * s.max()));
    u_ = u.narrow(1, 0, rank_bound).contiguous();
    v_transposed_ = vh.contiguous();
    singular_values_ = padded.unsqueeze(0);
  }

  at::Tensor to_spectral(const at::Tensor& x) const override {
    return at::matmul(x.reshape({x.size(0), -1}), placed(kVt, x).t());
  }
  at::Tensor from_spectral(const at::Tensor& c) const override {
    std::vector<int64_t> shape{c.size(0)};
    shape.insert(shape.end(), input_shape_.begin(), input_shape_.end());
    return at::matmul(c, placed(kVt, c)).reshape(shape);
  }
  at::Tensor singular_values(const at::Tensor& like) const override { return placed(kS, like); }
  at::Tensor pseudo_inverse(const at::Tensor& y) const override {
    const auto s = placed(kS, y);
    const auto kept = s > 0;
    const auto projected = at::matmul(y, placed(kU, y));  // U^T y, [B, min(m, n)]
    auto coefficients = at::zeros({y.size(0), s.size(1)}, y.options());
    coefficients.narrow(1, 0, projected.size(1)).copy_(projected);
    return at::where(kept, coefficients / at::where(kept, s, at::ones_like(s)),
                     at::zeros_like(coefficients));
  }

 private:
  enum Factor : int64_t { kU, kVt, kS };

  // The factor on `like`'s device and dtype, converted once per placement: a DDRM step
  // uses V three times, and V is n x n.
  at::Tensor placed(Factor factor, const at::Tensor& like) const {
    const at::Tensor& stored = factor == kU ? u_ : factor == kVt ? v_transposed_ : singular_values_;
    return cache_.get({like.device(), like.scalar_type(), {factor}},
                      [&] { return stored.to(like.device(), like.scalar_type()); });
  }

  std::vector<int64_t> input_shape_;
  at::Tensor u_;                // [m, min(m, n)]
  at::Tensor v_transposed_;     // [n, n]
  at::Tensor singular_values_;  // [1, n]
  detail::PlacementCache cache_;
};

}  // namespace

std::shared_ptr<const SpectralDecomposition> DenseMatrix::spectral_decomposition(
    const at::Tensor& /*like*/) const {
  require(rows() <= kMaxDecomposedSize && cols() <= kMaxDecomposedSize,
          "DenseMatrix::spectral_decomposition(): the matrix is {} x {}; its SVD is computed "
          "and kept only up to {} rows and columns",
          rows(), cols(), kMaxDecomposedSize);
  std::lock_guard<std::mutex> lock(decomposition_mutex_);
  if (!decomposition_) {
    at::NoGradGuard no_grad;
    decomposition_ =
        std::make_shared<MatrixDecomposition>(matrix_, input_shape_, kSingularValueCutoff);
  }
  return decomposition_;
}

}  // namespace mapinverse
