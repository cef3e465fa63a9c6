#include <memory>
#include <vector>

// torch before Catch: glog, pulled in by torch, defines its own CHECK.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include "mapinverse/operators/average_pool.hpp"
#include "mapinverse/operators/composition.hpp"
#include "mapinverse/operators/dense_matrix.hpp"
#include "mapinverse/operators/gaussian_blur.hpp"
#include "mapinverse/operators/inpainting.hpp"
#include "mapinverse/operators/linearisation.hpp"
#include "mapinverse/operators/masks.hpp"
#include "mapinverse/operators/pointwise.hpp"
#include "support/random_tensors.hpp"

using Catch::Matchers::Contains;
using mapinverse::ForwardOperator;
using mapinverse::LinearisedOperator;
using mapinverse::LinearOperator;
using mapinverse::PointwiseNonlinear;
using mapinverse::testing::normal;
using mapinverse::testing::relative_error;

TEST_CASE("the linearisation of a linear operator is that operator", "[operators][linearisation]") {
  using namespace mapinverse;
  const std::vector<std::shared_ptr<const LinearOperator>> operators{
      std::make_shared<const Inpainting>(paper_mask(PaperMask::kSr2x, 8, 8)),
      std::make_shared<const GaussianBlur>(GaussianBlur::Options{1.5, 0}),
      std::make_shared<const AveragePool>(AveragePool::Options{4}),
      std::make_shared<const DenseMatrix>(normal({7, 64}, 1), DenseMatrix::Options{{1, 8, 8}}),
  };
  for (const auto& op : operators) {
    CAPTURE(op->name());
    const auto x0 = normal({3, 1, 8, 8}, 2);
    const LinearisedOperator linearised(op, x0);
    CHECK(linearised.name() == "Linearised(" + op->name() + ")");
    const auto v = normal({3, 1, 8, 8}, 3);
    const auto u = normal(op->apply(v).sizes().vec(), 4);
    CHECK(relative_error(linearised.offset(), op->apply(x0)) < 1e-14);
    CHECK(relative_error(linearised.apply(v), op->apply(v)) < 1e-12);
    CHECK(relative_error(linearised.adjoint(u), op->adjoint(u)) < 1e-12);
  }
}

TEST_CASE("the linearisation of tanh is diag(1 - tanh(x0)^2)", "[operators][linearisation]") {
  const auto x0 = normal({2, 3, 4, 4}, 5);
  const LinearisedOperator linearised(PointwiseNonlinear::tanh(), x0);
  const auto derivative = 1 - torch::tanh(x0).square();
  const auto v = normal({2, 3, 4, 4}, 6);
  CHECK(relative_error(linearised.apply(v), derivative * v) < 1e-13);
  CHECK(relative_error(linearised.adjoint(v), derivative * v) < 1e-13);
  CHECK(torch::equal(linearised.offset(), torch::tanh(x0)));
  CHECK(torch::equal(linearised.point(), x0));
  CHECK_FALSE(linearised.apply(v).requires_grad());

  // float32 inputs use x0 in float32.
  const auto v32 = v.to(torch::kFloat32);
  const auto jv32 = linearised.apply(v32);
  CHECK(jv32.scalar_type() == torch::kFloat32);
  CHECK(relative_error(jv32.to(torch::kFloat64), derivative * v) < 1e-5);
}

TEST_CASE("the linearisation is a first-order Taylor model", "[operators][linearisation]") {
  const auto op = mapinverse::compose(
      std::make_shared<const mapinverse::AveragePool>(mapinverse::AveragePool::Options{2}),
      PointwiseNonlinear::tanh());
  const auto x0 = normal({2, 1, 6, 6}, 7);
  const auto direction = normal({2, 1, 6, 6}, 8);
  const LinearisedOperator linearised(op, x0);
  // The Taylor remainder shrinks like h^2: 100x for 10x smaller h.
  std::vector<double> remainders;
  for (const double h : {1e-2, 1e-3}) {
    const auto exact = op->apply(x0 + h * direction);
    const auto model = linearised.offset() + h * linearised.apply(direction);
    remainders.push_back((exact - model).norm().item<double>());
  }
  CHECK(remainders[1] < remainders[0] / 50.0);
  CHECK(remainders[1] > remainders[0] / 200.0);
}

TEST_CASE("the linearisation is differentiable in its argument and works in inference mode",
          "[operators][linearisation]") {
  const auto x0 = normal({2, 5}, 9);
  const LinearisedOperator linearised(PointwiseNonlinear::tanh(), x0);
  const auto derivative = 1 - torch::tanh(x0).square();
  const auto v = normal({2, 5}, 10).requires_grad_(true);
  linearised.apply(v).mul(torch::arange(10, torch::kFloat64).reshape({2, 5})).sum().backward();
  CHECK(relative_error(v.grad(), derivative * torch::arange(10, torch::kFloat64).reshape({2, 5})) <
        1e-13);

  c10::InferenceMode inference;
  const auto u = torch::ones({2, 5}, torch::kFloat64);
  CHECK(relative_error(linearised.adjoint(u), derivative) < 1e-13);
  CHECK(relative_error(linearised.apply(u), derivative) < 1e-13);
}

TEST_CASE("the linearisation checks its arguments", "[operators][linearisation]") {
  const LinearisedOperator linearised(PointwiseNonlinear::tanh(), torch::zeros({2, 3}));
  REQUIRE_THROWS_AS(linearised.apply(torch::zeros({2, 4})), std::invalid_argument);
  REQUIRE_THROWS_WITH(
      linearised.apply(torch::zeros({2, 4})),
      Contains(
          "Linearised(PointwiseNonlinear(tanh))::apply(): expected v of shape [2,3], got [2,4]"));
  REQUIRE_THROWS_WITH(linearised.adjoint(torch::zeros({3})),
                      Contains("expected u of shape [2,3], got [3]"));
  REQUIRE_THROWS_WITH(LinearisedOperator(nullptr, torch::zeros({2, 3})),
                      Contains("non-null operator"));
  REQUIRE_THROWS_WITH(
      LinearisedOperator(PointwiseNonlinear::tanh(), torch::zeros({2}, torch::kInt64)),
      Contains("floating-point"));
}

TEST_CASE("the default vjp differentiates apply() whatever the autograd mode",
          "[operators][linearisation]") {
  const auto tanh = PointwiseNonlinear::tanh();
  const auto x = normal({2, 1, 3, 3}, 11);
  const auto v = normal({2, 1, 3, 3}, 12);
  const auto expected = v * (1 - torch::tanh(x).square());
  CHECK(relative_error(tanh->vjp(x, v), expected) < 1e-14);
  {
    torch::NoGradGuard no_grad;
    CHECK(relative_error(tanh->vjp(x, v), expected) < 1e-14);
  }
  {
    c10::InferenceMode inference;
    const auto inference_x = x.clone();
    CHECK(relative_error(tanh->vjp(inference_x, v), expected) < 1e-14);
  }
  const auto tracked = x.clone().requires_grad_(true);
  const auto result = tanh->vjp(tracked, v);
  CHECK_FALSE(result.requires_grad());
  CHECK_FALSE(tracked.grad().defined());
  REQUIRE_THROWS_WITH(tanh->vjp(x, torch::zeros({2, 9}, torch::kFloat64)),
                      Contains("expected v of shape [2,1,3,3] (the shape of apply(x)), got [2,9]"));
}

TEST_CASE("compose() builds linear or non-linear compositions", "[operators][composition]") {
  using namespace mapinverse;
  const auto pool = std::make_shared<const AveragePool>(AveragePool::Options{2});
  const auto blur = std::make_shared<const GaussianBlur>(GaussianBlur::Options{1.0, 0});
  const auto tanh = PointwiseNonlinear::tanh();

  const auto linear = compose(pool, blur);
  static_assert(std::is_same_v<decltype(linear), const std::shared_ptr<const LinearOperator>>);
  CHECK(linear->is_linear());
  CHECK(linear->name() == "Composed(AveragePool, GaussianBlur)");
  const auto x = normal({2, 1, 8, 8}, 13);
  CHECK(torch::allclose(linear->apply(x), pool->apply(blur->apply(x)), 0.0, 1e-15));

  const auto nonlinear = compose(pool, tanh);
  static_assert(std::is_same_v<decltype(nonlinear), const std::shared_ptr<const ForwardOperator>>);
  CHECK_FALSE(nonlinear->is_linear());
  CHECK(nonlinear->name() == "Composed(AveragePool, PointwiseNonlinear(tanh))");
  const auto v = normal({2, 1, 4, 4}, 14);
  // The chained component VJPs equal autograd through the whole composition.
  CHECK(relative_error(nonlinear->vjp(x, v), nonlinear->ForwardOperator::vjp(x, v)) < 1e-14);
  CHECK(relative_error(nonlinear->vjp(x, v), (1 - torch::tanh(x).square()) * pool->adjoint(v)) <
        1e-14);

  const std::shared_ptr<const LinearOperator> none;
  REQUIRE_THROWS_WITH(ComposedOperator(none, pool), Contains("non-null outer operator"));
  REQUIRE_THROWS_WITH(ComposedForwardOperator(tanh, nullptr), Contains("non-null inner operator"));
}

TEST_CASE("PointwiseNonlinear wraps a shape-preserving function", "[operators][pointwise]") {
  const PointwiseNonlinear square([](const torch::Tensor& x) { return x.square(); }, "square");
  CHECK(square.name() == "PointwiseNonlinear(square)");
  const auto x = normal({2, 3}, 15);
  CHECK(torch::equal(square.apply(x), x.square()));
  CHECK(relative_error(square.vjp(x, torch::ones_like(x)), 2 * x) < 1e-15);
  const PointwiseNonlinear total([](const torch::Tensor& x) { return x.sum(); }, "sum");
  REQUIRE_THROWS_WITH(total.apply(x),
                      Contains("expected the function to return the shape of x [2,3], got []"));
  REQUIRE_THROWS_WITH(PointwiseNonlinear(nullptr, "nothing"), Contains("'nothing'"));
}
