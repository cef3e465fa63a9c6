#include "mapinverse/models/gaussian_mixture_fit.hpp"

#include <torch/torch.h>

namespace mapinverse::detail {

at::Tensor squared_distances(const at::Tensor& points, const at::Tensor& point_norms,
                             const at::Tensor& centers) {
  return (point_norms.unsqueeze(1) - 2.0 * at::matmul(points, centers.t()) +
          centers.square().sum(1).unsqueeze(0))
      .clamp_min(0.0);
}

}  // namespace mapinverse::detail

namespace mapinverse::detail {

at::Tensor kmeans_plus_plus(const at::Tensor& points, const at::Tensor& point_norms, int64_t count,
                            at::Generator& generator) {
  const auto num_points = points.size(0);
  std::vector<int64_t> chosen{at::randint(num_points, {1}, generator, at::kLong).item<int64_t>()};
  auto nearest = squared_distances(points, point_norms, points[chosen[0]].unsqueeze(0)).squeeze(1);
  while (static_cast<int64_t>(chosen.size()) < count) {
    const auto probabilities = nearest.to(at::kCPU, at::kDouble);
    // Fewer distinct points than centers: the remaining choices are arbitrary.
    const auto next = probabilities.sum().item<double>() > 0.0
                          ? at::multinomial(probabilities, 1, false, generator).item<int64_t>()
                          : at::randint(num_points, {1}, generator, at::kLong).item<int64_t>();
    chosen.push_back(next);
    nearest = at::minimum(
        nearest, squared_distances(points, point_norms, points[next].unsqueeze(0)).squeeze(1));
  }
  return points.index_select(0, at::tensor(chosen, at::kLong).to(points.device()));
}

}  // namespace mapinverse::detail

namespace mapinverse {

std::shared_ptr<const GaussianMixturePrior> fit_gaussian_mixture(const at::Tensor& data,
                                                                 const FitOptions& options) {
  constexpr const char* where = "fit_gaussian_mixture()";
  options.validate();
  at::NoGradGuard no_grad;
  check_floating(data, where, "data");
  require(data.dim() >= 2 && data.size(0) >= options.num_components,
          "{}: expected data of shape [N,...] with N >= num_components = {}, got {}", where,
          options.num_components, shape_string(data));
  check_finite(data, where, "data");
  const auto num_points = data.size(0);
  const auto n = data.numel() / num_points;
  const auto k = options.num_components;
  const auto r = std::min(options.rank, n);
  const auto rows = data.reshape({num_points, n});
  const auto points = rows.to(at::kFloat).contiguous();
  const auto point_norms = points.square().sum(1);

  auto generator = make_generator(options.seed);
  auto centers = detail::kmeans_plus_plus(points, point_norms, k, generator);
  auto distances = detail::squared_distances(points, point_norms, centers);
  auto assignment = distances.argmin(1);
  for (int64_t iteration = 0; iteration < options.kmeans_iterations; ++iteration) {
    const auto one_hot = at::one_hot(assignment, k).to(at::kFloat);
    const auto counts = one_hot.sum(0);
    centers = at::matmul(one_hot.t(), points) / counts.clamp_min(1.0).unsqueeze(1);
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
    const bool changed = !at::equal(next, assignment);
    assignment = next;
    if (!changed) break;
  }

  const auto options64 = points.options().dtype(at::kDouble);
  auto weights = at::zeros({k}, options64);
  auto means = at::zeros({k, n}, options64);
  auto bases = at::zeros({k, n, r}, options64);
  auto eigenvalues = at::zeros({k, r}, options64);
  auto residual_variances = at::full({k}, options.min_variance, options64);
  for (int64_t c = 0; c < k; ++c) {
    const auto members = (assignment == c).nonzero().reshape({-1});
    const auto size = members.numel();
    weights[c] = static_cast<double>(size) / static_cast<double>(num_points);
    if (size == 0) {
      // Only when there are fewer distinct points than components: an unused component.
      bases[c].copy_(at::eye(n, r, options64));
      eigenvalues[c].fill_(options.min_variance);
      continue;
    }
    const auto cluster = rows.index_select(0, members).to(at::kDouble);
    const auto mean = cluster.mean(0);
    const auto centered = cluster - mean;
    const auto scatter = at::matmul(centered.t(), centered) / static_cast<double>(size);
    const auto [values, vectors] = at::linalg_eigh(scatter);  // ascending
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
