#include <cmath>

// torch before Catch: glog, pulled in by torch, defines its own CHECK.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include "mapinverse/core/random.hpp"
#include "mapinverse/core/time_steps.hpp"

using namespace mapinverse;
using Catch::Matchers::Contains;

TEST_CASE("Karras time steps follow the rho-schedule from t_max to t_min") {
  TimeSteps::Options options;
  options.num_steps = 5;
  options.t_max = 80.0;
  options.t_min = 0.002;
  options.rho = 7.0;
  const TimeSteps steps(options);
  REQUIRE(steps.size() == 5);
  CHECK(steps[0] == 80.0);
  CHECK(steps[4] == 0.002);
  const double a = std::pow(80.0, 1.0 / 7.0);
  const double b = std::pow(0.002, 1.0 / 7.0);
  for (int64_t i = 1; i < 4; ++i) {
    CHECK(steps[i] == Approx(std::pow(a + i / 4.0 * (b - a), 7.0)).epsilon(1e-12));
  }
  for (int64_t i = 1; i < 5; ++i) CHECK(steps[i] < steps[i - 1]);
}

TEST_CASE("rho = 1 gives a uniform grid") {
  TimeSteps::Options options;
  options.num_steps = 3;
  options.t_max = 2.0;
  options.t_min = 1.0;
  options.rho = 1.0;
  const TimeSteps steps(options);
  CHECK(steps[1] == Approx(1.5));
}

TEST_CASE("TimeSteps::Options rejects invalid values naming the field") {
  TimeSteps::Options options;
  options.num_steps = 1;
  CHECK_THROWS_WITH(TimeSteps(options), Contains("num_steps = 1") && Contains(">= 2"));
  options = {};
  options.t_min = 0.0;
  CHECK_THROWS_WITH(TimeSteps(options), Contains("t_min = 0"));
  options = {};
  options.t_max = 0.001;
  CHECK_THROWS_WITH(TimeSteps(options), Contains("t_max = 0.001"));
  options = {};
  options.rho = std::nan("");
  CHECK_THROWS_WITH(TimeSteps(options), Contains("rho = nan"));
}

TEST_CASE("the same seed gives the same noise, on the device and dtype of the template") {
  auto first = make_generator(7);
  auto second = make_generator(7);
  const auto like = torch::zeros({2, 1, 4, 4}, torch::kFloat64);
  const auto a = randn_like(like, first);
  const auto b = randn_like(like, second);
  CHECK(a.scalar_type() == torch::kFloat64);
  CHECK(torch::equal(a, b));
  CHECK_FALSE(torch::equal(randn_like(like, first), a));
}
