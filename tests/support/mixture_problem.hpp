#pragma once

#include <memory>

#include <torch/torch.h>

#include "mapinverse/core/random.hpp"
#include "mapinverse/models/gaussian_mixture_posterior.hpp"
#include "mapinverse/models/gaussian_mixture_prior.hpp"
#include "mapinverse/models/ode_consistency.hpp"
#include "mapinverse/operators/dense_matrix.hpp"
#include "mapinverse/solvers/solver.hpp"

namespace mapinverse::testing {

// A three-component mixture in R^4 observed through its first two coordinates: the
// posterior stays multimodal in the unobserved ones.
struct MixtureProblem {
  std::shared_ptr<const GaussianMixturePrior> prior;
  std::shared_ptr<const LinearOperator> op;
  torch::Tensor y;
  double sigma_y;

  explicit MixtureProblem(double noise) : sigma_y(noise) {
    const auto options = torch::TensorOptions().dtype(torch::kFloat64);
    const auto means = torch::tensor(
        {{0.6, 0.4, 0.8, -0.6}, {0.5, 0.5, -0.7, 0.6}, {-0.7, -0.5, 0.0, 0.3}}, options);
    auto generator = make_generator(21);
    const auto factors = 0.15 * randn({3, 4, 4}, options, generator);
    const auto covariances =
        torch::matmul(factors, factors.transpose(1, 2)) + 0.01 * torch::eye(4, options);
    prior = GaussianMixturePrior::from_full_covariances(torch::tensor({0.3, 0.3, 0.4}, options),
                                                        means, covariances);
    const auto selection = torch::tensor({{1.0, 0.0, 0.0, 0.0}, {0.0, 1.0, 0.0, 0.0}}, options);
    op = std::make_shared<DenseMatrix>(selection, DenseMatrix::Options{});
    y = torch::tensor({{0.55, 0.45}}, options);
  }

  Problem problem(int64_t batch, uint64_t seed = 1) const {
    Problem p;
    p.measurement = y.expand({batch, 2}).contiguous();
    p.forward_operator = op;
    p.sigma_y = sigma_y;
    p.image_shape = {4};
    p.seed = seed;
    return p;
  }

  GaussianMixturePosterior exact() const { return posterior(*prior, *op, y, sigma_y); }

  PriorModels models(int64_t ode_steps = 8) const {
    OdeConsistency::Options options;
    options.num_steps = ode_steps;
    return {prior, std::make_shared<OdeConsistency>(prior, options)};
  }
};

}  // namespace mapinverse::testing
