#include <Eigen/Dense>
// torch before Catch: glog, pulled in by torch, defines its own CHECK.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include "mapinverse/operators/dense_matrix.hpp"
#include "mapinverse/operators/dense_matrix_eigen.hpp"

using Catch::Matchers::Contains;
using mapinverse::DenseMatrix;

namespace {

/// [[1, 2, 3], [4, 5, 6]]
Eigen::MatrixXd small_matrix() {
  Eigen::MatrixXd matrix(2, 3);
  matrix << 1, 2, 3, 4, 5, 6;
  return matrix;
}

}  // namespace

TEST_CASE("DenseMatrix multiplies by H and H^T", "[operators][dense]") {
  const DenseMatrix op(mapinverse::eigen_to_tensor(small_matrix()), DenseMatrix::Options{});
  CHECK(torch::equal(op.matrix(),
                     torch::tensor({1., 2., 3., 4., 5., 6.}, torch::kFloat64).reshape({2, 3})));
  CHECK(op.rows() == 2);
  CHECK(op.cols() == 3);
  CHECK(op.input_shape() == std::vector<int64_t>{3});
  const auto x = torch::tensor({1., 0., -1., 2., 1., 0.}, torch::kFloat64).reshape({2, 3});
  CHECK(torch::equal(op.apply(x),
                     torch::tensor({-2., -2., 4., 13.}, torch::kFloat64).reshape({2, 2})));
  const auto y = torch::tensor({1., 1.}, torch::kFloat64).reshape({1, 2});
  CHECK(torch::equal(op.adjoint(y), torch::tensor({5., 7., 9.}, torch::kFloat64).reshape({1, 3})));
}

TEST_CASE("DenseMatrix flattens image-shaped inputs and returns them from the adjoint",
          "[operators][dense]") {
  const auto matrix = torch::arange(24, torch::kFloat32).reshape({2, 12});
  const DenseMatrix op(matrix, DenseMatrix::Options{{1, 3, 4}});
  const auto x = torch::ones({5, 1, 3, 4});
  REQUIRE(op.apply(x).sizes() == torch::IntArrayRef{5, 2});
  CHECK(torch::equal(op.apply(x), op.apply(x.reshape({5, 12}))));
  CHECK(op.adjoint(torch::ones({5, 2})).sizes() == torch::IntArrayRef{5, 1, 3, 4});
  REQUIRE_THROWS_WITH(op.apply(torch::zeros({5, 13})),
                      Contains("expected x of shape [B,1,3,4] (or [B,...] with 12 entries per "
                               "sample), got [5,13]"));
  REQUIRE_THROWS_WITH(op.adjoint(torch::zeros({5, 3})),
                      Contains("DenseMatrix::adjoint(): expected y of shape [B,2], got [5,3]"));
}

TEST_CASE("DenseMatrix's Cholesky solve_gram needs full row rank when a = 0",
          "[operators][dense]") {
  const DenseMatrix op(mapinverse::eigen_to_tensor(small_matrix()), DenseMatrix::Options{});
  const auto r = torch::tensor({1., 2.}, torch::kFloat64).reshape({1, 2});
  const auto u = op.solve_gram(r, 0.0, 1.0);
  CHECK(torch::allclose(op.gram(u), r, 0.0, 1e-12));

  Eigen::MatrixXd rank_one(2, 3);
  rank_one << 1, 2, 3, 2, 4, 6;
  const DenseMatrix singular(mapinverse::eigen_to_tensor(rank_one), DenseMatrix::Options{});
  REQUIRE_THROWS_AS(singular.solve_gram(r, 0.0, 1.0), std::invalid_argument);
  REQUIRE_THROWS_WITH(singular.solve_gram(r, 0.0, 1.0), Contains("not positive definite"));
  CHECK(torch::allclose(
      0.5 * singular.solve_gram(r, 0.5, 1.0) + singular.gram(singular.solve_gram(r, 0.5, 1.0)), r,
      0.0, 1e-12));
}

TEST_CASE("DenseMatrix validates its matrix and input shape", "[operators][dense]") {
  REQUIRE_THROWS_WITH(DenseMatrix(torch::zeros({6}), DenseMatrix::Options{}),
                      Contains("expected matrix of shape [m,n] with m, n >= 1, got [6]"));
  REQUIRE_THROWS_WITH(DenseMatrix(torch::full({2, 2}, std::nan("")), DenseMatrix::Options{}),
                      Contains("NaN"));
  REQUIRE_THROWS_WITH(
      DenseMatrix(mapinverse::eigen_to_tensor(small_matrix()), DenseMatrix::Options{{2, 2}}),
      Contains("DenseMatrix::Options::input_shape = [2,2]. Violated constraint: "
               "its product 4 equals the number of columns 3"));
  REQUIRE_THROWS_WITH(
      DenseMatrix(mapinverse::eigen_to_tensor(small_matrix()), DenseMatrix::Options{{3, 0}}),
      Contains("every size >= 1"));
}
