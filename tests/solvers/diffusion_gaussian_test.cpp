#include <cmath>
#include <memory>

// torch before Catch: glog, pulled in by torch, defines its own CHECK.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include "mapinverse/metrics/distribution_distances.hpp"
#include "mapinverse/operators/inpainting.hpp"
#include "mapinverse/solvers/dps.hpp"
#include "mapinverse/solvers/map_ga_pgdm.hpp"
#include "mapinverse/solvers/pgdm.hpp"
#include "mapinverse/solvers/unconditional_samplers.hpp"
#include "support/gaussian_prior.hpp"

using namespace mapinverse;
using Catch::Matchers::Contains;

namespace {

constexpr double kVariance = 0.25;
constexpr double kSigmaY = 0.2;
constexpr int64_t kSamples = 2000;

// N(mu, s^2 I) on 2x2 images, the first two pixels observed with noise sigma_y; every
// sample of the batch measures the same y, so the batch is a sample of the posterior.
struct GaussianPosterior {
  torch::Tensor mean = torch::tensor({0.3, -0.2, 0.1, 0.0}, torch::kFloat64).reshape({1, 1, 2, 2});
  torch::Tensor mask = torch::tensor({1.0, 1.0, 0.0, 0.0}, torch::kFloat64).reshape({1, 1, 2, 2});
  torch::Tensor y = torch::tensor({0.8, 0.4, 0.0, 0.0}, torch::kFloat64).reshape({1, 1, 2, 2});
  PriorModels models{std::make_shared<testing::IsotropicGaussianDenoiser>(mean, kVariance),
                     std::make_shared<testing::IsotropicGaussianConsistency>(mean, kVariance)};

  Problem problem() const {
    Problem p;
    p.measurement = y.expand({kSamples, 1, 2, 2}).contiguous();
    p.forward_operator = std::make_shared<Inpainting>(mask);
    p.sigma_y = kSigmaY;
    p.image_shape = {1, 2, 2};
    p.seed = 3;
    return p;
  }

  // Exact posterior: observed pixels N((s^2 y + sy^2 mu)/(s^2+sy^2), s^2 sy^2/(s^2+sy^2)),
  // unobserved pixels N(mu, s^2).
  torch::Tensor posterior_mean() const {
    const double sy2 = kSigmaY * kSigmaY;
    return mask * (kVariance * y + sy2 * mean) / (kVariance + sy2) + (1 - mask) * mean;
  }
  torch::Tensor posterior_variance() const {
    const double sy2 = kSigmaY * kSigmaY;
    return mask * (kVariance * sy2 / (kVariance + sy2)) + (1 - mask) * kVariance;
  }
  torch::Tensor exact_samples(uint64_t seed) const {
    auto generator = make_generator(seed);
    return posterior_mean() + posterior_variance().sqrt() *
                                  randn({kSamples, 1, 2, 2}, torch::kFloat64, generator);
  }
  torch::Tensor prior_samples(uint64_t seed) const {
    auto generator = make_generator(seed);
    return mean + std::sqrt(kVariance) * randn({kSamples, 1, 2, 2}, torch::kFloat64, generator);
  }
};

torch::Tensor flat(const torch::Tensor& samples) { return samples.reshape({samples.size(0), -1}); }

double max_abs(const torch::Tensor& value) { return value.abs().max().item<double>(); }

}  // namespace

TEST_CASE("PGDM with sigma_d = s samples the exact posterior of a Gaussian prior") {
  // For N(mu, s^2 I), p(x0 | x_t) is N(x_hat, s^2 sigma_t^2 / (s^2 + sigma_t^2)): PGDM's
  // Gaussian approximation with sigma_d = s is exact, so only discretisation error remains:
  // ancestral steps drop Var(x0 | x_t), which leaves the variance 2.4% low at 500 steps
  // (11% low at 100; computed from the step recursion).
  const GaussianPosterior fixture;
  Pgdm::Options options;
  options.schedule.num_steps = 500;
  options.sigma_d = std::sqrt(kVariance);
  const auto summary = Pgdm(fixture.models, options).solve(fixture.problem());
  const auto samples = summary.estimate;
  INFO(summary.brief_report());
  CHECK(max_abs(samples.mean(0, true) - fixture.posterior_mean()) < 0.04);
  INFO("variance ratio " << (samples.var(0, true, true) / fixture.posterior_variance()).flatten());
  CHECK(max_abs(samples.var(0, true, true) / fixture.posterior_variance() - 1) < 0.1);
  CHECK(summary.network_forwards == 500);
  CHECK(summary.network_vjps == 500);
}

TEST_CASE("PGDM and DPS sample sets are closer to the exact posterior than the prior is") {
  const GaussianPosterior fixture;
  const auto exact = flat(fixture.exact_samples(101));
  const double prior_distance = sliced_wasserstein(flat(fixture.prior_samples(102)), exact);
  const double floor = sliced_wasserstein(flat(fixture.exact_samples(103)), exact);

  Pgdm::Options pgdm;
  pgdm.schedule.num_steps = 50;
  const double pgdm_distance =
      sliced_wasserstein(flat(Pgdm(fixture.models, pgdm).solve(fixture.problem()).estimate), exact);
  Dps::Options dps;
  dps.schedule.num_steps = 200;
  dps.zeta = 0.3;
  const double dps_distance =
      sliced_wasserstein(flat(Dps(fixture.models, dps).solve(fixture.problem()).estimate), exact);
  INFO("prior " << prior_distance << ", PGDM " << pgdm_distance << ", DPS " << dps_distance
                << ", exact-vs-exact floor " << floor);
  CHECK(pgdm_distance < 0.5 * prior_distance);
  CHECK(dps_distance < prior_distance);
}

TEST_CASE("the renoise update and DDIM(eta = 0) are available to PGDM") {
  const GaussianPosterior fixture;
  Pgdm::Options options;
  options.schedule.num_steps = 30;
  options.step.update = ReverseUpdate::kRenoise;
  const auto renoised = Pgdm(fixture.models, options).solve(fixture.problem()).estimate;
  CHECK(max_abs(renoised.mean(0, true) - fixture.posterior_mean()) < 0.1);
  options.step.update = ReverseUpdate::kDdim;
  options.step.eta = 0.0;
  auto problem = fixture.problem();
  const auto first = Pgdm(fixture.models, options).solve(problem).estimate;
  problem.seed = 99;
  // Deterministic DDIM: the seed only enters through the initial noise.
  CHECK_FALSE(torch::equal(first, Pgdm(fixture.models, options).solve(problem).estimate));
}

TEST_CASE("MAP-GA-PGDM runs Algorithm 3: MAP-GA down to sigma_y, then 20 renoising PGDM steps") {
  const GaussianPosterior fixture;
  MapGaPgdm::Options options;
  options.num_time_steps = 5;
  options.num_iter = 10;
  const MapGaPgdm solver(fixture.models, options);
  const auto summary = solver.solve(fixture.problem());
  REQUIRE(summary.history.size() == 25);
  CHECK(summary.history[4].time > kSigmaY);
  CHECK(summary.history[5].time == Approx(kSigmaY));
  CHECK(summary.history.back().time < summary.history[5].time);
  // MAP-GA without prior: 50 forwards + 50 VJPs + 5 final forwards; PGDM: 20 + 20.
  CHECK(summary.network_forwards == 50 + 5 + 20);
  CHECK(summary.network_vjps == 50 + 20);
  CHECK(max_abs(summary.estimate.mean(0, true) - fixture.posterior_mean()) < 0.1);
  options.consistency_source = ConsistencySource::kDenoiser;
  CHECK(MapGaPgdm(fixture.models, options).name() == "MAP-GA-PGDM(D)");
  auto noiseless = fixture.problem();
  noiseless.sigma_y = 0.0;
  CHECK_THROWS_WITH(solver.solve(noiseless), Contains("must exceed sigma(epsilon)"));
}

TEST_CASE("the same seed gives bit-identical PGDM, DPS and MAP-GA-PGDM results") {
  const GaussianPosterior fixture;
  auto problem = fixture.problem();
  Pgdm::Options pgdm;
  pgdm.schedule.num_steps = 5;
  Dps::Options dps;
  dps.schedule.num_steps = 5;
  MapGaPgdm::Options map_ga_pgdm;
  map_ga_pgdm.num_time_steps = 2;
  map_ga_pgdm.num_iter = 2;
  map_ga_pgdm.pgdm_steps = 3;
  const std::vector<std::shared_ptr<const Solver>> solvers = {
      std::make_shared<Pgdm>(fixture.models, pgdm), std::make_shared<Dps>(fixture.models, dps),
      std::make_shared<MapGaPgdm>(fixture.models, map_ga_pgdm)};
  for (const auto& solver : solvers) {
    INFO(solver->name());
    CHECK(torch::equal(solver->solve(problem).estimate, solver->solve(problem).estimate));
  }
}

TEST_CASE("unconditional samplers draw from the prior") {
  const GaussianPosterior fixture;
  SampleRequest request;
  request.count = kSamples;
  request.image_shape = {1, 2, 2};
  request.options = torch::TensorOptions().dtype(torch::kFloat64);
  request.seed = 4;
  const EdmHeunSampler heun(fixture.models.denoiser);
  CHECK(heun.network_calls() == 35);
  const auto heun_samples = heun.sample(request);
  CHECK(max_abs(heun_samples.mean(0, true) - fixture.mean) < 0.05);
  CHECK(max_abs(heun_samples.std(0) - std::sqrt(kVariance)) < 0.05);
  ConsistencySampler::Options two_steps;
  two_steps.times = {80.0, 0.8};
  const auto consistency_samples =
      ConsistencySampler(fixture.models.consistency, two_steps).sample(request);
  CHECK(max_abs(consistency_samples.std(0) - std::sqrt(kVariance)) < 0.05);
  two_steps.times = {0.8, 80.0};
  CHECK_THROWS_WITH(ConsistencySampler(fixture.models.consistency, two_steps),
                    Contains("times[1] = 80"));
}

TEST_CASE("reverse-diffusion solvers validate their options") {
  const GaussianPosterior fixture;
  Pgdm::Options pgdm;
  pgdm.schedule.num_steps = 0;
  CHECK_THROWS_WITH(Pgdm(fixture.models, pgdm), Contains("Pgdm::Options::schedule.num_steps = 0"));
  pgdm = Pgdm::Options{};
  pgdm.step.eta = 2.0;
  CHECK_THROWS_WITH(Pgdm(fixture.models, pgdm), Contains("eta = 2"));
  Dps::Options dps;
  dps.zeta = -1.0;
  CHECK_THROWS_WITH(Dps(fixture.models, dps), Contains("Dps::Options::zeta = -1"));
  CHECK_THROWS_WITH(Dps(PriorModels{}), Contains("needs PriorModels::denoiser"));
}
