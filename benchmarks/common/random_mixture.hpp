// The random Gaussian-mixture priors of the exact-posterior benchmarks
// (benchmark_exact_posterior, benchmark_problem_matrix).
#pragma once

#include <cmath>
#include <cstdint>
#include <memory>

#include <torch/torch.h>

#include "mapinverse/core/random.hpp"
#include "mapinverse/models/gaussian_mixture_prior.hpp"

namespace benchmarks {

/// Four random full-covariance components in R^n with means spread over [-0.8, 0.8].
inline std::shared_ptr<const mapinverse::GaussianMixturePrior> random_mixture(int64_t n,
                                                                              uint64_t seed) {
  const auto options = torch::TensorOptions().dtype(torch::kFloat64);
  auto generator = mapinverse::make_generator(seed);
  constexpr int64_t kComponents = 4;
  const auto means = 0.8 * (2 * torch::rand({kComponents, n}, generator, options) - 1);
  const auto factors = (0.3 / std::sqrt(static_cast<double>(n))) *
                       mapinverse::randn({kComponents, n, n}, options, generator);
  const auto covariances =
      torch::matmul(factors, factors.transpose(1, 2)) + 0.005 * torch::eye(n, options);
  const auto weights = torch::softmax(mapinverse::randn({kComponents}, options, generator), 0);
  return mapinverse::GaussianMixturePrior::from_full_covariances(weights, means, covariances,
                                                                 {1, 1, n});
}

}  // namespace benchmarks
