// The SVDs behind DDRM on any linear operator: V is orthogonal, S^+ U^T H x = S^+ S V^T x,
// and a matrix past the size limit is refused by name.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include <memory>

#include "mapinverse/core/random.hpp"
#include "mapinverse/operators/dense_matrix.hpp"
#include "mapinverse/operators/gaussian_blur.hpp"
#include "support/invalid_argument.hpp"

using namespace mapinverse;

namespace {

double relative_error(const torch::Tensor& a, const torch::Tensor& b) {
  return ((a - b).abs().max() / b.abs().max()).item<double>();
}

// to_spectral and from_spectral invert each other; the pseudo-inverse of H x gives x's
// coefficients wherever s > 0 and 0 elsewhere; ||V^T x|| = ||x||.
void check_decomposition(const LinearOperator& op, const torch::Tensor& x) {
  const auto svd = op.spectral_decomposition(x);
  REQUIRE(svd != nullptr);
  const auto c = svd->to_spectral(x);
  CHECK(relative_error(svd->from_spectral(c), x) < 1e-10);
  CHECK(std::abs(c.abs().square().sum().item<double>() / x.square().sum().item<double>() - 1.0) <
        1e-10);
  const auto s = svd->singular_values(x);
  const auto expected = c * (s > 0);
  CHECK(relative_error(svd->pseudo_inverse(op.apply(x)), expected) < 1e-8);
}

}  // namespace

TEST_CASE("GaussianBlur's Fourier decomposition", "[operators][spectral]") {
  GaussianBlur::Options options;
  options.sigma_pixels = 1.5;
  const GaussianBlur blur(options);
  auto generator = make_generator(1);
  const auto x = randn({2, 1, 12, 10}, torch::TensorOptions().dtype(torch::kFloat64), generator);
  check_decomposition(blur, x);
  // The singular values are |K^| with the small ones cut: the largest is the kernel's sum.
  const auto s = blur.spectral_decomposition(x)->singular_values(x);
  CHECK(s.max().item<double>() == Approx(1.0).epsilon(1e-12));
  CHECK((s > 0).logical_and(s < GaussianBlur::kSingularValueCutoff).sum().item<int64_t>() == 0);
}

TEST_CASE("DenseMatrix's computed SVD", "[operators][spectral]") {
  auto generator = make_generator(2);
  const auto options = torch::TensorOptions().dtype(torch::kFloat64);
  DenseMatrix::Options shape;
  shape.input_shape = {1, 3, 4};
  for (const int64_t rows : {5, 12, 20}) {
    const DenseMatrix op(randn({rows, 12}, options, generator), shape);
    check_decomposition(op, randn({3, 1, 3, 4}, options, generator));
    // The same object is returned on later calls: computed once.
    const auto like = torch::zeros({1, 1, 3, 4}, options);
    CHECK(op.spectral_decomposition(like) == op.spectral_decomposition(like));
  }
}

TEST_CASE("DenseMatrix refuses an SVD past its size limit", "[operators][spectral]") {
  const DenseMatrix op(torch::zeros({1, DenseMatrix::kMaxDecomposedSize + 1}), {});
  CHECK_THROWS_WITH(
      op.spectral_decomposition(torch::zeros({1, DenseMatrix::kMaxDecomposedSize + 1})),
      Catch::Contains("its SVD is computed and kept only up to 4096"));
}

TEST_CASE("GaussianBlur's solve_gram with a = 0 stays finite on a numerically singular blur",
          "[operators][spectral]") {
  // A 2-pixel blur on 28 x 28 has |K^|^2 down to 1e-17: dividing by it turned the noiseless
  // PGDM and DiffPIR steps into NaN. Frequencies below the cut-off now count as outside
  // range(H), as in spectral_decomposition().
  GaussianBlur::Options options;
  options.sigma_pixels = 2.0;
  const GaussianBlur blur(options);
  auto generator = make_generator(5);
  const auto x = randn({2, 1, 28, 28}, torch::TensorOptions().dtype(torch::kFloat32), generator);
  const auto r = blur.apply(x);
  const auto solved = blur.solve_gram(r, 0.0, 1.0);
  CHECK(torch::isfinite(solved).all().item<bool>());
  // H H^T solved reproduces r up to r's part on the cut frequencies (|K^| <= 1e-3).
  CHECK((blur.gram(solved) - r).abs().max().item<double>() < 1e-2 * r.abs().max().item<double>());
}
