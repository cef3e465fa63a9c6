// torch before Catch: glog, pulled in by torch, defines its own CHECK.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "mapinverse/mapinverse.hpp"
#include "support/gaussian_prior.hpp"
#include "support/registered_solvers.hpp"

using namespace mapinverse;
using Catch::Matchers::Contains;

namespace {

/// A denoiser that breaks below a noise level: its output turns NaN (as a network
/// evaluated out of its range or in overflowing precision might).
class BreakingDenoiser final : public Denoiser {
 public:
  explicit BreakingDenoiser(double below_sigma) : below_sigma_(below_sigma) {}

 protected:
  torch::Tensor evaluate(const torch::Tensor& x, const torch::Tensor& sigma,
                         const torch::Tensor&) const override {
    // NaN below the level, x / 2 above it; differentiable in x either way.
    return torch::where(sigma < below_sigma_, x * std::numeric_limits<double>::quiet_NaN(),
                        x * 0.5);
  }

 private:
  double below_sigma_;
};

Problem small_problem(double sigma_y) {
  Problem problem;
  auto mask = torch::ones({1, 1, 8, 8}, torch::kFloat64);
  mask.index_put_({0, 0, torch::indexing::Slice(0, 4)}, 0.0);
  problem.forward_operator = std::make_shared<Inpainting>(mask);
  auto generator = make_generator(11);
  const auto truth = 0.3 * randn({3, 1, 8, 8}, torch::TensorOptions(torch::kFloat64), generator);
  problem.measurement =
      problem.forward_operator->apply(truth) + sigma_y * mask * randn_like(truth, generator);
  problem.image_shape = {1, 8, 8};
  problem.sigma_y = sigma_y;
  problem.seed = 5;
  return problem;
}

/// Every registered solver at small budgets: MAP-GA 4 x 3, reverse diffusions 6 steps.
std::vector<std::shared_ptr<const Solver>> all_solvers(const PriorModels& models) {
  return testing::every_registered_solver(models, 4, 3, 6);
}

PriorModels breaking_models() {
  const auto denoiser = std::make_shared<BreakingDenoiser>(1.0);
  return {denoiser, std::make_shared<DenoiserAsConsistency>(denoiser)};
}

}  // namespace

TEST_CASE("every solver stops with a NumericalError naming itself, the step and sigma") {
  const auto solvers = all_solvers(breaking_models());
  REQUIRE(solvers.size() == registered_solvers().size());
  for (const auto& solver : solvers) {
    CAPTURE(solver->name());
    std::string message;
    try {
      solver->solve(small_problem(0.1));
    } catch (const NumericalError& error) {
      message = error.what();
    }
    // name_at_noise: the preset names the path it ran ("PGDM -> MAP-GA-PGDM(D)").
    CHECK_THAT(message, Contains(solver->name_at_noise(0.1) + ":") && Contains("NaN or infinite") &&
                            Contains("at step") && Contains("sigma ="));
  }
}

TEST_CASE("every solver gives bit-identical results for the same seed") {
  const auto denoiser = std::make_shared<mapinverse::testing::IsotropicGaussianDenoiser>(
      torch::zeros({1, 1, 8, 8}, torch::kFloat64), 0.25);
  const PriorModels models{denoiser, std::make_shared<DenoiserAsConsistency>(denoiser)};
  for (const auto& solver : all_solvers(models)) {
    CAPTURE(solver->name());
    auto problem = small_problem(0.1);
    const auto first = solver->solve(problem).estimate;
    const auto second = solver->solve(problem).estimate;
    CHECK(torch::isfinite(first).all().item<bool>());
    CHECK(torch::equal(first, second));
    // A different seed gives a different draw, so the comparison above is not vacuous
    // (MAP-GA's start and renoising and the samplers' noise all come from the seed).
    problem.seed = 6;
    CHECK_FALSE(torch::equal(first, solver->solve(problem).estimate));
  }
}

TEST_CASE("with per-sample seeds a sample's result does not depend on its batch") {
  const auto denoiser = std::make_shared<mapinverse::testing::IsotropicGaussianDenoiser>(
      torch::zeros({1, 1, 8, 8}, torch::kFloat64), 0.25);
  const PriorModels models{denoiser, std::make_shared<DenoiserAsConsistency>(denoiser)};
  const std::vector<uint64_t> seeds{101, 202, 303};
  for (const auto& solver : all_solvers(models)) {
    CAPTURE(solver->name());
    auto batch = small_problem(0.1);
    batch.sample_seeds = seeds;
    const auto together = solver->solve(batch).estimate;
    for (int64_t i = 0; i < 3; ++i) {
      CAPTURE(i);
      auto alone = batch;
      alone.measurement = batch.measurement.slice(0, i, i + 1);
      alone.sample_seeds = {seeds[static_cast<size_t>(i)]};
      CHECK(torch::allclose(solver->solve(alone).estimate[0], together[i], 0.0, 1e-12));
    }
    // The batch seed is then unused; sample seeds must match the batch.
    batch.seed = 999;
    CHECK(torch::equal(solver->solve(batch).estimate, together));
    batch.sample_seeds = {1, 2};
    CHECK_THROWS_WITH(solver->solve(batch),
                      Catch::Contains("expected one seed per sample (3), got 2"));
  }
}
