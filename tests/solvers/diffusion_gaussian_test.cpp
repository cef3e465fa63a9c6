#include <cmath>
#include <memory>

// torch before Catch: glog, pulled in by torch, defines its own CHECK.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include "mapinverse/metrics/distribution_distances.hpp"
#include "mapinverse/operators/dense_matrix.hpp"
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
    return posterior_mean() +
           posterior_variance().sqrt() * randn({kSamples, 1, 2, 2}, torch::kFloat64, generator);
  }
  torch::Tensor prior_samples(uint64_t seed) const {
    auto generator = make_generator(seed);
    return mean + std::sqrt(kVariance) * randn({kSamples, 1, 2, 2}, torch::kFloat64, generator);
  }
};

torch::Tensor flat(const torch::Tensor& samples) { return samples.reshape({samples.size(0), -1}); }

double max_abs(const torch::Tensor& value) { return value.abs().max().item<double>(); }

// Mean-of-samples tolerances for GaussianPosterior (2,000 samples). Observed pixels: the
// standard error is sqrt(0.25 * 0.04 / 0.29) / sqrt(2000) = 0.0042, and PGDM's 30-step
// renoise schedule leaves a bias of about 0.015 there (0.013-0.019 over six seeds);
// unobserved pixels: standard error 0.5 / sqrt(2000) = 0.011, so 0.04 is 3.6 of them.
// MAP-GA-PGDM measured at most 0.006 (observed) and 0.015 (unobserved) over six seeds.
constexpr double kObservedMeanTolerance = 0.03;
constexpr double kUnobservedMeanTolerance = 0.04;

// Whether a sample mean passes the posterior-mean check on both groups of pixels.
bool mean_matches(const GaussianPosterior& fixture, const torch::Tensor& mean) {
  const auto error = mean - fixture.posterior_mean();
  return max_abs(fixture.mask * error) < kObservedMeanTolerance &&
         max_abs((1 - fixture.mask) * error) < kUnobservedMeanTolerance;
}

// The smallest error, over the observed pixels, of a wrong answer's mean.
double smallest_observed_error(const GaussianPosterior& fixture, const torch::Tensor& wrong_mean) {
  return (wrong_mean - fixture.posterior_mean())
      .abs()
      .masked_select(fixture.mask > 0.5)
      .min()
      .item<double>();
}

// Two wrong answers the mean check must reject even when sampling noise moves them by a
// whole tolerance toward the right one: y copied onto the observed pixels (off by
// 0.069 and 0.083, which ignores the prior) and the prior mean (off by 0.43 and 0.52,
// which ignores y).
void check_wrong_answers_fail(const GaussianPosterior& fixture) {
  const auto exact = fixture.posterior_mean();
  const auto copy_y = fixture.mask * fixture.y + (1 - fixture.mask) * exact;
  for (const auto& wrong : {copy_y, fixture.mean}) {
    CHECK_FALSE(mean_matches(fixture, wrong));
    CHECK(smallest_observed_error(fixture, wrong) > 2 * kObservedMeanTolerance);
  }
}

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
  // The floor is the distance sampling noise alone gives (2,000 samples): the comparison
  // with the prior means something only if the prior is many floors away (17-20 over six
  // seeds). PGDM (50 steps, sigma_d = 1 instead of s) and DPS measured 2.3-3.0 and
  // 2.9-3.5 floors over the same seeds; 5 floors leaves room for another stream and
  // still fails a sampler whose distance is a quarter of the prior's.
  CHECK(floor < 0.1 * prior_distance);
  CHECK(pgdm_distance < 5 * floor);
  CHECK(dps_distance < 5 * floor);
  CHECK(pgdm_distance < 0.5 * prior_distance);
  CHECK(dps_distance < prior_distance);
}

TEST_CASE("PGDM's renoise update samples around the exact posterior mean") {
  const GaussianPosterior fixture;
  Pgdm::Options options;
  options.schedule.num_steps = 30;
  options.step.update = ReverseUpdate::kRenoise;
  const auto renoised = Pgdm(fixture.models, options).solve(fixture.problem()).estimate;
  INFO("mean error " << (renoised.mean(0, true) - fixture.posterior_mean()).flatten());
  CHECK(mean_matches(fixture, renoised.mean(0, true)));
  check_wrong_answers_fail(fixture);
}

TEST_CASE("DDIM(eta = 0) depends on the initial noise only, not on the later random draws") {
  const GaussianPosterior fixture;
  Pgdm::Options options;
  options.schedule.num_steps = 30;
  options.step.update = ReverseUpdate::kDdim;
  auto problem = fixture.problem();
  const double sigma_max = fixture.models.denoiser->schedule()->sigma(options.schedule.t_max);
  // PGDM starts at x_T = start_image + sigma(T) xi, xi the first draw of the problem's
  // noise; the later draws feed the reverse steps (eta > 0 only). Seed 99 with the start
  // image sigma(T) (xi_3 - xi_99) starts where seed 3 without one does (to rounding),
  // but continues with another stream.
  const auto first_draw = [&](uint64_t seed) {
    auto generator = make_generator(seed);
    return randn(problem.batch_shape(), torch::kFloat64, generator);
  };
  auto other_stream = problem;
  other_stream.seed = 99;
  other_stream.start_image = sigma_max * (first_draw(3) - first_draw(99));
  for (double eta : {0.0, 1.0}) {
    options.step.eta = eta;
    const auto seed_3 = Pgdm(fixture.models, options).solve(problem).estimate;
    const auto seed_99 = Pgdm(fixture.models, options).solve(other_stream).estimate;
    const double largest = max_abs(seed_3 - seed_99);
    const double average = (seed_3 - seed_99).abs().mean().item<double>();
    INFO("eta " << eta << ": largest difference " << largest << ", average " << average);
    if (eta == 0.0) {
      CHECK(largest < 1e-12);
    } else {
      // Two draws of the posterior given x_T (standard deviations 0.19 and 0.5): the
      // average difference measured 0.33.
      CHECK(average > 0.1);
    }
  }
  // A different initial noise changes the result, also for eta = 0.
  options.step.eta = 0.0;
  const auto first = Pgdm(fixture.models, options).solve(problem).estimate;
  problem.seed = 99;
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
  INFO("mean error " << (summary.estimate.mean(0, true) - fixture.posterior_mean()).flatten());
  CHECK(mean_matches(fixture, summary.estimate.mean(0, true)));
  check_wrong_answers_fail(fixture);
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

TEST_CASE(
    "one DPS step is x'_s - (zeta / ||r||) (1 - sqrt(m) sigma_y / ||r||)_+ grad ||r||^2, per "
    "sample") {
  // Isotropic prior N(mu, s^2 I) on 2x2 images observed through a dense 3 x 4 matrix,
  // two samples with different y. For this prior x_hat = mu + k (x_t - mu) with
  // k = s^2 / (s^2 + sigma_t^2), so grad_{x_t} ||y - H x_hat||^2 = -2 k H^T (y - H x_hat).
  const GaussianPosterior fixture;
  const auto matrix = torch::tensor(
      {{1.0, 0.5, -0.3, 0.2}, {0.0, -0.8, 0.4, 1.1}, {0.6, 0.2, 0.9, -0.5}}, torch::kFloat64);
  Problem problem;
  problem.measurement = torch::tensor({{0.9, -0.4, 0.3}, {-0.2, 0.7, 1.2}}, torch::kFloat64);
  problem.forward_operator = std::make_shared<DenseMatrix>(matrix, DenseMatrix::Options{{1, 2, 2}});
  problem.sigma_y = 0.1;
  problem.image_shape = {1, 2, 2};
  problem.seed = 8;
  Dps::Options options;
  options.schedule = ReverseSchedule{1, 1.0, 0.5, 7.0};
  options.step.eta = 0.0;  // deterministic DDIM: the step's only randomness is x_T
  options.zeta = 0.4;
  const auto estimate = Dps(fixture.models, options).solve(problem).estimate;

  const auto& schedule = *fixture.models.denoiser->schedule();
  const double sigma_t = schedule.sigma(1.0);
  const double sigma_s = schedule.sigma(0.5);
  auto generator = make_generator(problem.seed);
  const auto x_t = sigma_t * randn(problem.batch_shape(), torch::kFloat64, generator);
  const double k = kVariance / (kVariance + sigma_t * sigma_t);
  const auto x_hat = fixture.mean + k * (x_t - fixture.mean);
  const auto residual = problem.measurement - torch::matmul(x_hat.reshape({2, 4}), matrix.t());
  const auto residual_norm = residual.norm(2, 1).reshape({2, 1, 1, 1});  // per sample
  const auto gradient_of_squared_norm =
      (-2.0 * k * torch::matmul(residual, matrix)).reshape({2, 1, 2, 2});
  const auto unconditional = x_hat + (sigma_s / sigma_t) * (x_t - x_hat);  // DDIM(0): x'_s
  // Algorithm 1's guidance step x_s = x'_s - zeta_i grad ||y - A(x_hat)||^2 with
  // zeta_i = zeta / ||y - A(x_hat)||, i.e. x'_s - 2 zeta grad ||y - A(x_hat)||, scaled by
  // the discrepancy factor (1 - sqrt(m) sigma_y / ||r||)_+ with m = 3 measurements.
  const auto factor = (1.0 - std::sqrt(3.0) * problem.sigma_y / residual_norm).clamp_min(0.0);
  CHECK(factor.min().item<double>() > 0.1);  // the factor is not 0: the step is tested
  const auto paper =
      unconditional - options.zeta * factor * gradient_of_squared_norm / residual_norm;
  // The step of the authors' released code, x'_s - zeta grad ||y - A(x_hat)||: half of it.
  const auto reference_code =
      unconditional - 0.5 * options.zeta * factor * gradient_of_squared_norm / residual_norm;
  INFO("estimate " << estimate.flatten() << "\npaper " << paper.flatten() << "\nreference code "
                   << reference_code.flatten());
  CHECK(max_abs(estimate - paper) < 1e-12);
  // The same step with one norm for the whole batch (what the released code computes).
  const auto batch_norm =
      unconditional - options.zeta * factor * gradient_of_squared_norm / residual.norm();
  // Both variants are at least 1e-3 away here, so the check above tells them apart.
  CHECK(max_abs(reference_code - paper) > 1e-3);
  CHECK(max_abs(batch_norm - paper) > 1e-3);
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
