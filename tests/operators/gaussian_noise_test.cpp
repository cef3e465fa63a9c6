#include <cmath>

// torch before Catch: glog, pulled in by torch, defines its own CHECK.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include "mapinverse/core/random.hpp"
#include "mapinverse/operators/gaussian_noise.hpp"

using Catch::Matchers::Contains;
using mapinverse::GaussianNoise;

TEST_CASE("GaussianNoise adds reproducible noise of the configured level", "[operators][noise]") {
  const GaussianNoise noise(GaussianNoise::Options{0.2});
  CHECK(noise.sigma() == 0.2);
  const auto clean = torch::linspace(-1.0, 1.0, 40000).reshape({4, 1, 100, 100});
  auto first = mapinverse::make_generator(7);
  auto second = mapinverse::make_generator(7);
  const auto y = noise.add(clean, first);
  CHECK(torch::equal(y, noise.add(clean, second)));
  REQUIRE(y.scalar_type() == torch::kFloat32);
  REQUIRE(y.sizes() == clean.sizes());
  const auto residual = (y - clean).to(torch::kFloat64);
  // 40000 draws: the standard error of the mean is 0.001, of the std about 0.0007.
  CHECK(std::abs(residual.mean().item<double>()) < 0.004);
  CHECK(residual.std().item<double>() == Approx(0.2).epsilon(0.015));

  const GaussianNoise noiseless(GaussianNoise::Options{});
  auto third = mapinverse::make_generator(7);
  CHECK(torch::equal(noiseless.add(clean, third), clean));
}

TEST_CASE("GaussianNoise's log-likelihood is -||y - A x||^2 / (2 sigma^2) per sample",
          "[operators][noise]") {
  const GaussianNoise noise(GaussianNoise::Options{0.5});
  const auto predicted = torch::zeros({2, 3}, torch::kFloat64);
  const auto y = torch::tensor({1., 0., 0., 1., 1., 1.}, torch::kFloat64).reshape({2, 3});
  const auto log_likelihood = noise.log_likelihood(y, predicted);
  REQUIRE(log_likelihood.sizes() == torch::IntArrayRef{2});
  CHECK(log_likelihood[0].item<double>() == Approx(-2.0));
  CHECK(log_likelihood[1].item<double>() == Approx(-6.0));
  REQUIRE_THROWS_WITH(noise.log_likelihood(y, torch::zeros({2, 4}, torch::kFloat64)),
                      Contains("expected predicted of the shape of y [2,3], got [2,4]"));
  REQUIRE_THROWS_WITH(GaussianNoise(GaussianNoise::Options{}).log_likelihood(y, predicted),
                      Contains("expected sigma > 0"));
}

TEST_CASE("GaussianNoise validates sigma", "[operators][noise]") {
  REQUIRE_THROWS_AS(GaussianNoise(GaussianNoise::Options{-1.0}), std::invalid_argument);
  REQUIRE_THROWS_WITH(GaussianNoise(GaussianNoise::Options{-1.0}),
                      Contains("GaussianNoise::Options::sigma = -1. Violated constraint"));
  REQUIRE_THROWS_WITH(GaussianNoise(GaussianNoise::Options{INFINITY}), Contains("sigma = inf"));
}
