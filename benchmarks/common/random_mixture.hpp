// The random Gaussian-mixture priors of the exact-posterior benchmarks
// (benchmark_exact_posterior, benchmark_problem_matrix).
#pragma once

#include <cmath>
#include <cstdint>
#include <memory>
#include <random>
#include <vector>

#include <torch/torch.h>

#include "mapinverse/core/random.hpp"
#include "mapinverse/models/gaussian_mixture_prior.hpp"

namespace benchmarks {

/// Uniform and standard normal draws that are the same with every LibTorch build:
/// std::mt19937_64's sequence is fixed by the C++ standard, and the conversions below are
/// written out (std's distributions are not). LibTorch's own generators draw other
/// numbers from the same seed in 1.13 and 2.x, which gave each toolchain of the test suite
/// a different problem.
class PortableDraws {
 public:
  explicit PortableDraws(uint64_t seed) : engine_(seed) {}

  /// Uniform on (0, 1): the top 53 bits, shifted off zero.
  double uniform() { return (static_cast<double>(engine_() >> 11) + 0.5) * 0x1.0p-53; }

  /// Box-Muller, one normal per pair of uniforms.
  double normal() {
    const double radius = std::sqrt(-2.0 * std::log(uniform()));
    constexpr double kTwoPi = 6.283185307179586477;
    return radius * std::cos(kTwoPi * uniform());
  }

  /// Standard normal float64 tensor of the given shape.
  torch::Tensor normal(std::vector<int64_t> shape) {
    auto values = torch::empty(shape, torch::TensorOptions().dtype(torch::kFloat64));
    auto* data = values.data_ptr<double>();
    for (int64_t i = 0; i < values.numel(); ++i) data[i] = normal();
    return values;
  }

  /// Uniform float64 tensor on (0, 1) of the given shape.
  torch::Tensor uniform(std::vector<int64_t> shape) {
    auto values = torch::empty(shape, torch::TensorOptions().dtype(torch::kFloat64));
    auto* data = values.data_ptr<double>();
    for (int64_t i = 0; i < values.numel(); ++i) data[i] = uniform();
    return values;
  }

 private:
  std::mt19937_64 engine_;
};

/// One draw from `prior` with PortableDraws: a component by its weight, then
/// mu_k + L_k z with L_k the Cholesky factor of Sigma_k. Shaped [1, event shape].
inline torch::Tensor portable_sample(const mapinverse::GaussianMixturePrior& prior,
                                     PortableDraws& draws) {
  const auto weights = prior.parameters().weights.to(torch::kFloat64).cumsum(0);
  const double u = draws.uniform();
  int64_t component = 0;
  while (component + 1 < weights.size(0) && weights[component].item<double>() < u) ++component;
  const auto covariance = prior.component_covariances()[component].to(torch::kFloat64);
  const auto factor = torch::linalg_cholesky(covariance);
  const auto z = draws.normal({prior.dimension()});
  auto x = prior.parameters().means[component].to(torch::kFloat64) + torch::matmul(factor, z);
  auto shape = prior.event_shape();
  shape.insert(shape.begin(), 1);
  return x.reshape(shape);
}

/// Four random full-covariance components in R^n with means spread over [-0.8, 0.8].
/// `portable`: drawn with PortableDraws, the same problem with every LibTorch build;
/// otherwise with LibTorch's generator (benchmark_exact_posterior's committed results).
inline std::shared_ptr<const mapinverse::GaussianMixturePrior> random_mixture(
    int64_t n, uint64_t seed, bool portable = false) {
  const auto options = torch::TensorOptions().dtype(torch::kFloat64);
  constexpr int64_t kComponents = 4;
  torch::Tensor uniform_means, factor_draws, weight_draws;
  if (portable) {
    PortableDraws draws(seed);
    uniform_means = draws.uniform({kComponents, n});
    factor_draws = draws.normal({kComponents, n, n});
    weight_draws = draws.normal({kComponents});
  } else {
    auto generator = mapinverse::make_generator(seed);
    uniform_means = torch::rand({kComponents, n}, generator, options);
    factor_draws = mapinverse::randn({kComponents, n, n}, options, generator);
    weight_draws = mapinverse::randn({kComponents}, options, generator);
  }
  const auto means = 0.8 * (2 * uniform_means - 1);
  const auto factors = (0.3 / std::sqrt(static_cast<double>(n))) * factor_draws;
  const auto covariances =
      torch::matmul(factors, factors.transpose(1, 2)) + 0.005 * torch::eye(n, options);
  const auto weights = torch::softmax(weight_draws, 0);
  return mapinverse::GaussianMixturePrior::from_full_covariances(weights, means, covariances,
                                                                 {1, 1, n});
}

}  // namespace benchmarks
