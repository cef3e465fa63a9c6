// The conjugate-gradient default of LinearOperator::solve_gram(), on a composition
// (which has no closed form) of operators that do.
#include <memory>

// torch before Catch: glog, pulled in by torch, defines its own CHECK.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include "mapinverse/operators/average_pool.hpp"
#include "mapinverse/operators/composition.hpp"
#include "mapinverse/operators/gaussian_blur.hpp"
#include "support/random_tensors.hpp"

using Catch::Matchers::Contains;
using mapinverse::ComposedOperator;
using mapinverse::ConjugateGradientOptions;
using mapinverse::testing::normal;

namespace {

ComposedOperator blur_then_pool(const ConjugateGradientOptions& options) {
  return ComposedOperator(
      std::make_shared<const mapinverse::AveragePool>(mapinverse::AveragePool::Options{2}),
      std::make_shared<const mapinverse::GaussianBlur>(mapinverse::GaussianBlur::Options{1.0, 0}),
      options);
}

double residual(const ComposedOperator& op, const torch::Tensor& u, const torch::Tensor& r,
                double a, double b) {
  return ((a * u + b * op.gram(u) - r).norm() / r.norm()).item<double>();
}

}  // namespace

TEST_CASE("conjugate gradients reach the requested tolerance per sample", "[operators][cg]") {
  auto r = normal({3, 2, 8, 8}, 1);
  r[1].zero_();  // a zero right-hand side must give a zero solution, not NaN
  for (const double tolerance : {1e-4, 1e-10}) {
    CAPTURE(tolerance);
    ConjugateGradientOptions options;
    options.tolerance = tolerance;
    const auto op = blur_then_pool(options);
    const auto u = op.solve_gram(r, 0.01, 1.0);
    CHECK(torch::equal(u[1], torch::zeros_like(u[1])));
    CHECK(residual(op, u.index({torch::indexing::Slice(0, 1)}),
                   r.index({torch::indexing::Slice(0, 1)}), 0.01, 1.0) <= tolerance);
    CHECK(residual(op, u.index({torch::indexing::Slice(2, 3)}),
                   r.index({torch::indexing::Slice(2, 3)}), 0.01, 1.0) <= tolerance);
  }
}

TEST_CASE("conjugate gradients stop after max_iterations", "[operators][cg]") {
  const auto r = normal({1, 1, 8, 8}, 2);
  ConjugateGradientOptions one_step;
  one_step.tolerance = 1e-12;
  one_step.max_iterations = 1;
  ConjugateGradientOptions many_steps = one_step;
  many_steps.max_iterations = 100;
  const auto coarse_op = blur_then_pool(one_step);
  const auto fine_op = blur_then_pool(many_steps);
  const double coarse = residual(coarse_op, coarse_op.solve_gram(r, 1e-3, 1.0), r, 1e-3, 1.0);
  const double fine = residual(fine_op, fine_op.solve_gram(r, 1e-3, 1.0), r, 1e-3, 1.0);
  CHECK(coarse > 1e-3);
  CHECK(fine < 1e-10);
}

TEST_CASE("conjugate-gradient options are validated", "[operators][cg]") {
  ConjugateGradientOptions options;
  options.tolerance = 0.0;
  REQUIRE_THROWS_WITH(options.validate(),
                      Contains("ConjugateGradientOptions::tolerance = 0. Violated constraint: "
                               "tolerance > 0"));
  REQUIRE_THROWS_AS(blur_then_pool(options), std::invalid_argument);
  options = ConjugateGradientOptions{};
  options.max_iterations = 0;
  REQUIRE_THROWS_WITH(blur_then_pool(options),
                      Contains("ConjugateGradientOptions::max_iterations = 0"));
}
