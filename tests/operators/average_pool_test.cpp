// torch before Catch: glog, pulled in by torch, defines its own CHECK.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include "mapinverse/operators/average_pool.hpp"

using Catch::Matchers::Contains;
using mapinverse::AveragePool;

TEST_CASE("AveragePool averages k x k blocks and up-samples in the adjoint", "[operators]") {
  const AveragePool pool(AveragePool::Options{2});
  const auto x = torch::arange(16, torch::kFloat64).reshape({1, 1, 4, 4});
  const auto y = pool.apply(x);
  REQUIRE(y.sizes() == torch::IntArrayRef{1, 1, 2, 2});
  // Top-left block {0, 1, 4, 5}, bottom-right block {10, 11, 14, 15}.
  CHECK(y.index({0, 0, 0, 0}).item<double>() == 2.5);
  CHECK(y.index({0, 0, 1, 1}).item<double>() == 12.5);

  const auto up =
      pool.adjoint(torch::tensor({4.0, 8.0, 12.0, 16.0}, torch::kFloat64).reshape({1, 1, 2, 2}));
  REQUIRE(up.sizes() == torch::IntArrayRef{1, 1, 4, 4});
  CHECK(up.index({0, 0, 1, 1}).item<double>() == 1.0);
  CHECK(up.index({0, 0, 0, 3}).item<double>() == 2.0);
  CHECK(up.index({0, 0, 3, 0}).item<double>() == 3.0);
  CHECK(up.index({0, 0, 2, 2}).item<double>() == 4.0);
  CHECK(pool.factor() == 2);
  CHECK(pool.name() == "AveragePool");
}

TEST_CASE("AveragePool's Gram matrix is I / k^2", "[operators]") {
  const AveragePool pool(AveragePool::Options{3});
  const auto y = torch::full({2, 3, 2, 2}, 9.0, torch::kFloat64);
  CHECK(torch::allclose(pool.gram(y), torch::ones_like(y)));
  CHECK(torch::allclose(pool.solve_gram(y, 1.0, 9.0), y / 2.0));
  CHECK(torch::allclose(pool.solve_gram(y, 0.0, 1.0), y * 9.0));
}

TEST_CASE("AveragePool rejects sizes that the factor does not divide", "[operators]") {
  const AveragePool pool(AveragePool::Options{3});
  const auto x = torch::zeros({2, 1, 6, 7});
  REQUIRE_THROWS_AS(pool.apply(x), std::invalid_argument);
  REQUIRE_THROWS_WITH(pool.apply(x),
                      Contains("AveragePool::apply(): expected x of shape [B,C,H,W] with H and W "
                               "divisible by the factor 3, got [2,1,6,7]"));
  REQUIRE_THROWS_WITH(pool.adjoint(torch::zeros({2, 4})),
                      Contains("expected y of shape [B,C,h,w], got [2,4]"));
  REQUIRE_THROWS_AS(AveragePool(AveragePool::Options{0}), std::invalid_argument);
  REQUIRE_THROWS_WITH(
      AveragePool(AveragePool::Options{0}),
      Contains("AveragePool::Options::factor = 0. Violated constraint: factor >= 1"));
}
