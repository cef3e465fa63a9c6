#include <cmath>
#include <memory>

// torch before Catch: glog, pulled in by torch, defines its own CHECK.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include "mapinverse/operators/composition.hpp"
#include "mapinverse/operators/inpainting.hpp"
#include "mapinverse/operators/masks.hpp"
#include "mapinverse/operators/pointwise.hpp"
#include "mapinverse/solvers/dps.hpp"
#include "mapinverse/solvers/map_ga.hpp"
#include "mapinverse/solvers/pgdm.hpp"
#include "support/gaussian_prior.hpp"

using namespace mapinverse;

namespace {

constexpr double kImagePriorVariance = 0.09;

PriorModels gaussian_models(const torch::Tensor& mean) {
  return {std::make_shared<testing::IsotropicGaussianDenoiser>(mean, kImagePriorVariance),
          std::make_shared<testing::IsotropicGaussianConsistency>(mean, kImagePriorVariance)};
}

torch::Tensor draw_images(int64_t batch, const torch::Tensor& mean, uint64_t seed) {
  auto generator = make_generator(seed);
  return mean +
         std::sqrt(kImagePriorVariance) * randn({batch, 1, 8, 8}, torch::kFloat64, generator);
}

double mean_residual(const ForwardOperator& op, const torch::Tensor& x, const torch::Tensor& y) {
  return (op.apply(x) - y).reshape({x.size(0), -1}).norm(2, 1).mean().item<double>();
}

}  // namespace

TEST_CASE("each sample of a batch is solved against its own mask and measurement") {
  const auto mean = torch::zeros({1, 1, 8, 8}, torch::kFloat64);
  const auto masks =
      torch::cat({paper_mask(PaperMask::kHalf, 8, 8), paper_mask(PaperMask::kSr2x, 8, 8),
                  paper_mask(PaperMask::kAllLines, 8, 8)})
          .to(torch::kFloat64);
  Problem problem;
  problem.forward_operator = std::make_shared<Inpainting>(masks);
  problem.measurement = problem.forward_operator->apply(draw_images(3, mean, 1));
  problem.image_shape = {1, 8, 8};
  MapGa::Options options;
  options.num_time_steps = 8;
  options.num_iter = 10;
  const auto estimate = MapGa(gaussian_models(mean), options).solve(problem).estimate;
  for (int64_t b = 0; b < 3; ++b) {
    INFO("sample " << b);
    CHECK((masks[b] * (estimate[b] - problem.measurement[b])).abs().max().item<double>() < 1e-3);
  }
}

TEST_CASE("non-linear operators are solved through their linearisation") {
  // y = tanh(M x): the solvers linearise A around each clean estimate.
  const auto mean = torch::full({1, 1, 8, 8}, 0.1, torch::kFloat64);
  const auto mask = paper_mask(PaperMask::kBox25, 8, 8).to(torch::kFloat64);
  const auto op =
      compose(std::shared_ptr<const ForwardOperator>(PointwiseNonlinear::tanh()),
              std::shared_ptr<const ForwardOperator>(std::make_shared<Inpainting>(mask)));
  Problem problem;
  problem.forward_operator = op;
  const auto truth = draw_images(2, mean, 2);
  problem.measurement = op->apply(truth);
  problem.sigma_y = 0.01;
  problem.image_shape = {1, 8, 8};
  const auto models = gaussian_models(mean);
  const double prior_residual = mean_residual(*op, mean.expand_as(truth), problem.measurement);

  MapGa::Options map_ga;
  map_ga.num_time_steps = 8;
  map_ga.num_iter = 10;
  Pgdm::Options pgdm;
  pgdm.schedule.num_steps = 50;
  Dps::Options dps;
  dps.schedule.num_steps = 100;
  dps.zeta = 0.1;
  const std::vector<std::shared_ptr<const Solver>> solvers = {
      std::make_shared<MapGa>(models, map_ga), std::make_shared<Pgdm>(models, pgdm),
      std::make_shared<Dps>(models, dps)};
  for (const auto& solver : solvers) {
    const auto summary = solver->solve(problem);
    const double residual = mean_residual(*op, summary.estimate, problem.measurement);
    INFO(solver->name() << ": residual " << residual << " (prior mean: " << prior_residual << ")");
    CHECK(residual < 0.25 * prior_residual);
  }
}
