#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

// torch before Catch: glog, pulled in by torch, defines its own CHECK.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include "mapinverse/optimizers/adam.hpp"
#include "mapinverse/optimizers/by_name.hpp"
#include "mapinverse/optimizers/gradient_ascent.hpp"
#include "mapinverse/optimizers/momentum.hpp"

using namespace mapinverse;
using Catch::Matchers::Contains;

namespace {

// f(z) = -1/2 (z - z*)^T A (z - z*), A = diag(a) positive: concave with maximum at z*.
struct ConcaveQuadratic {
  torch::Tensor curvature = torch::tensor({{1.0, 4.0, 0.5}, {2.0, 1.0, 3.0}}, torch::kFloat64);
  torch::Tensor maximiser = torch::tensor({{1.0, -2.0, 0.5}, {0.0, 3.0, -1.0}}, torch::kFloat64);

  torch::Tensor gradient(const torch::Tensor& z) const { return -curvature * (z - maximiser); }
};

struct Case {
  std::string label;
  std::shared_ptr<const Optimizer> optimizer;
  double learning_rate;
  int iterations;
};

torch::Tensor maximise(const Optimizer& optimizer, const ConcaveQuadratic& problem,
                       double learning_rate, int iterations) {
  auto z = torch::zeros_like(problem.maximiser);
  auto state = optimizer.start();
  for (int i = 0; i < iterations; ++i) z = state->step(z, problem.gradient(z), learning_rate);
  return z;
}

}  // namespace

TEST_CASE("every optimizer reaches the maximum of a concave quadratic") {
  const ConcaveQuadratic problem;
  Momentum::Options nesterov;
  nesterov.nesterov = true;
  const std::vector<Case> cases = {
      {"gradient ascent", std::make_shared<GradientAscent>(), 0.2, 300},
      {"momentum", std::make_shared<Momentum>(), 0.05, 400},
      {"nesterov", std::make_shared<Momentum>(nesterov), 0.05, 400},
      {"adam", std::make_shared<Adam>(), 0.05, 3000},
  };
  for (const auto& c : cases) {
    SECTION(c.label) {
      const auto z = maximise(*c.optimizer, problem, c.learning_rate, c.iterations);
      CHECK((z - problem.maximiser).abs().max().item<double>() < 1e-6);
    }
  }
}

TEST_CASE("gradient ascent is z + lambda g exactly (paper eq. 12)") {
  const auto z = torch::tensor({1.0, 2.0}, torch::kFloat64);
  const auto g = torch::tensor({0.5, -1.0}, torch::kFloat64);
  const auto next = GradientAscent().start()->step(z, g, 0.1);
  CHECK(torch::allclose(next, torch::tensor({1.05, 1.9}, torch::kFloat64)));
}

TEST_CASE("the first Adam step moves every coordinate by the learning rate") {
  const auto z = torch::zeros({3}, torch::kFloat64);
  const auto g = torch::tensor({1e-3, -5.0, 200.0}, torch::kFloat64);
  const auto next = Adam().start()->step(z, g, 0.01);
  CHECK(torch::allclose(next, torch::tensor({0.01, -0.01, 0.01}, torch::kFloat64), 1e-6, 1e-7));
}

TEST_CASE("start() gives independent states") {
  const Momentum momentum;
  const auto z = torch::zeros({1}, torch::kFloat64);
  const auto g = torch::ones({1}, torch::kFloat64);
  auto first = momentum.start();
  first->step(z, g, 1.0);
  const auto second_step = momentum.start()->step(z, g, 1.0);
  CHECK(second_step.item<double>() == Approx(1.0));
}

TEST_CASE("optimizer options are validated with the field name") {
  Momentum::Options momentum;
  momentum.momentum = 1.0;
  CHECK_THROWS_WITH(Momentum(momentum), Contains("Momentum::Options::momentum = 1"));
  Adam::Options adam;
  adam.beta2 = -0.1;
  CHECK_THROWS_WITH(Adam(adam), Contains("Adam::Options::beta2 = -0.1"));
  adam = {};
  adam.epsilon = 0.0;
  CHECK_THROWS_AS(Adam(adam), std::invalid_argument);
}

TEST_CASE("optimizers by name: the tool's and Python's names, and a clear error") {
  CHECK(optimizer_names() == std::vector<std::string>{"gd", "momentum", "adam"});
  CHECK(make_optimizer("gd")->name() == GradientAscent().name());
  CHECK(make_optimizer("momentum")->name() == Momentum(Momentum::Options{}).name());
  CHECK(make_optimizer("adam")->name() == Adam(Adam::Options{}).name());
  CHECK_THROWS_AS(make_optimizer("sgd"), std::invalid_argument);
  CHECK_THROWS_WITH(make_optimizer("sgd"), Catch::Matchers::Contains("unknown optimizer 'sgd'") &&
                                               Catch::Matchers::Contains("gd, momentum, adam"));
}
