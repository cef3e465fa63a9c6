// The exactness tests of the CPU suite, run on the test device in float32: Gaussian closed
// forms, the exact posterior of a Gaussian mixture, determinism and the NaN guard.
//
// float32 tolerances: a solve is a few hundred to a few thousand float32 operations per
// value, each rounding by up to 6e-8 relative; results are compared with the CPU's float64
// answer to 1e-4 (exact priors) and 2e-3 (the shipped U-Net, whose convolutions sum
// hundreds of products per output in an order that differs between CPU and GPU kernels).

// torch before Catch: glog, pulled in by torch, defines its own CHECK.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include <limits>
#include <memory>
#include <vector>

#include "device/test_device.hpp"
#include "mapinverse/mapinverse.hpp"
#include "support/gaussian_prior.hpp"
#include "support/mixture_problem.hpp"
#include "support/registered_solvers.hpp"

using namespace mapinverse;
using mapinverse::testing::device_float;
using mapinverse::testing::MixtureProblem;

namespace {

constexpr double kPriorVariance = 0.09;

/// The CPU suite's Gaussian fixture: a prior N(mu, 0.09 I) on 8x8 images with its exact
/// denoiser and consistency function, observed through the paper's box50 mask.
struct GaussianInpainting {
  torch::Tensor mean = 0.2 * torch::sin(torch::arange(64, torch::kFloat64)).reshape({1, 1, 8, 8});
  torch::Tensor mask = paper_mask(PaperMask::kBox50, 8, 8).to(torch::kFloat64);
  PriorModels models{std::make_shared<testing::IsotropicGaussianDenoiser>(mean, kPriorVariance),
                     std::make_shared<testing::IsotropicGaussianConsistency>(mean, kPriorVariance)};

  /// The measurement is drawn in float64 on the CPU and then converted, so that every
  /// device and dtype solves the same problem.
  Problem problem(const torch::TensorOptions& options, double sigma_y) const {
    auto generator = make_generator(11);
    const auto truth =
        mean + std::sqrt(kPriorVariance) * randn({2, 1, 8, 8}, torch::kFloat64, generator);
    auto y = mask * truth;
    if (sigma_y > 0) y = y + sigma_y * mask * randn_like(y, generator);
    Problem p;
    p.forward_operator = std::make_shared<Inpainting>(mask.to(options));
    p.measurement = y.to(options);
    p.sigma_y = sigma_y;
    p.image_shape = {1, 8, 8};
    p.seed = 5;
    return p;
  }

  /// The closed-form MAP: per pixel, the precision-weighted mean of y and mu where
  /// observed, mu elsewhere.
  torch::Tensor map_estimate(const Problem& p) const {
    const auto y = p.measurement.to(torch::kCPU, torch::kFloat64);
    const double noise = p.sigma_y * p.sigma_y;
    const auto observed = (kPriorVariance * y + noise * mean) / (kPriorVariance + noise);
    return mask * observed + (1 - mask) * mean;
  }
};

/// Every registered solver at a small budget: MAP-GA 6 x 20, reverse diffusions 30
/// steps; MAP-GA-PGDM, which refuses noiseless problems, only when `noisy`.
std::vector<std::shared_ptr<const Solver>> solvers(const PriorModels& models, bool noisy) {
  return testing::every_registered_solver(models, 6, 20, 30, noisy);
}

double max_abs_difference(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kCPU, torch::kFloat64) - b.to(torch::kCPU, torch::kFloat64))
      .abs()
      .max()
      .item<double>();
}

}  // namespace

TEST_CASE("every solver on the device gives the CPU's answer to float32 precision") {
  // The same float32 problem on the CPU and on the device: the noise is drawn on the CPU
  // for both, so the results differ only by the order of floating-point operations.
  const GaussianInpainting fixture;
  const auto cpu_float = torch::TensorOptions(torch::kFloat32);
  for (const double sigma_y : {0.0, 0.05}) {
    for (const auto& solver : solvers(fixture.models, sigma_y > 0.0)) {
      const auto reference = solver->solve(fixture.problem(cpu_float, sigma_y));
      const auto on_device = solver->solve(fixture.problem(device_float(), sigma_y));
      INFO(solver->name() << ", sigma_y = " << sigma_y);
      CHECK(on_device.estimate.device() == device_float().device());
      CHECK(on_device.estimate.scalar_type() == torch::kFloat32);
      CHECK(max_abs_difference(on_device.estimate, reference.estimate) < 1e-4);
      CHECK(on_device.network_evaluations() == reference.network_evaluations());
    }
  }
}

TEST_CASE("MAP-GA on the device reaches the closed-form MAP of a Gaussian prior") {
  // As the CPU suite: 10 x 20 ascent steps at sigma_y = 0.1 land within 1% (relative,
  // in norm) of the MAP.
  const GaussianInpainting fixture;
  const auto problem = fixture.problem(device_float(), 0.1);
  MapGa::Options options;
  options.num_time_steps = 10;
  options.num_iter = 20;
  const auto estimate = MapGa(fixture.models, options).solve(problem).estimate;
  const auto map = fixture.map_estimate(problem);
  const double error =
      ((estimate.to(torch::kCPU, torch::kFloat64) - map).norm() / map.norm()).item<double>();
  INFO("relative error " << error);
  CHECK(error <= 1e-2);
}

TEST_CASE("PGDM on the device samples the exact posterior of a Gaussian mixture") {
  // The CPU suite's mixture test on the device: 1,000 samples within 10 floors (the
  // sliced Wasserstein distance between two exact sample sets) of exact posterior
  // samples, and within half the prior's distance.
  const MixtureProblem fixture(0.05);
  const auto exact = fixture.exact();
  auto generator = make_generator(7);
  const auto reference = exact.sample(1000, generator);
  const double floor = sliced_wasserstein(exact.sample(1000, generator), reference);
  const double prior_distance =
      sliced_wasserstein(fixture.prior->sample(1000, generator), reference);
  auto problem = fixture.problem(1000);
  problem.measurement = problem.measurement.to(device_float());
  Pgdm::Options options;
  options.schedule.num_steps = 100;
  const auto samples = Pgdm(fixture.models(), options).solve(problem).estimate;
  const double distance = sliced_wasserstein(samples.to(torch::kCPU, torch::kFloat64), reference);
  INFO("distance " << distance << ", floor " << floor << ", prior " << prior_distance);
  CHECK(distance < 10 * floor);
  CHECK(distance < 0.5 * prior_distance);
}

TEST_CASE("solves on the device are bit-identical for the same seed") {
  const GaussianInpainting fixture;
  for (const auto& solver : solvers(fixture.models, true)) {
    const auto problem = fixture.problem(device_float(), 0.05);
    const auto first = solver->solve(problem).estimate;
    const auto second = solver->solve(problem).estimate;
    INFO(solver->name());
    CHECK(torch::equal(first, second));
  }
}

TEST_CASE("the shipped U-Net priors on the device agree with the CPU") {
  // cuDNN picks deterministic kernels, so that two solves are bit-identical on the GPU.
  torch::globalContext().setDeterministicCuDNN(true);
  torch::globalContext().setBenchmarkCuDNN(false);
  const auto device = device_float().device();
  PriorModels cpu{load_unet_denoiser(shipped_model_path(kDenoiserModelFile)),
                  load_unet_consistency(shipped_model_path(kConsistencyModelFile))};
  PriorModels gpu{load_unet_denoiser(shipped_model_path(kDenoiserModelFile), device),
                  load_unet_consistency(shipped_model_path(kConsistencyModelFile), device)};
  Problem problem;
  const auto mask = paper_mask(PaperMask::kBox50, 28, 28);
  auto generator = make_generator(2);
  const auto truth = 0.5 * randn({2, 1, 28, 28}, torch::kFloat32, generator);
  problem.forward_operator = std::make_shared<Inpainting>(mask);
  problem.measurement = mask * truth;
  problem.image_shape = {1, 28, 28};
  problem.seed = 6;
  auto on_device = problem;
  on_device.forward_operator = std::make_shared<Inpainting>(mask.to(device));
  on_device.measurement = problem.measurement.to(device);
  MapGa::Options map_ga;
  map_ga.num_time_steps = 4;
  map_ga.num_iter = 2;
  Pgdm::Options pgdm;
  pgdm.schedule.num_steps = 8;
  for (const auto& [cpu_solver, gpu_solver] :
       std::vector<std::pair<std::shared_ptr<Solver>, std::shared_ptr<Solver>>>{
           {std::make_shared<MapGa>(cpu, map_ga), std::make_shared<MapGa>(gpu, map_ga)},
           {std::make_shared<Pgdm>(cpu, pgdm), std::make_shared<Pgdm>(gpu, pgdm)}}) {
    const auto reference = cpu_solver->solve(problem).estimate;
    const auto first = gpu_solver->solve(on_device).estimate;
    const auto second = gpu_solver->solve(on_device).estimate;
    INFO(gpu_solver->name());
    CHECK(torch::equal(first, second));
    CHECK(max_abs_difference(first, reference) < 2e-3);
  }
}

TEST_CASE("a NaN on the device stops every solver with a NumericalError") {
  class NanDenoiser final : public Denoiser {
   protected:
    torch::Tensor evaluate(const torch::Tensor& x, const torch::Tensor&,
                           const torch::Tensor&) const override {
      return x * std::numeric_limits<double>::quiet_NaN();
    }
  };
  const auto denoiser = std::make_shared<NanDenoiser>();
  const PriorModels models{denoiser, std::make_shared<DenoiserAsConsistency>(denoiser)};
  const GaussianInpainting fixture;
  for (const auto& solver : solvers(models, true)) {
    INFO(solver->name());
    CHECK_THROWS_AS(solver->solve(fixture.problem(device_float(), 0.05)), NumericalError);
  }
}
