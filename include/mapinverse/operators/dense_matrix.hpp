#pragma once

#include <cstdint>
#include <numeric>
#include <string>
#include <mutex>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "mapinverse/core/tensor.hpp"
#include "mapinverse/core/error.hpp"
#include "mapinverse/core/tensor_checks.hpp"
#include "mapinverse/operators/forward_operator.hpp"
#include "mapinverse/operators/placement_cache.hpp"

namespace mapinverse {

/// A general linear forward model given as an explicit m x n matrix H (compressed
/// sensing, small tomography problems, tests). apply() takes [B,n] or any [B,...] with
/// n entries per sample and returns [B,m]; adjoint() returns [B, input_shape...].
/// solve_gram() factors the m x m matrix a I + b H H^T by Cholesky on every call,
/// in the input's dtype: meant for small m.
class DenseMatrix : public LinearOperator {
 public:
  struct Options {
    /// Per-sample shape of the input (e.g. {1,8,8}), which adjoint() returns; its
    /// product must equal the number of columns n. Empty means {n}.
    std::vector<int64_t> input_shape;

    void validate() const {
      for (const auto size : input_shape) {
        require(size >= 1,
                "DenseMatrix::Options::input_shape = [{}]. Violated constraint: every "
                "size >= 1",
                fmt::join(input_shape, ","));
      }
    }
  };

  /// `matrix` is [m,n], floating point and finite; it is copied and kept on its
  /// device and dtype, and moved to the input's on use.
  DenseMatrix(const at::Tensor& matrix, const Options& options)
      : matrix_(checked_matrix(matrix)), input_shape_(checked_input_shape(options, matrix_)) {}

  at::Tensor apply(const at::Tensor& x) const override;

  at::Tensor adjoint(const at::Tensor& y) const override;

  at::Tensor gram(const at::Tensor& y) const override;

  /// Closed form by a Cholesky factorisation of a I + b H H^T. With a == 0 this
  /// needs H of full row rank; otherwise std::invalid_argument.
  at::Tensor solve_gram(const at::Tensor& r, double a, double b) const override;

  std::string name() const override { return "DenseMatrix"; }

  /// H = U S V^T by torch's SVD, computed in float64 on the first call and kept;
  /// singular values at or below kSingularValueCutoff * max s count as 0. Refuses
  /// (std::invalid_argument) a matrix with more than kMaxDecomposedSize rows or
  /// columns: V alone would hold n^2 numbers (4096^2 in float64 is 128 MiB).
  std::shared_ptr<const SpectralDecomposition> spectral_decomposition(
      const at::Tensor& like) const override;

  static constexpr int64_t kMaxDecomposedSize = 4096;
  static constexpr double kSingularValueCutoff = 1e-6;

  /// H as given, [m,n].
  const at::Tensor& matrix() const { return matrix_; }
  int64_t rows() const { return matrix_.size(0); }
  int64_t cols() const { return matrix_.size(1); }
  const std::vector<int64_t>& input_shape() const { return input_shape_; }

 private:
  static at::Tensor checked_matrix(const at::Tensor& matrix) {
    constexpr const char* where = "DenseMatrix::DenseMatrix()";
    check_floating(matrix, where, "matrix");
    require(matrix.dim() == 2 && matrix.size(0) >= 1 && matrix.size(1) >= 1,
            "{}: expected matrix of shape [m,n] with m, n >= 1, got {}", where,
            shape_string(matrix));
    check_finite(matrix, where, "matrix");
    return matrix.detach().clone().contiguous();
  }

  static std::vector<int64_t> checked_input_shape(const Options& options,
                                                  const at::Tensor& matrix) {
    options.validate();
    if (options.input_shape.empty()) return {matrix.size(1)};
    const int64_t product = std::accumulate(options.input_shape.begin(), options.input_shape.end(),
                                            int64_t{1}, std::multiplies<>());
    require(product == matrix.size(1),
            "DenseMatrix::Options::input_shape = [{}]. Violated constraint: its product "
            "{} equals the number of columns {}",
            fmt::join(options.input_shape, ","), product, matrix.size(1));
    return options.input_shape;
  }

  void check_measurement(const at::Tensor& y, const char* where, const char* name) const {
    check_floating(y, where, name);
    require(y.dim() == 2 && y.size(1) == rows(), "{}: expected {} of shape [B,{}], got {}", where,
            name, rows(), shape_string(y));
  }

  at::Tensor placed(const at::Tensor& like) const {
    return cache_.get({like.device(), like.scalar_type(), {}},
                      [&] { return matrix_.to(like.options()); });
  }

  at::Tensor matrix_;
  mutable std::mutex decomposition_mutex_;
  mutable std::shared_ptr<const SpectralDecomposition> decomposition_;
  std::vector<int64_t> input_shape_;
  detail::PlacementCache cache_;
};

}  // namespace mapinverse
