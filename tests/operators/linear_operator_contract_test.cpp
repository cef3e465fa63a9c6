// The contract every LinearOperator must satisfy, checked on every operator of the
// library (and on a user-style subclass relying on all the defaults). A new operator
// is covered by adding one entry to linear_operator_cases().
#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include <Eigen/Dense>
// torch before Catch: glog, pulled in by torch, defines its own CHECK.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include "mapinverse/core/tensor_checks.hpp"
#include "mapinverse/operators/average_pool.hpp"
#include "mapinverse/operators/composition.hpp"
#include "mapinverse/operators/dense_matrix.hpp"
#include "mapinverse/operators/dense_matrix_eigen.hpp"
#include "mapinverse/operators/forward_operator.hpp"
#include "mapinverse/operators/gaussian_blur.hpp"
#include "mapinverse/operators/inpainting.hpp"
#include "mapinverse/operators/linearisation.hpp"
#include "mapinverse/operators/masks.hpp"
#include "mapinverse/operators/pointwise.hpp"
#include "support/eigen_tensors.hpp"
#include "support/random_tensors.hpp"

using Catch::Matchers::Contains;
using mapinverse::LinearOperator;
using mapinverse::testing::kDouble;
using mapinverse::testing::normal;
using mapinverse::testing::relative_error;
using mapinverse::testing::to_vector;
using torch::indexing::Slice;

namespace {

constexpr int64_t kBatch = 2;

/// A user-style operator that overrides only the pure virtuals: H = diag(w), so
/// gram() and solve_gram() run the library defaults (conjugate gradients).
class DiagonalScaling final : public LinearOperator {
 public:
  explicit DiagonalScaling(torch::Tensor weights) : weights_(std::move(weights)) {}

  torch::Tensor apply(const torch::Tensor& x) const override { return scale(x, "apply()", "x"); }
  torch::Tensor adjoint(const torch::Tensor& y) const override {
    return scale(y, "adjoint()", "y");
  }
  std::string name() const override { return "DiagonalScaling"; }

 private:
  torch::Tensor scale(const torch::Tensor& x, const char* method, const char* name) const {
    const auto where = std::string("DiagonalScaling::") + method;
    mapinverse::check_floating(x, where.c_str(), name);
    mapinverse::check_shape(x, {-1, weights_.size(0)}, where.c_str(), name);
    return x * weights_.to(x.options());
  }

  torch::Tensor weights_;
};

struct OperatorCase {
  std::string label;
  std::shared_ptr<const LinearOperator> op;
  /// Per-sample input shape; inputs are [kBatch, sample_shape...].
  std::vector<int64_t> sample_shape;
  /// A full input shape that apply() must reject.
  std::vector<int64_t> bad_shape;
  /// Relative accuracy of solve_gram() against a dense solve: closed forms are exact
  /// up to rounding, conjugate gradients up to its tolerance times the conditioning.
  double solve_tolerance;
};

std::vector<int64_t> batched(const std::vector<int64_t>& sample_shape) {
  std::vector<int64_t> shape{kBatch};
  shape.insert(shape.end(), sample_shape.begin(), sample_shape.end());
  return shape;
}

mapinverse::ConjugateGradientOptions tight_cg() {
  mapinverse::ConjugateGradientOptions options;
  options.tolerance = 1e-13;
  options.max_iterations = 500;
  return options;
}

std::vector<OperatorCase> make_linear_operator_cases() {
  using namespace mapinverse;
  const auto pool2 = std::make_shared<const AveragePool>(AveragePool::Options{2});
  const auto blur = std::make_shared<const GaussianBlur>(GaussianBlur::Options{0.8, 0});
  const auto tanh = PointwiseNonlinear::tanh();
  const auto entries = normal({7, 12}, 9);
  Eigen::MatrixXd eigen_matrix(7, 12);
  for (Eigen::Index i = 0; i < eigen_matrix.rows(); ++i) {
    for (Eigen::Index j = 0; j < eigen_matrix.cols(); ++j) {
      eigen_matrix(i, j) = entries.index({i, j}).item<double>();
    }
  }
  const auto per_sample_masks =
      torch::cat({random_mask(6, 6, 0.5, 1), paper_mask(PaperMask::kSr2x, 6, 6)});
  const auto masked_sensing = compose(
      std::make_shared<const DenseMatrix>(normal({10, 36}, 5), DenseMatrix::Options{{1, 6, 6}}),
      std::make_shared<const Inpainting>(paper_mask(PaperMask::kBox25, 6, 6)));
  return {
      {"Inpainting, shared random mask",
       std::make_shared<const Inpainting>(random_mask(8, 8, 0.5, 7)),
       {1, 8, 8},
       {2, 1, 8, 7},
       1e-10},
      {"Inpainting, per-sample masks",
       std::make_shared<const Inpainting>(per_sample_masks),
       {1, 6, 6},
       {3, 1, 6, 6},
       1e-10},
      {"Inpainting, box25 mask on 2 channels",
       std::make_shared<const Inpainting>(paper_mask(PaperMask::kBox25, 6, 6)),
       {2, 6, 6},
       {2, 2, 5, 6},
       1e-10},
      {"AveragePool k=2", pool2, {1, 8, 8}, {2, 1, 7, 8}, 1e-10},
      {"AveragePool k=3 on 2 channels",
       std::make_shared<const AveragePool>(AveragePool::Options{3}),
       {2, 6, 6},
       {2, 2, 6, 4},
       1e-10},
      {"GaussianBlur sigma 0.8", blur, {1, 8, 8}, {2, 64}, 1e-8},
      {"GaussianBlur 3x3 kernel on a 6x7 image",
       std::make_shared<const GaussianBlur>(GaussianBlur::Options{1.0, 3}),
       {1, 6, 7},
       {2, 6, 7},
       1e-8},
      {"DenseMatrix 5x12",
       std::make_shared<const DenseMatrix>(normal({5, 12}, 3), DenseMatrix::Options{}),
       {12},
       {2, 11},
       1e-10},
      {"DenseMatrix from Eigen on [1,3,4] inputs",
       make_dense_matrix(eigen_matrix, DenseMatrix::Options{{1, 3, 4}}),
       {1, 3, 4},
       {2, 1, 3, 5},
       1e-10},
      {"ComposedOperator AveragePool . GaussianBlur",
       std::make_shared<const ComposedOperator>(pool2, blur, tight_cg()),
       {1, 8, 8},
       {2, 1, 8, 7},
       1e-8},
      {"compose(DenseMatrix, Inpainting)", masked_sensing, {1, 6, 6}, {2, 1, 6, 5}, 1e-5},
      {"LinearisedOperator of tanh",
       std::make_shared<const LinearisedOperator>(tanh, normal({kBatch, 1, 6, 6}, 11), tight_cg()),
       {1, 6, 6},
       {2, 1, 6, 5},
       1e-8},
      {"LinearisedOperator of AveragePool . tanh",
       std::make_shared<const LinearisedOperator>(compose(pool2, tanh),
                                                  normal({kBatch, 1, 8, 8}, 13), tight_cg()),
       {1, 8, 8},
       {2, 1, 8, 7},
       1e-8},
      {"DiagonalScaling (library defaults)",
       std::make_shared<const DiagonalScaling>(torch::linspace(0.5, 2.0, 9, kDouble)),
       {9},
       {2, 8},
       1e-5},
  };
}

const std::vector<OperatorCase>& linear_operator_cases() {
  static const auto cases = make_linear_operator_cases();
  return cases;
}

const OperatorCase& generated_case() {
  const auto index = GENERATE(range(std::size_t{0}, linear_operator_cases().size()));
  return linear_operator_cases()[index];
}

/// The dense H (m x n) of every sample, one apply() per basis vector.
std::vector<Eigen::MatrixXd> dense_matrices(const LinearOperator& op,
                                            const std::vector<int64_t>& sample_shape) {
  const auto shape = batched(sample_shape);
  const int64_t n =
      std::accumulate(sample_shape.begin(), sample_shape.end(), int64_t{1}, std::multiplies<>());
  const int64_t m = op.apply(torch::zeros(shape, kDouble)).numel() / kBatch;
  std::vector<Eigen::MatrixXd> matrices(kBatch, Eigen::MatrixXd(m, n));
  for (int64_t j = 0; j < n; ++j) {
    auto basis = torch::zeros({kBatch, n}, kDouble);
    basis.index_put_({Slice(), j}, 1.0);
    const auto column = op.apply(basis.reshape(shape)).reshape({kBatch, m});
    for (int64_t s = 0; s < kBatch; ++s) matrices[s].col(j) = to_vector(column[s]);
  }
  return matrices;
}

}  // namespace

TEST_CASE("every linear operator satisfies <H x, y> = <x, H^T y>", "[operators][contract]") {
  const auto& c = generated_case();
  INFO(c.label);
  const auto x = normal(batched(c.sample_shape), 21);
  const auto hx = c.op->apply(x);
  const auto y = normal(hx.sizes().vec(), 22);
  const auto hty = c.op->adjoint(y);
  REQUIRE(hty.sizes() == x.sizes());
  for (int64_t s = 0; s < kBatch; ++s) {
    const double lhs = (hx[s] * y[s]).sum().item<double>();
    const double rhs = (x[s] * hty[s]).sum().item<double>();
    const double scale = hx[s].norm().item<double>() * y[s].norm().item<double>();
    CAPTURE(s, lhs, rhs);
    CHECK(std::abs(lhs - rhs) <= 1e-10 * scale);
  }
}

TEST_CASE("every linear operator's gram and solve_gram match a dense solve",
          "[operators][contract]") {
  const auto& c = generated_case();
  INFO(c.label);
  const auto matrices = dense_matrices(*c.op, c.sample_shape);
  const int64_t m = matrices[0].rows();
  const auto measurement_shape =
      c.op->apply(torch::zeros(batched(c.sample_shape), kDouble)).sizes().vec();

  const auto y = normal(measurement_shape, 31);
  const auto gram = c.op->gram(y);
  REQUIRE(gram.sizes() == y.sizes());
  CHECK(relative_error(gram, c.op->apply(c.op->adjoint(y))) < 1e-12);

  const std::vector<std::pair<double, double>> coefficients{
      {1.0, 0.0}, {0.3, 1.0}, {0.01, 2.0}, {0.0, 1.0}};
  for (const auto& [a, b] : coefficients) {
    CAPTURE(a, b);
    // With a == 0 the system is singular unless H has full row rank; r is taken in
    // range(H), where the solution is unique in range(H) (the pseudo-inverse's).
    const auto r =
        a > 0.0 ? normal(measurement_shape, 32) : c.op->apply(normal(batched(c.sample_shape), 33));
    const auto solution = c.op->solve_gram(r, a, b);
    REQUIRE(solution.sizes() == r.sizes());
    for (int64_t s = 0; s < kBatch; ++s) {
      CAPTURE(s);
      const auto& h = matrices[static_cast<size_t>(s)];
      const Eigen::MatrixXd hht = h * h.transpose();
      const Eigen::MatrixXd system = a * Eigen::MatrixXd::Identity(m, m) + b * hht;
      const Eigen::VectorXd rhs = to_vector(r[s]);
      const Eigen::VectorXd expected = system.completeOrthogonalDecomposition().solve(rhs);
      const Eigen::VectorXd actual = to_vector(solution[s]);
      CHECK((actual - expected).norm() <= c.solve_tolerance * expected.norm());
      CHECK((to_vector(gram[s]) - hht * to_vector(y[s])).norm() <=
            1e-12 * to_vector(gram[s]).norm() + 1e-14);
    }
  }
}

TEST_CASE("every linear operator's autograd VJP equals its adjoint", "[operators][contract]") {
  const auto& c = generated_case();
  INFO(c.label);
  const auto x = normal(batched(c.sample_shape), 41);
  const auto v = normal(c.op->apply(x).sizes().vec(), 42);
  const auto expected = c.op->adjoint(v);
  CHECK(relative_error(c.op->vjp(x, v), expected) < 1e-12);
  {
    // The base-class implementation differentiates apply() by autograd.
    torch::NoGradGuard no_grad;
    const auto autograd_vjp = c.op->mapinverse::ForwardOperator::vjp(x, v);
    CHECK_FALSE(autograd_vjp.requires_grad());
    CHECK(relative_error(autograd_vjp, expected) < 1e-12);
  }
  CHECK(c.op->is_linear());
}

TEST_CASE("every linear operator keeps the dtype of its input", "[operators][contract]") {
  const auto& c = generated_case();
  INFO(c.label);
  const auto x64 = normal(batched(c.sample_shape), 51);
  const auto y64 = c.op->apply(x64);
  const auto r64 = normal(y64.sizes().vec(), 52);
  for (const auto dtype : {torch::kFloat32, torch::kFloat64}) {
    CAPTURE(c10::toString(dtype));
    const auto x = x64.to(dtype);
    const auto r = r64.to(dtype);
    const auto tolerance = dtype == torch::kFloat32 ? 1e-4 : 1e-12;
    const std::vector<std::pair<torch::Tensor, torch::Tensor>> results{
        {c.op->apply(x), y64},
        {c.op->adjoint(r), c.op->adjoint(r64)},
        {c.op->gram(r), c.op->gram(r64)},
        {c.op->solve_gram(r, 0.5, 1.0), c.op->solve_gram(r64, 0.5, 1.0)},
        {c.op->vjp(x, r), c.op->vjp(x64, r64)},
    };
    for (const auto& [result, reference] : results) {
      CHECK(result.scalar_type() == dtype);
      CHECK(result.device() == x.device());
      CHECK(relative_error(result.to(torch::kFloat64), reference) < tolerance);
    }
  }
}

TEST_CASE("every linear operator rejects a wrongly shaped input, naming both shapes",
          "[operators][contract]") {
  const auto& c = generated_case();
  INFO(c.label);
  const auto bad = torch::zeros(c.bad_shape, kDouble);
  REQUIRE_THROWS_AS(c.op->apply(bad), std::invalid_argument);
  REQUIRE_THROWS_WITH(c.op->apply(bad),
                      Contains("expected") && Contains(mapinverse::shape_string(bad)));
  REQUIRE_THROWS_AS(c.op->apply(torch::zeros(batched(c.sample_shape), torch::kInt64)),
                    std::invalid_argument);
}

TEST_CASE("every linear operator validates the solve_gram coefficients", "[operators][contract]") {
  const auto& c = generated_case();
  INFO(c.label);
  const auto r = c.op->apply(normal(batched(c.sample_shape), 61));
  REQUIRE_THROWS_AS(c.op->solve_gram(r, -1.0, 1.0), std::invalid_argument);
  REQUIRE_THROWS_WITH(c.op->solve_gram(r, -1.0, 1.0),
                      Contains("solve_gram()") && Contains("expected a >= 0, got a = -1"));
  REQUIRE_THROWS_AS(c.op->solve_gram(r, 1.0, -0.5), std::invalid_argument);
  REQUIRE_THROWS_WITH(c.op->solve_gram(r, 1.0, -0.5), Contains("expected b >= 0, got b = -0.5"));
  REQUIRE_THROWS_AS(c.op->solve_gram(r, 0.0, 0.0), std::invalid_argument);
  REQUIRE_THROWS_WITH(c.op->solve_gram(r, 0.0, 0.0), Contains("expected a + b > 0"));
  REQUIRE_THROWS_WITH(c.op->solve_gram(r, std::nan(""), 1.0), Contains("expected a >= 0"));
}
