#include <cmath>
#include <memory>
#include <vector>

// torch before Catch: glog, pulled in by torch, defines its own CHECK.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include "mapinverse/metrics/distribution_distances.hpp"
#include "mapinverse/models/gaussian_mixture_posterior.hpp"
#include "mapinverse/models/gaussian_mixture_prior.hpp"
#include "mapinverse/operators/average_pool.hpp"
#include "mapinverse/operators/dense_matrix.hpp"
#include "mapinverse/operators/composition.hpp"
#include "mapinverse/operators/gaussian_blur.hpp"
#include "mapinverse/operators/inpainting.hpp"
#include "mapinverse/operators/pointwise.hpp"
#include "mapinverse/solvers/daps.hpp"
#include "mapinverse/solvers/ddrm.hpp"
#include "mapinverse/solvers/diffpir.hpp"
#include "mapinverse/solvers/registry.hpp"
#include "support/gaussian_prior.hpp"

using namespace mapinverse;
using Catch::Matchers::Contains;

namespace {

constexpr double kSamplerPriorVariance = 0.25;
constexpr int64_t kSamplerSamples = 2000;
const auto kDouble = torch::TensorOptions().dtype(torch::kFloat64);

torch::Tensor flattened(const torch::Tensor& samples) {
  return samples.reshape({samples.size(0), -1});
}
double largest_abs(const torch::Tensor& value) { return value.abs().max().item<double>(); }

// N(mu, s^2 I) on 2x2 images, the first two pixels observed with noise sigma_y; every
// sample of the batch measures the same y, so the batch is a sample of the posterior.
struct GaussianCase {
  double sigma_y;
  torch::Tensor mean = torch::tensor({0.3, -0.2, 0.1, 0.0}, kDouble).reshape({1, 1, 2, 2});
  torch::Tensor mask = torch::tensor({1.0, 1.0, 0.0, 0.0}, kDouble).reshape({1, 1, 2, 2});
  torch::Tensor y = torch::tensor({0.8, 0.4, 0.0, 0.0}, kDouble).reshape({1, 1, 2, 2});
  PriorModels models{
      std::make_shared<testing::IsotropicGaussianDenoiser>(mean, kSamplerPriorVariance), nullptr};

  Problem problem(uint64_t seed = 3) const {
    Problem p;
    p.measurement = y.expand({kSamplerSamples, 1, 2, 2}).contiguous();
    p.forward_operator = std::make_shared<Inpainting>(mask);
    p.sigma_y = sigma_y;
    p.image_shape = {1, 2, 2};
    p.seed = seed;
    return p;
  }
  // Observed pixels N((s^2 y + sy^2 mu)/(s^2+sy^2), s^2 sy^2/(s^2+sy^2)); the others N(mu, s^2).
  torch::Tensor posterior_mean() const {
    const double sy2 = sigma_y * sigma_y;
    return mask * (kSamplerPriorVariance * y + sy2 * mean) / (kSamplerPriorVariance + sy2) +
           (1 - mask) * mean;
  }
  torch::Tensor posterior_variance() const {
    const double sy2 = sigma_y * sigma_y;
    return mask * (kSamplerPriorVariance * sy2 / (kSamplerPriorVariance + sy2)) +
           (1 - mask) * kSamplerPriorVariance;
  }
  torch::Tensor exact_samples(uint64_t seed) const {
    auto generator = make_generator(seed);
    return posterior_mean() +
           posterior_variance().sqrt() * randn({kSamplerSamples, 1, 2, 2}, kDouble, generator);
  }
  torch::Tensor prior_samples(uint64_t seed) const {
    auto generator = make_generator(seed);
    return mean +
           std::sqrt(kSamplerPriorVariance) * randn({kSamplerSamples, 1, 2, 2}, kDouble, generator);
  }
};

// The three solvers at the settings the exactness tests use: the papers' eta = 0.85 on
// every coordinate and zeta = 0.3. The defaults (eta_null = 1, zeta = 1: fresh noise every
// step) restore images better and sample these posteriors less exactly (docs/solving.md).
std::vector<std::shared_ptr<const Solver>> new_solvers(const PriorModels& models) {
  Ddrm::Options ddrm;
  ddrm.schedule.num_steps = 100;
  ddrm.eta_null = 0.85;
  DiffPir::Options diffpir;
  diffpir.schedule.num_steps = 100;
  diffpir.zeta = 0.3;
  Daps::Options daps;
  daps.schedule.num_steps = 100;
  daps.ode_steps = 1;
  // A constant Langevin step large enough for the chain to mix at the last level
  // (step x (1/tau^2 + 1/sigma^2) = 0.5 at tau = 0.05, sigma = 0.1): DAPS's decaying
  // 5e-5 is tuned to 256 x 256 images and leaves the last level's N(x0_hat, 0.1^2) spread.
  daps.langevin_step_size = 1e-3;
  daps.step_size_floor = 1.0;
  daps.cool_langevin = false;  // every level samples: the exact posterior is the target
  return {std::make_shared<Ddrm>(models, ddrm), std::make_shared<DiffPir>(models, diffpir),
          std::make_shared<Daps>(models, daps)};
}

// A three-component mixture on 2x2 images observed through its first two pixels by
// inpainting: the posterior stays multimodal in the unobserved ones.
struct MixtureCase {
  std::shared_ptr<const GaussianMixturePrior> prior;
  std::shared_ptr<const Inpainting> op;
  torch::Tensor y;
  double sigma_y;

  explicit MixtureCase(double noise) : sigma_y(noise) {
    const auto means = torch::tensor(
        {{0.6, 0.4, 0.8, -0.6}, {0.5, 0.5, -0.7, 0.6}, {-0.7, -0.5, 0.0, 0.3}}, kDouble);
    auto generator = make_generator(21);
    const auto factors = 0.15 * randn({3, 4, 4}, kDouble, generator);
    const auto covariances =
        torch::matmul(factors, factors.transpose(1, 2)) + 0.01 * torch::eye(4, kDouble);
    prior = GaussianMixturePrior::from_full_covariances(torch::tensor({0.3, 0.3, 0.4}, kDouble),
                                                        means, covariances, {1, 2, 2});
    op = std::make_shared<Inpainting>(
        torch::tensor({1.0, 1.0, 0.0, 0.0}, kDouble).reshape({1, 1, 2, 2}));
    y = torch::tensor({0.55, 0.45, 0.0, 0.0}, kDouble).reshape({1, 1, 2, 2});
  }
  Problem problem(int64_t batch) const {
    Problem p;
    p.measurement = y.expand({batch, 1, 2, 2}).contiguous();
    p.forward_operator = op;
    p.sigma_y = sigma_y;
    p.image_shape = {1, 2, 2};
    p.seed = 1;
    return p;
  }
};

}  // namespace

TEST_CASE("DDRM, DiffPIR and DAPS sample near the exact posterior of a Gaussian prior") {
  const GaussianCase fixture{0.2};
  const auto exact = flattened(fixture.exact_samples(101));
  const double prior_distance = sliced_wasserstein(flattened(fixture.prior_samples(102)), exact);
  const double floor = sliced_wasserstein(flattened(fixture.exact_samples(103)), exact);
  for (const auto& solver : new_solvers(fixture.models)) {
    const auto summary = solver->solve(fixture.problem());
    const auto samples = summary.estimate;
    const double distance = sliced_wasserstein(flattened(samples), exact);
    const auto mean_error = samples.mean(0, true) - fixture.posterior_mean();
    const auto variance_ratio = samples.var(0, true, true) / fixture.posterior_variance();
    INFO(summary.brief_report() << "\ndistance " << distance << ", floor " << floor << ", prior "
                                << prior_distance << "\nmean error " << mean_error.flatten()
                                << "\nvariance ratio " << variance_ratio.flatten());
    CHECK(largest_abs(mean_error) < 0.05);
    CHECK(distance < 6 * floor);
    CHECK(distance < 0.3 * prior_distance);
  }
}

TEST_CASE("DDRM, DiffPIR and DAPS on a Gaussian mixture: near the exact posterior") {
  constexpr int64_t kMixtureSamples = 1000;
  for (double sigma_y : {0.05, 0.2}) {
    const MixtureCase fixture(sigma_y);
    const auto exact = posterior(*fixture.prior, *fixture.op, fixture.y, sigma_y);
    auto generator = make_generator(7);
    const auto reference = flattened(exact.sample(kMixtureSamples, generator));
    const double floor =
        sliced_wasserstein(flattened(exact.sample(kMixtureSamples, generator)), reference);
    const double prior_distance =
        sliced_wasserstein(flattened(fixture.prior->sample(kMixtureSamples, generator)), reference);
    CHECK(floor < 0.15 * prior_distance);
    for (const auto& solver : new_solvers({fixture.prior, nullptr})) {
      const auto samples = solver->solve(fixture.problem(kMixtureSamples)).estimate;
      const double distance = sliced_wasserstein(flattened(samples), reference);
      INFO(solver->name() << " sigma_y " << sigma_y << ": distance " << distance << ", floor "
                          << floor << ", prior " << prior_distance);
      CHECK(distance < 10 * floor);
      CHECK(distance < 0.5 * prior_distance);
    }
  }
}

TEST_CASE("DDRM and DiffPIR without noise reproduce y on the observed pixels") {
  const GaussianCase fixture{0.0};
  Ddrm::Options ddrm;
  ddrm.schedule.num_steps = 20;
  DiffPir::Options diffpir;
  diffpir.schedule.num_steps = 20;
  for (const auto& solver : std::vector<std::shared_ptr<const Solver>>{
           std::make_shared<Ddrm>(fixture.models, ddrm),
           std::make_shared<DiffPir>(fixture.models, diffpir)}) {
    CAPTURE(solver->name());
    const auto samples = solver->solve(fixture.problem()).estimate;
    // The last step leaves noise of sigma(t_min) = 0.002 at most.
    CHECK(largest_abs(fixture.mask * (samples - fixture.y)) < 0.02);
    // The unobserved pixels keep most of the prior's spread (s = 0.5): DiffPIR measured
    // 0.49-0.50; DDRM 0.38, its eta = 0.85 steps losing variance at 20 steps, as
    // ancestral steps do. A sampler that collapsed onto a point would give 0.
    const auto spread = samples.std(0).flatten();
    CHECK(spread[2].item<double>() > 0.3);
    CHECK(spread[3].item<double>() > 0.3);
  }
}

TEST_CASE("DDRM on average pooling: noiseless samples pool to y") {
  const auto mean = torch::zeros({1, 1, 4, 4}, kDouble);
  const PriorModels models{
      std::make_shared<testing::IsotropicGaussianDenoiser>(mean, kSamplerPriorVariance), nullptr};
  const auto op = std::make_shared<AveragePool>(AveragePool::Options{2});
  Problem problem;
  problem.measurement = torch::tensor({0.5, -0.3, 0.1, 0.7}, kDouble).reshape({1, 1, 2, 2});
  problem.measurement = problem.measurement.expand({64, 1, 2, 2}).contiguous();
  problem.forward_operator = op;
  problem.image_shape = {1, 4, 4};
  const auto samples = Ddrm(models).solve(problem).estimate;
  CHECK(largest_abs(op->apply(samples) - problem.measurement) < 0.01);
  CHECK(samples.std(0).min().item<double>() > 0.2);
}

TEST_CASE("DDRM, DiffPIR and DAPS count one network call per evaluation, no VJPs") {
  const GaussianCase fixture{0.1};
  auto problem = fixture.problem();
  problem.measurement = problem.measurement.slice(0, 0, 4);
  Daps::Options daps;
  daps.schedule.num_steps = 7;
  daps.ode_steps = 3;
  daps.langevin_steps = 4;
  const auto ddrm = make_solver("ddrm", fixture.models)->solve(problem);
  CHECK(ddrm.network_forwards == 100);
  CHECK(ddrm.history.size() == 100);
  const auto diffpir = make_solver("diffpir", fixture.models)->solve(problem);
  CHECK(diffpir.network_forwards == 100);
  const auto summary = Daps(fixture.models, daps).solve(problem);
  CHECK(summary.network_forwards == 21);
  CHECK(summary.history.size() == 7);
  for (const auto* s : {&ddrm, &diffpir, &summary}) CHECK(s->network_vjps == 0);
}

TEST_CASE("DDRM rejects operators without an SVD, naming PGDM; DiffPIR non-linear ones") {
  const GaussianCase fixture{0.1};
  auto problem = fixture.problem();
  GaussianBlur::Options blur;
  blur.sigma_pixels = 1.0;
  // Blur then inpainting: linear, but neither a uniform singular value nor a decomposition.
  problem.forward_operator =
      std::make_shared<ComposedOperator>(std::make_shared<Inpainting>(torch::ones({1, 1, 2, 2})),
                                         std::make_shared<GaussianBlur>(blur));
  CHECK_THROWS_WITH(Ddrm(fixture.models).solve(problem),
                    Contains("Ddrm::solve()") && Contains("has no singular value decomposition") &&
                        Contains("use PGDM"));
  problem.forward_operator = std::make_shared<PointwiseNonlinear>(
      [](const at::Tensor& x) { return torch::tanh(x); }, "tanh");
  CHECK_THROWS_WITH(DiffPir(fixture.models).solve(problem),
                    Contains("DiffPir::solve(): expected a linear operator"));
  CHECK_THROWS_WITH(Ddrm(fixture.models).solve(problem),
                    Contains("Ddrm::solve(): expected a linear operator") && Contains("PGDM"));
}

TEST_CASE("DDRM, DiffPIR and DAPS options are validated") {
  const GaussianCase fixture{0.1};
  Ddrm::Options ddrm;
  ddrm.eta = 1.5;
  CHECK_THROWS_WITH(Ddrm(fixture.models, ddrm), Contains("Ddrm::Options::eta = 1.5"));
  DiffPir::Options diffpir;
  diffpir.zeta = -0.1;
  CHECK_THROWS_WITH(DiffPir(fixture.models, diffpir), Contains("DiffPir::Options::zeta"));
  Daps::Options daps;
  daps.ode_steps = 0;
  CHECK_THROWS_WITH(Daps(fixture.models, daps), Contains("Daps::Options::ode_steps = 0"));
  daps.ode_steps = 1;
  daps.tau = 0.0;
  CHECK_THROWS_WITH(Daps(fixture.models, daps), Contains("Daps::Options::tau"));
  CHECK_THROWS_WITH(Ddrm(PriorModels{}), Contains("Ddrm: needs PriorModels::denoiser"));
}

// Not run by default: the figures behind the bounds above, over six solver seeds.
//   tests/solvers_tests "[.exactness_sweep]"
TEST_CASE("exactness of DDRM, DiffPIR and DAPS over six seeds", "[.exactness_sweep]") {
  const GaussianCase gaussian{0.2};
  const auto exact = flattened(gaussian.exact_samples(101));
  const double floor = sliced_wasserstein(flattened(gaussian.exact_samples(103)), exact);
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    for (const auto& solver : new_solvers(gaussian.models)) {
      const auto samples = solver->solve(gaussian.problem(seed)).estimate;
      const double distance = sliced_wasserstein(flattened(samples), exact);
      const auto error = largest_abs(samples.mean(0, true) - gaussian.posterior_mean());
      fmt::print("gaussian seed {} {:<8} distance/floor {:6.2f} mean error {:.4f}\n", seed,
                 solver->name(), distance / floor, error);
    }
  }
  for (double sigma_y : {0.05, 0.2}) {
    const MixtureCase fixture(sigma_y);
    const auto posterior_ = posterior(*fixture.prior, *fixture.op, fixture.y, sigma_y);
    auto generator = make_generator(7);
    const auto reference = flattened(posterior_.sample(1000, generator));
    const double mixture_floor =
        sliced_wasserstein(flattened(posterior_.sample(1000, generator)), reference);
    for (uint64_t seed = 1; seed <= 6; ++seed) {
      for (const auto& solver : new_solvers({fixture.prior, nullptr})) {
        auto problem = fixture.problem(1000);
        problem.seed = seed;
        const double distance =
            sliced_wasserstein(flattened(solver->solve(problem).estimate), reference);
        fmt::print("mixture sigma_y {} seed {} {:<8} distance/floor {:6.2f}\n", sigma_y, seed,
                   solver->name(), distance / mixture_floor);
      }
    }
  }
}
