#include <cmath>
#include <memory>

// torch before Catch: glog, pulled in by torch, defines its own CHECK.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include "mapinverse/models/denoiser_as_consistency.hpp"
#include "mapinverse/models/ode_consistency.hpp"
#include "support/gaussian_prior.hpp"
#include "support/random_tensors.hpp"

using namespace mapinverse;
using Catch::Matchers::Contains;

using mapinverse::testing::max_error;

namespace {

std::shared_ptr<const testing::IsotropicGaussianDenoiser> gaussian_prior() {
  return std::make_shared<testing::IsotropicGaussianDenoiser>(
      torch::tensor({0.3, -0.2, 0.1, 0.0}, torch::kFloat64).reshape({1, 1, 2, 2}), 0.25);
}

}  // namespace

TEST_CASE("DenoiserAsConsistency is D(z, sigma(t))") {
  const auto prior = gaussian_prior();
  const DenoiserAsConsistency consistency(prior);
  const auto z = torch::randn({3, 1, 2, 2}, torch::kFloat64);
  const auto t = torch::tensor({0.5, 2.0, 10.0}, torch::kFloat64);
  CHECK(torch::allclose(consistency.origin(z, t), prior->denoise(z, t)));
}

TEST_CASE("OdeConsistency approaches the closed-form PF-ODE map as the step count grows") {
  const auto prior = gaussian_prior();
  torch::manual_seed(3);
  const double t = 20.0;
  const auto z = t * torch::randn({4, 1, 2, 2}, torch::kFloat64);
  const auto exact = prior->exact_origin(z, t, kEpsilon);
  std::vector<double> errors;
  for (int64_t steps : {1, 2, 4, 8, 16, 32, 64}) {
    OdeConsistency::Options options;
    options.num_steps = steps;
    const OdeConsistency consistency(prior, options);
    errors.push_back(max_error(consistency.origin(z, t), exact));
    INFO("steps = " << steps << ", error = " << errors.back());
    if (errors.size() > 1) CHECK(errors.back() < errors[errors.size() - 2]);
  }
  // Heun is second order: doubling the steps divides the error by about 4.
  CHECK(errors.back() / errors[errors.size() - 2] < 0.3);
  CHECK(errors.back() < 2e-3);
}

TEST_CASE("OdeConsistency keeps the boundary condition and handles per-sample times") {
  const auto prior = gaussian_prior();
  OdeConsistency::Options options;
  options.num_steps = 64;
  const OdeConsistency consistency(prior, options);
  const auto z = torch::randn({2, 1, 2, 2}, torch::kFloat64);
  CHECK(max_error(consistency.origin(z, kEpsilon), z) < 1e-12);
  // Per-sample times must give what each time gives alone.
  const auto t = torch::tensor({1.0, 5.0}, torch::kFloat64);
  const auto both = consistency.origin(z, t);
  CHECK(max_error(both[0], consistency.origin(z[0].unsqueeze(0), 1.0)[0]) < 1e-12);
  CHECK(max_error(both[1], consistency.origin(z[1].unsqueeze(0), 5.0)[0]) < 1e-12);
  CHECK(max_error(both[0], prior->exact_origin(z[0], 1.0, kEpsilon)) < 1e-3);
  CHECK(max_error(both[1], prior->exact_origin(z[1], 5.0, kEpsilon)) < 1e-3);
  CHECK(consistency.network_calls_per_evaluation() == 127);
}

TEST_CASE("OdeConsistency with one step is the Euler step towards D") {
  const auto prior = gaussian_prior();
  OdeConsistency::Options options;
  options.num_steps = 1;
  const OdeConsistency consistency(prior, options);
  const auto z = torch::randn({2, 1, 2, 2}, torch::kFloat64);
  const double t = 3.0;
  const auto d = prior->denoise(z, t);
  CHECK(max_error(consistency.origin(z, t), d + (z - d) * kEpsilon / t) < 1e-12);
}

TEST_CASE("OdeConsistency is differentiable and its Jacobian matches the closed form") {
  const auto prior = gaussian_prior();
  OdeConsistency::Options options;
  options.num_steps = 64;
  const OdeConsistency consistency(prior, options);
  const double t = 2.0;
  auto z = torch::randn({1, 1, 2, 2}, torch::kFloat64).requires_grad_(true);
  const auto v = torch::randn({1, 1, 2, 2}, torch::kFloat64);
  const auto vjp = torch::autograd::grad({consistency.origin(z, t)}, {z}, {v})[0];
  const double scale = std::sqrt(0.25 + kEpsilon * kEpsilon) / std::sqrt(0.25 + t * t);
  CHECK(max_error(vjp, v * scale) < 1e-3 * max_error(v * scale, torch::zeros_like(v)));
}

TEST_CASE("adapters validate their inputs") {
  OdeConsistency::Options options;
  options.num_steps = 0;
  CHECK_THROWS_WITH(OdeConsistency(gaussian_prior(), options),
                    Contains("OdeConsistency::Options::num_steps = 0"));
  CHECK_THROWS_AS(DenoiserAsConsistency(nullptr), std::invalid_argument);
  const OdeConsistency consistency(gaussian_prior());
  CHECK_THROWS_WITH(consistency.origin(torch::zeros({2, 1, 2, 2}, torch::kFloat64), 0.001),
                    Contains("t >= epsilon"));
  CHECK_THROWS_WITH(consistency.origin(torch::zeros({2, 1, 2, 2}, torch::kFloat64),
                                       torch::ones({3}, torch::kFloat64)),
                    Contains("got [3]"));
}
