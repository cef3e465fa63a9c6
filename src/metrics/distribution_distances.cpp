#include "mapinverse/metrics/distribution_distances.hpp"

#include <torch/torch.h>

namespace mapinverse {

at::Tensor detail::quantiles(const at::Tensor& sorted, const at::Tensor& levels) {
  const auto position = levels * static_cast<double>(sorted.size(0) - 1);
  const auto lower = position.floor().to(at::kLong).clamp_max(sorted.size(0) - 1);
  const auto upper = (lower + 1).clamp_max(sorted.size(0) - 1);
  const auto weight = (position - lower.to(position.scalar_type())).unsqueeze(1);
  return sorted.index_select(0, lower) * (1 - weight) + sorted.index_select(0, upper) * weight;
}

double sliced_wasserstein(const at::Tensor& a, const at::Tensor& b, int64_t num_projections,
                          uint64_t seed) {
  detail::check_sample_sets(a, b, "sliced_wasserstein()");
  require(num_projections >= 1,
          "sliced_wasserstein(): num_projections = {}. Violated constraint: >= 1", num_projections);
  auto generator = make_generator(seed);
  const auto options = at::TensorOptions().dtype(at::kDouble);
  auto directions = randn({a.size(1), num_projections}, options, generator);
  directions = directions / directions.norm(2, 0, true);
  const auto project = [&](const at::Tensor& samples) {
    return std::get<0>(at::sort(samples.to(at::kCPU, at::kDouble).matmul(directions), 0));
  };
  const int64_t levels_count = std::max(a.size(0), b.size(0));
  const auto levels = (at::arange(levels_count, options) + 0.5) / static_cast<double>(levels_count);
  const auto difference =
      detail::quantiles(project(a), levels) - detail::quantiles(project(b), levels);
  return std::sqrt(difference.pow(2).mean().item<double>());
}

double frechet_distance(const at::Tensor& a, const at::Tensor& b) {
  detail::check_sample_sets(a, b, "frechet_distance()");
  const auto moments = [](const at::Tensor& samples) {
    const auto x = samples.to(at::kCPU, at::kDouble);
    const auto mean = x.mean(0);
    const auto centred = x - mean;
    return std::make_pair(mean, centred.t().matmul(centred) / static_cast<double>(x.size(0) - 1));
  };
  const auto [mean_a, cov_a] = moments(a);
  const auto [mean_b, cov_b] = moments(b);
  // tr (S_a S_b)^(1/2) = sum sqrt(eig(S_a^(1/2) S_b S_a^(1/2))), a symmetric PSD product.
  const auto [values_a, vectors_a] = at::linalg_eigh(cov_a, "L");
  const auto root_a =
      vectors_a.matmul(at::diag(values_a.clamp_min(0).sqrt())).matmul(vectors_a.t());
  const auto product = root_a.matmul(cov_b).matmul(root_a);
  const auto cross =
      at::linalg_eigvalsh(0.5 * (product + product.t()), "L").clamp_min(0).sqrt().sum();
  const auto distance =
      (mean_a - mean_b).pow(2).sum() + cov_a.trace() + cov_b.trace() - 2.0 * cross;
  return std::max(distance.item<double>(), 0.0);
}

}  // namespace mapinverse
