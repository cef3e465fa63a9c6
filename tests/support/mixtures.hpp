#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include <Eigen/Dense>
#include <torch/torch.h>

#include "mapinverse/core/random.hpp"
#include "mapinverse/models/gaussian_mixture_prior.hpp"
#include "support/random_tensors.hpp"

namespace mapinverse::testing {

/// `count` random SPD matrices F F^T / n + jitter I (F an n x n standard normal draw), [count,n,n].
inline torch::Tensor random_spd_matrices(int64_t count, int64_t n, double jitter,
                                         torch::Generator& generator) {
  const auto factors = randn({count, n, n}, kDouble, generator);
  return torch::matmul(factors, factors.transpose(1, 2)) / n + jitter * torch::eye(n, kDouble);
}

/// Mixture with `weights`, random_spd_matrices(jitter) covariances and means mean_scale N(0, I)
/// in dimension n, all drawn (covariances first) from one generator seeded with `seed`.
inline std::shared_ptr<const GaussianMixturePrior> random_full_mixture(
    const std::vector<double>& weights, int64_t n, double jitter, double mean_scale, uint64_t seed,
    std::vector<int64_t> event_shape = {}) {
  const auto k = static_cast<int64_t>(weights.size());
  auto generator = make_generator(seed);
  const auto covariances = random_spd_matrices(k, n, jitter, generator);
  const auto means = mean_scale * randn({k, n}, kDouble, generator);
  return GaussianMixturePrior::from_full_covariances(torch::tensor(weights, kDouble), means,
                                                     covariances, std::move(event_shape));
}

/// log N(value; mean, covariance), by a Cholesky factorisation.
inline double log_normal(const Eigen::VectorXd& value, const Eigen::VectorXd& mean,
                         const Eigen::MatrixXd& covariance) {
  const Eigen::LLT<Eigen::MatrixXd> llt(covariance);
  const Eigen::VectorXd whitened = llt.matrixL().solve(value - mean);
  const double log_det = 2.0 * llt.matrixL().toDenseMatrix().diagonal().array().log().sum();
  return -0.5 * (static_cast<double>(value.size()) * std::log(2.0 * M_PI) + log_det +
                 whitened.squaredNorm());
}

/// log sum_i exp(values[i]), shifted by the largest value so that it cannot overflow.
inline double log_sum_exp(const std::vector<double>& values) {
  const double top = *std::max_element(values.begin(), values.end());
  double total = 0.0;
  for (double value : values) total += std::exp(value - top);
  return top + std::log(total);
}

}  // namespace mapinverse::testing
