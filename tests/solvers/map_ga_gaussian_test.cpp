#include <cmath>
#include <memory>

// torch before Catch: glog, pulled in by torch, defines its own CHECK.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include "mapinverse/operators/inpainting.hpp"
#include "mapinverse/operators/masks.hpp"
#include "mapinverse/optimizers/adam.hpp"
#include "mapinverse/optimizers/momentum.hpp"
#include "mapinverse/solvers/map_ga.hpp"
#include "support/gaussian_prior.hpp"

using namespace mapinverse;
using Catch::Matchers::Contains;

namespace {

constexpr double kPriorVariance = 0.09;

// A Gaussian prior N(mu, s^2 I) on 8x8 images with its exact denoiser and consistency map.
struct GaussianInpainting {
  torch::Tensor mean = 0.2 * torch::sin(torch::arange(64, torch::kFloat64)).reshape({1, 1, 8, 8});
  torch::Tensor mask = paper_mask(PaperMask::kBox50, 8, 8).to(torch::kFloat64);
  PriorModels models{std::make_shared<testing::IsotropicGaussianDenoiser>(mean, kPriorVariance),
                     std::make_shared<testing::IsotropicGaussianConsistency>(mean, kPriorVariance)};

  Problem problem(double sigma_y, int64_t batch = 2) const {
    auto generator = make_generator(11);
    const auto truth =
        mean + std::sqrt(kPriorVariance) * randn({batch, 1, 8, 8}, torch::kFloat64, generator);
    auto y = mask * truth;
    if (sigma_y > 0) y = y + sigma_y * mask * randn_like(y, generator);
    Problem p;
    p.measurement = y;
    p.forward_operator = std::make_shared<Inpainting>(mask);
    p.sigma_y = sigma_y;
    p.image_shape = {1, 8, 8};
    p.seed = 5;
    return p;
  }

  // argmax_x log N(y; Mx, sigma_y^2) + log N(x; mu, s^2): per pixel, the precision-weighted
  // mean where observed and mu elsewhere (= the posterior mean for a Gaussian prior).
  torch::Tensor map_estimate(const Problem& p) const {
    const auto observed = (kPriorVariance * p.measurement + p.sigma_y * p.sigma_y * mean) /
                          (kPriorVariance + p.sigma_y * p.sigma_y);
    return mask * observed + (1 - mask) * mean;
  }
};

double relative_error(const torch::Tensor& estimate, const torch::Tensor& truth) {
  return ((estimate - truth).norm() / truth.norm()).item<double>();
}

}  // namespace

TEST_CASE("MAP-GA with the prior reaches the closed-form MAP of a Gaussian prior") {
  const GaussianInpainting fixture;
  const auto problem = fixture.problem(0.1);
  MapGa::Options options;
  options.num_time_steps = 10;
  options.num_iter = 20;
  const auto summary = MapGa(fixture.models, options).solve(problem);
  const double error = relative_error(summary.estimate, fixture.map_estimate(problem));
  INFO(summary.brief_report() << ", relative error " << error);
  CHECK(error <= 1e-2);
  CHECK(summary.termination == TerminationReason::kCompleted);
  CHECK(summary.history.size() == 10);
  CHECK(summary.network_vjps == 200);
  // Each inner iteration: one C forward and one D forward; plus one C per time step.
  CHECK(summary.network_forwards == 2 * 200 + 10);
}

TEST_CASE("MAP-GA on noiseless inpainting matches y on the observed pixels") {
  const GaussianInpainting fixture;
  const auto problem = fixture.problem(0.0);
  MapGa::Options options;
  options.num_time_steps = 10;
  options.num_iter = 10;
  for (bool use_prior : {true, false}) {
    options.use_prior = use_prior;
    const auto summary = MapGa(fixture.models, options).solve(problem);
    const double error = (fixture.mask * (summary.estimate - problem.measurement)).abs().max().item<double>();
    INFO(summary.solver_name << ": max observed-pixel error " << error);
    CHECK(error < 1e-3);
  }
}

TEST_CASE("the four Table 1 variants are one option away and named as in the paper") {
  const GaussianInpainting fixture;
  MapGa::Options options;
  CHECK(MapGa(fixture.models, options).name() == "MAP-GA");
  options.use_prior = false;
  CHECK(MapGa(fixture.models, options).name() == "MAP-GA(NP)");
  options.consistency_source = ConsistencySource::kDenoiser;
  CHECK(MapGa(fixture.models, options).name() == "MAP-GA(D,NP)");
  options.use_prior = true;
  CHECK(MapGa(fixture.models, options).name() == "MAP-GA(D)");
}

TEST_CASE("MAP-GA's oracle start begins at tau_hat around the given image (seed Table 2)") {
  const GaussianInpainting fixture;
  const auto problem = fixture.problem(0.05);
  const auto start = fixture.map_estimate(problem);
  MapGa::Options options;
  options.t_max = 0.5;
  options.num_time_steps = 1;
  options.num_iter = 0;
  options.start_image = start;
  const MapGa solver(fixture.models, options);
  CHECK(solver.time_steps() == std::vector<double>{0.5, kEpsilon});
  // Without ascent steps the result is C(z, 0.5) for z = start + sigma(0.5) xi, with xi
  // the first draw from the problem's seed.
  auto generator = make_generator(problem.seed);
  const auto z = start + 0.5 * randn(problem.batch_shape(), torch::kFloat64, generator);
  const auto expected = fixture.models.consistency->origin(z, 0.5);
  CHECK(torch::allclose(solver.solve(problem).estimate, expected, 0.0, 1e-12));
  // With ascent the estimate settles at the MAP; the prior term's step lambda/s^2 is
  // small for sigma_y = 0.05, hence the long inner loop.
  options.num_time_steps = 4;
  options.num_iter = 150;
  CHECK(relative_error(MapGa(fixture.models, options).solve(problem).estimate, start) < 1e-2);
}

TEST_CASE("MAP-GA accepts other optimizers and a stopping noise level") {
  const GaussianInpainting fixture;
  const auto problem = fixture.problem(0.1);
  MapGa::Options options;
  options.num_time_steps = 5;
  options.num_iter = 40;
  Momentum::Options momentum_options;
  momentum_options.momentum = 0.5;
  options.optimizer = std::make_shared<Momentum>(momentum_options);
  options.learning_rate = 0.005;
  const auto momentum = MapGa(fixture.models, options).solve(problem);
  CHECK(relative_error(momentum.estimate, fixture.map_estimate(problem)) < 2e-2);
  options.stop_sigma = 0.1;
  const MapGa stopping(fixture.models, options);
  CHECK(stopping.time_steps().back() == Approx(0.1));
}

TEST_CASE("a callback sees every step and can stop the solve") {
  const GaussianInpainting fixture;
  MapGa::Options options;
  options.num_time_steps = 6;
  options.num_iter = 2;
  int64_t seen = 0;
  const auto summary = MapGa(fixture.models, options)
                           .solve(fixture.problem(0.1), {[&](const IterationSummary& s) {
                                    ++seen;
                                    CHECK(s.total_steps == 6);
                                    return s.step == 3 ? CallbackResult::kStop
                                                       : CallbackResult::kContinue;
                                  }});
  CHECK(seen == 3);
  CHECK(summary.termination == TerminationReason::kStoppedByCallback);
  CHECK(summary.history.size() == 3);
  CHECK_THAT(summary.brief_report(), Contains("STOPPED_BY_CALLBACK"));
  CHECK_THAT(summary.full_report(), Contains("residual"));
}

TEST_CASE("the same seed gives bit-identical MAP-GA results") {
  const GaussianInpainting fixture;
  MapGa::Options options;
  options.num_time_steps = 3;
  options.num_iter = 3;
  const MapGa solver(fixture.models, options);
  auto problem = fixture.problem(0.1);
  const auto first = solver.solve(problem).estimate;
  CHECK(torch::equal(first, solver.solve(problem).estimate));
  problem.seed = 6;
  CHECK_FALSE(torch::equal(first, solver.solve(problem).estimate));
}

TEST_CASE("MapGa validates its options and models") {
  const GaussianInpainting fixture;
  MapGa::Options options;
  options.num_time_steps = 0;
  CHECK_THROWS_WITH(MapGa(fixture.models, options), Contains("num_time_steps = 0"));
  options = MapGa::Options{};
  options.learning_rate = std::nan("");
  CHECK_THROWS_WITH(MapGa(fixture.models, options), Contains("learning_rate = nan"));
  options = MapGa::Options{};
  CHECK_THROWS_WITH(MapGa(PriorModels{nullptr, fixture.models.consistency}, options),
                    Contains("use_prior = true needs PriorModels::denoiser"));
  auto problem = fixture.problem(0.1);
  problem.sigma_y = -1;
  options.num_time_steps = 2;
  CHECK_THROWS_WITH(MapGa(fixture.models, options).solve(problem), Contains("sigma_y = -1"));
  problem = fixture.problem(0.1);
  problem.image_shape = {1, 4, 4};
  CHECK_THROWS_AS(MapGa(fixture.models, options).solve(problem), std::invalid_argument);
}
