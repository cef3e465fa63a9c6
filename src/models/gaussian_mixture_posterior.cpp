#include "mapinverse/models/gaussian_mixture_posterior.hpp"

#include <torch/torch.h>

namespace mapinverse::detail {

std::shared_ptr<const GaussianMixturePrior> condition_components(
    const at::Tensor& weights, const at::Tensor& observed_means,
    const at::Tensor& observed_covariances, const at::Tensor& cross_covariances,
    const at::Tensor& free_means, const at::Tensor& free_covariances, const at::Tensor& observed) {
  const auto cholesky = at::linalg_cholesky(observed_covariances);
  const auto residual = (observed.unsqueeze(0) - observed_means).unsqueeze(2);
  const auto whitened = at::linalg_solve_triangular(cholesky, residual, /*upper=*/false);
  const auto whitened_cross =
      at::linalg_solve_triangular(cholesky, cross_covariances, /*upper=*/false);
  const auto means = free_means + at::matmul(whitened_cross.transpose(1, 2), whitened).squeeze(2);
  const auto covariances =
      free_covariances - at::matmul(whitened_cross.transpose(1, 2), whitened_cross);
  // log N(observed; o_k, A_k) up to the constant -q log(2 pi) / 2, which the softmax cancels.
  const auto log_det = 2.0 * cholesky.diagonal(0, 1, 2).log().sum(1);
  const auto log_evidence = -0.5 * (log_det + whitened.square().sum({1, 2}));
  return GaussianMixturePrior::from_full_covariances(
      at::softmax(weights.log() + log_evidence, 0), means,
      0.5 * (covariances + covariances.transpose(1, 2)));
}

}  // namespace mapinverse::detail

namespace mapinverse::detail {

GaussianMixturePosterior noisy_mixture_posterior(const GaussianMixturePrior& prior,
                                                 const at::Tensor& matrix, const at::Tensor& y,
                                                 double sigma_y) {
  const auto& p = prior.parameters();
  const auto n = prior.dimension();
  const auto sigma = prior.component_covariances();
  const auto cross = at::matmul(matrix, sigma);
  const auto innovation =
      at::matmul(cross, matrix.t()) + sigma_y * sigma_y * at::eye(matrix.size(0), matrix.options());
  return GaussianMixturePosterior(condition_components(p.weights, at::matmul(p.means, matrix.t()),
                                                       innovation, cross, p.means, sigma, y),
                                  at::zeros({n}, p.means.options()), at::eye(n, p.means.options()),
                                  prior.event_shape());
}

}  // namespace mapinverse::detail

namespace mapinverse::detail {

GaussianMixturePosterior noiseless_mixture_posterior(const GaussianMixturePrior& prior,
                                                     const at::Tensor& matrix, const at::Tensor& y,
                                                     double range_tolerance) {
  constexpr const char* where = "posterior()";
  const auto& p = prior.parameters();
  const auto n = prior.dimension();
  auto [left, singular_values, right_transposed] = at::linalg_svd(matrix, /*full_matrices=*/true);
  const double cutoff = singular_values.max().item<double>() *
                        static_cast<double>(std::max(matrix.size(0), n)) *
                        std::numeric_limits<double>::epsilon();
  const auto rank = (singular_values > cutoff).sum().item<int64_t>();
  const auto d = n - rank;
  require(d >= 1,
          "{}: with sigma_y = 0 and H of full column rank {} the posterior is the point mass "
          "at H^+ y; expected sigma_y > 0 or an H with a null space",
          where, n);
  const auto left_range = left.narrow(1, 0, rank);
  const auto coefficients = at::matmul(y, left_range);
  const double inconsistency = (y - at::matmul(left_range, coefficients)).norm().item<double>();
  const double tolerance = range_tolerance * std::max(1.0, y.norm().item<double>());
  require(inconsistency <= tolerance,
          "{}: with sigma_y = 0, expected y in the range of H, got a distance of {} to it", where,
          inconsistency);
  const auto c = coefficients / singular_values.narrow(0, 0, rank);
  const auto rotation = right_transposed.t();  // [n, n], columns R then N
  const auto row_space = rotation.narrow(1, 0, rank);
  const auto null_space = rotation.narrow(1, rank, d);
  const auto rotated =
      at::matmul(at::matmul(rotation.t(), prior.component_covariances()), rotation);
  const auto rotated_means = at::matmul(p.means, rotation);
  return GaussianMixturePosterior(
      condition_components(p.weights, rotated_means.narrow(1, 0, rank),
                           rotated.narrow(1, 0, rank).narrow(2, 0, rank),
                           rotated.narrow(1, 0, rank).narrow(2, rank, d),
                           rotated_means.narrow(1, rank, d),
                           rotated.narrow(1, rank, d).narrow(2, rank, d), c),
      at::matmul(row_space, c), null_space, prior.event_shape());
}

}  // namespace mapinverse::detail

namespace mapinverse {

GaussianMixturePosterior posterior(const GaussianMixturePrior& prior, const at::Tensor& matrix,
                                   const at::Tensor& y, double sigma_y) {
  constexpr const char* where = "posterior()";
  require(std::isfinite(sigma_y) && sigma_y >= 0.0,
          "{}: sigma_y = {}. Violated constraint: sigma_y >= 0", where, sigma_y);
  check_floating(matrix, where, "H");
  require(matrix.dim() == 2 && matrix.size(1) == prior.dimension(),
          "{}: expected H of shape [m,{}], got {}", where, prior.dimension(), shape_string(matrix));
  const auto m = matrix.size(0);
  check_floating(y, where, "y");
  require((y.dim() == 1 && y.size(0) == m) || (y.dim() == 2 && y.size(0) == 1 && y.size(1) == m),
          "{}: expected y of shape [{}] or [1,{}], got {}", where, m, m, shape_string(y));
  check_finite(matrix, where, "H");
  check_finite(y, where, "y");
  const auto device = prior.parameters().means.device();
  auto dense = matrix.to(device, at::kDouble);
  auto values = y.reshape({m}).to(device, at::kDouble);
  const auto informative = dense.ne(0).any(1).nonzero().reshape({-1});
  dense = dense.index_select(0, informative);
  values = values.index_select(0, informative);
  if (dense.size(0) == 0) {
    auto parameters = prior.parameters();
    parameters.event_shape = {};
    return GaussianMixturePosterior(
        std::make_shared<const GaussianMixturePrior>(std::move(parameters)),
        at::zeros({prior.dimension()}, dense.options()),
        at::eye(prior.dimension(), dense.options()), prior.event_shape());
  }
  if (sigma_y > 0.0) return detail::noisy_mixture_posterior(prior, dense, values, sigma_y);
  // Rounding moves a consistent y off range(H) by about epsilon |y| (times H's conditioning);
  // sqrt(epsilon) of the coarser of the two dtypes leaves room for that and still rejects a
  // y that H cannot produce.
  const bool double_precision =
      matrix.scalar_type() == at::kDouble && y.scalar_type() == at::kDouble;
  const double range_tolerance =
      std::sqrt(double_precision ? std::numeric_limits<double>::epsilon()
                                 : std::numeric_limits<float>::epsilon());
  return detail::noiseless_mixture_posterior(prior, dense, values, range_tolerance);
}

}  // namespace mapinverse

namespace mapinverse {

GaussianMixturePosterior posterior(const GaussianMixturePrior& prior, const LinearOperator& op,
                                   const at::Tensor& y, double sigma_y) {
  constexpr const char* where = "posterior()";
  check_floating(y, where, "y");
  const auto n = prior.dimension();
  std::vector<int64_t> basis_shape{n};
  basis_shape.insert(basis_shape.end(), prior.event_shape().begin(), prior.event_shape().end());
  at::Tensor columns;
  {
    at::NoGradGuard no_grad;
    columns = op.apply(at::eye(n, y.options()).reshape(basis_shape));
  }
  const auto output_shape = columns.sizes().slice(1);
  const bool unbatched = y.sizes() == output_shape;
  const bool batched =
      y.dim() == columns.dim() && y.size(0) == 1 && y.sizes().slice(1) == output_shape;
  require(unbatched || batched,
          "{}: expected y of shape [1,{}] or [{}] ({}'s output for one sample), got {}", where,
          fmt::join(output_shape, ","), fmt::join(output_shape, ","), op.name(), shape_string(y));
  return posterior(prior, columns.reshape({n, -1}).t(), y.reshape({-1}), sigma_y);
}

GaussianMixturePosterior::GaussianMixturePosterior(
    std::shared_ptr<const GaussianMixturePrior> reduced, at::Tensor offset, at::Tensor basis,
    std::vector<int64_t> event_shape)
    : reduced_(std::move(reduced)),
      offset_(std::move(offset)),
      basis_(std::move(basis)),
      event_shape_(std::move(event_shape)) {
  constexpr const char* where = "GaussianMixturePosterior::GaussianMixturePosterior()";
  require(reduced_ != nullptr, "{}: expected a reduced mixture, got a null pointer", where);
  const auto d = reduced_->dimension();
  int64_t n = 1;
  for (auto size : event_shape_) n *= size;
  check_shape(offset_, {n}, where, "offset");
  check_shape(basis_, {n, d}, where, "basis");
  const auto device = reduced_->parameters().means.device();
  offset_ = offset_.to(device, at::kDouble);
  basis_ = basis_.to(device, at::kDouble);
  const double orthonormality_error =
      (at::matmul(basis_.t(), basis_) - at::eye(d, basis_.options())).abs().max().item<double>();
  require(orthonormality_error <= 1e-6,
          "{}: expected a basis with orthonormal columns (within 1e-6), got max "
          "|B^T B - I| = {}",
          where, orthonormality_error);
  identity_basis_ = n == d && at::equal(basis_, at::eye(n, basis_.options()));
}

at::Tensor GaussianMixturePosterior::component_covariances() const {
  const auto reduced = reduced_->component_covariances();
  if (identity_basis_) return reduced;
  return at::matmul(at::matmul(basis_, reduced), basis_.t());
}

at::Tensor GaussianMixturePosterior::reduce(const at::Tensor& x) const {
  constexpr const char* where = "GaussianMixturePosterior::reduce()";
  check_floating(x, where, "x");
  check_shape(x, batched_shape(-1), where, "x");
  const auto flat = x.reshape({x.size(0), dimension()}).to(basis_.device(), at::kDouble) - offset_;
  return identity_basis_ ? flat : at::matmul(flat, basis_);
}

at::Tensor GaussianMixturePosterior::covariance() const {
  const auto reduced = reduced_->covariance();
  if (identity_basis_) return reduced;
  return at::matmul(at::matmul(basis_, reduced), basis_.t());
}

at::Tensor GaussianMixturePosterior::embed_flat(const at::Tensor& u) const {
  return identity_basis_ ? u + offset_ : offset_ + at::matmul(u, basis_.t());
}

}  // namespace mapinverse
