#pragma once

#include <cmath>
#include <cstdint>
#include <memory>
#include <vector>

#include "mapinverse/core/tensor.hpp"
#include "mapinverse/core/error.hpp"
#include "mapinverse/core/random.hpp"
#include "mapinverse/core/tensor_checks.hpp"
#include "mapinverse/models/gaussian_mixture_prior.hpp"

namespace mapinverse {

/// Options of fit_gaussian_mixture().
struct FitOptions {
  /// K, the number of mixture components (k-means clusters). Must be >= 1.
  int64_t num_components = 10;
  /// r, the principal directions kept per component; r >= n gives full covariances.
  /// Must be >= 0.
  int64_t rank = 16;
  /// Lloyd iterations after k-means++ seeding (fewer when the assignment stops changing).
  /// Must be >= 0.
  int64_t kmeans_iterations = 25;
  /// Floor of every fitted variance (eigenvalues and residual). Must be > 0.
  double min_variance = 1e-4;
  /// Seed of the k-means++ seeding.
  uint64_t seed = 0;

  void validate() const {
    require(num_components >= 1,
            "FitOptions::num_components = {}. Violated constraint: num_components >= 1",
            num_components);
    require(rank >= 0, "FitOptions::rank = {}. Violated constraint: rank >= 0", rank);
    require(kmeans_iterations >= 0,
            "FitOptions::kmeans_iterations = {}. Violated constraint: "
            "kmeans_iterations >= 0",
            kmeans_iterations);
    require(std::isfinite(min_variance) && min_variance > 0.0,
            "FitOptions::min_variance = {}. Violated constraint: min_variance > 0", min_variance);
  }
};

/// Fits a GaussianMixturePrior to data [N, event...]: k-means++ seeding and Lloyd
/// iterations (squared distances in float32), then per cluster, in float64, the mean, the
/// top-r eigenpairs of the maximum-likelihood cluster covariance and the residual variance
/// s^2 = mean of the remaining n - r eigenvalues (the maximum-likelihood noise variance of
/// probabilistic PCA, Tipping & Bishop 1999); weights are the cluster fractions and every
/// variance is floored at min_variance. Deterministic for a given seed (and thread count).
std::shared_ptr<const GaussianMixturePrior> fit_gaussian_mixture(const at::Tensor& data,
                                                                 const FitOptions& options = {});

}  // namespace mapinverse
