#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <vector>

#include <torch/torch.h>

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
    detail::require(num_components >= 1,
                    "FitOptions::num_components = {}. Violated constraint: num_components >= 1",
                    num_components);
    detail::require(rank >= 0, "FitOptions::rank = {}. Violated constraint: rank >= 0", rank);
    detail::require(kmeans_iterations >= 0,
                    "FitOptions::kmeans_iterations = {}. Violated constraint: "
                    "kmeans_iterations >= 0",
                    kmeans_iterations);
    detail::require(std::isfinite(min_variance) && min_variance > 0.0,
                    "FitOptions::min_variance = {}. Violated constraint: min_variance > 0",
                    min_variance);
  }
};

namespace detail {

/// Squared Euclidean distances [N, K] between rows of `points` and of `centers`.
inline torch::Tensor squared_distances(const torch::Tensor& points,
                                       const torch::Tensor& point_norms,
                                       const torch::Tensor& centers) {
  return (point_norms.unsqueeze(1) - 2.0 * torch::matmul(points, centers.t()) +
          centers.square().sum(1).unsqueeze(0))
      .clamp_min(0.0);
}

/// k-means++ (Arthur & Vassilvitskii 2007): the first center uniformly at random, each
/// next one with probability proportional to the squared distance to the nearest center.
inline torch::Tensor kmeans_plus_plus(const torch::Tensor& points, const torch::Tensor& point_norms,
                                      int64_t count, torch::Generator& generator) {
  const auto num_points = points.size(0);
  std::vector<int64_t> chosen{
      torch::randint(num_points, {1}, generator, torch::kInt64).item<int64_t>()};
  auto nearest = squared_distances(points, point_norms, points[chosen[0]].unsqueeze(0)).squeeze(1);
  while (static_cast<int64_t>(chosen.size()) < count) {
    const auto probabilities = nearest.to(torch::kCPU, torch::kFloat64);
    // Fewer distinct points than centers: the remaining choices are arbitrary.
    const auto next =
        probabilities.sum().item<double>() > 0.0
            ? torch::multinomial(probabilities, 1, false, generator).item<int64_t>()
            : torch::randint(num_points, {1}, generator, torch::kInt64).item<int64_t>();
    chosen.push_back(next);
    nearest = torch::minimum(
        nearest, squared_distances(points, point_norms, points[next].unsqueeze(0)).squeeze(1));
  }
  return points.index_select(0, torch::tensor(chosen, torch::kInt64).to(points.device()));
}

}  // namespace detail

/// Fits a GaussianMixturePrior to data [N, event...]: k-means++ seeding and Lloyd
/// iterations (squared distances in float32), then per cluster, in float64, the mean, the
/// top-r eigenpairs of the maximum-likelihood cluster covariance and the residual variance
/// s^2 = mean of the remaining n - r eigenvalues (the maximum-likelihood noise variance of
/// probabilistic PCA, Tipping & Bishop 1999); weights are the cluster fractions and every
/// variance is floored at min_variance. Deterministic for a given seed (and thread count).
inline std::shared_ptr<const GaussianMixturePrior> fit_gaussian_mixture(
    const torch::Tensor& data, const FitOptions& options = {}) {
  constexpr const char* where = "fit_gaussian_mixture()";
  options.validate();
  torch::NoGradGuard no_grad;
  detail::check_floating(data, where, "data");
  detail::require(data.dim() >= 2 && data.size(0) >= options.num_components,
                  "{}: expected data of shape [N,...] with N >= num_components = {}, got {}", where,
                  options.num_components, shape_string(data));
  detail::check_finite(data, where, "data");
  const auto num_points = data.size(0);
  const auto n = data.numel() / num_points;
  const auto k = options.num_components;
  const auto r = std::min(options.rank, n);
  const auto rows = data.reshape({num_points, n});
  const auto points = rows.to(torch::kFloat32).contiguous();
  const auto point_norms = points.square().sum(1);

  auto generator = make_generator(options.seed);
  auto centers = detail::kmeans_plus_plus(points, point_norms, k, generator);
  auto distances = detail::squared_distances(points, point_norms, centers);
  auto assignment = distances.argmin(1);
  for (int64_t iteration = 0; iteration < options.kmeans_iterations; ++iteration) {
    const auto one_hot = torch::one_hot(assignment, k).to(torch::kFloat32);
    const auto counts = one_hot.sum(0);
    centers = torch::matmul(one_hot.t(), points) / counts.clamp_min(1.0).unsqueeze(1);
    // An empty cluster restarts at the point farthest from its own center.
    const auto own_distance = distances.gather(1, assignment.unsqueeze(1)).squeeze(1);
    for (int64_t c = 0; c < k; ++c) {
      if (counts[c].item<float>() > 0.0F) continue;
      const auto farthest = own_distance.argmax().item<int64_t>();
      centers[c].copy_(points[farthest]);
      own_distance[farthest] = 0.0F;
    }
    distances = detail::squared_distances(points, point_norms, centers);
    const auto next = distances.argmin(1);
    const bool changed = !torch::equal(next, assignment);
    assignment = next;
    if (!changed) break;
  }

  const auto options64 = points.options().dtype(torch::kFloat64);
  auto weights = torch::zeros({k}, options64);
  auto means = torch::zeros({k, n}, options64);
  auto bases = torch::zeros({k, n, r}, options64);
  auto eigenvalues = torch::zeros({k, r}, options64);
  auto residual_variances = torch::full({k}, options.min_variance, options64);
  for (int64_t c = 0; c < k; ++c) {
    const auto members = (assignment == c).nonzero().reshape({-1});
    const auto size = members.numel();
    weights[c] = static_cast<double>(size) / static_cast<double>(num_points);
    if (size == 0) {
      // Only when there are fewer distinct points than components: an unused component.
      bases[c].copy_(torch::eye(n, r, options64));
      eigenvalues[c].fill_(options.min_variance);
      continue;
    }
    const auto cluster = rows.index_select(0, members).to(torch::kFloat64);
    const auto mean = cluster.mean(0);
    const auto centered = cluster - mean;
    const auto scatter = torch::matmul(centered.t(), centered) / static_cast<double>(size);
    const auto [values, vectors] = torch::linalg_eigh(scatter);  // ascending
    means[c].copy_(mean);
    bases[c].copy_(vectors.narrow(1, n - r, r).flip({1}));
    eigenvalues[c].copy_(values.narrow(0, n - r, r).flip({0}).clamp_min(options.min_variance));
    if (r < n) {
      residual_variances[c] = values.narrow(0, 0, n - r).mean().clamp_min(options.min_variance);
    }
  }
  std::vector<int64_t> event_shape(data.sizes().begin() + 1, data.sizes().end());
  return std::make_shared<const GaussianMixturePrior>(GaussianMixturePrior::Parameters{
      weights, means, bases, eigenvalues, residual_variances, std::move(event_shape)});
}

}  // namespace mapinverse
