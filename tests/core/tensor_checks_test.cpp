#include <cmath>

// torch before Catch: glog, pulled in by torch, defines its own CHECK.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include "mapinverse/core/tensor_checks.hpp"

using namespace mapinverse;
using Catch::Matchers::Contains;

TEST_CASE("check_shape names the argument, the expected and the received shape") {
  const auto x = torch::zeros({2, 3, 28, 28});
  CHECK_NOTHROW(mapinverse::check_shape(x, {-1, 3, 28, 28}, "Op::apply()", "x"));
  CHECK_THROWS_WITH(mapinverse::check_shape(x, {-1, 1, 28, 28}, "Op::apply()", "x"),
                    Contains("Op::apply(): expected x of shape [B,1,28,28], got [2,3,28,28]"));
  CHECK_THROWS_AS(mapinverse::check_shape(torch::Tensor(), {1}, "Op::apply()", "x"),
                  std::invalid_argument);
}

TEST_CASE("per_sample broadcasts a scalar or one value per sample") {
  const auto x = torch::zeros({3, 1, 2, 2}, torch::kFloat64);
  CHECK(mapinverse::per_sample(torch::scalar_tensor(2.0), x, "f()").sizes() ==
        torch::IntArrayRef({1, 1, 1, 1}));
  const auto sigma = mapinverse::per_sample(torch::tensor({1.0, 2.0, 3.0}), x, "f()");
  CHECK(sigma.sizes() == torch::IntArrayRef({3, 1, 1, 1}));
  CHECK(sigma.scalar_type() == torch::kFloat64);
  CHECK_THROWS_WITH(mapinverse::per_sample(torch::ones({2}), x, "f()"),
                    Contains("expected sigma as a scalar or of shape [3], got [2]"));
}

TEST_CASE("check_finite and check_same_placement report the problem") {
  CHECK_THROWS_WITH(mapinverse::check_finite(torch::tensor({1.0, std::nan("")}), "f()", "y"),
                    Contains("y contains NaN"));
  CHECK_THROWS_WITH(
      mapinverse::check_same_placement(torch::zeros({1}, torch::kFloat32),
                                       torch::zeros({1}, torch::kFloat64), "f()", "x", "y"),
      Contains("x has dtype Float but y has dtype Double"));
}
