#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/torch.h>

#include "mapinverse/core/error.hpp"
#include "mapinverse/core/tensor_checks.hpp"
#include "mapinverse/models/gaussian_mixture_prior.hpp"
#include "mapinverse/operators/forward_operator.hpp"

namespace mapinverse {

/// The exact posterior p(x | y) of a GaussianMixturePrior under y = H x + N(0, sigma_y^2 I),
/// H linear: again a Gaussian mixture (DESIGN.md §3). It is stored as a mixture over
/// reduced coordinates u with the affine embedding x = offset + basis u:
/// - sigma_y > 0: basis = I, offset = 0, and per component (S_k = H Sigma_k H^T + sigma_y^2 I)
///   mean mu_k + Sigma_k H^T S_k^{-1} (y - H mu_k), covariance Sigma_k - Sigma_k H^T S_k^{-1} H
///   Sigma_k, weight proportional to pi_k N(y; H mu_k, S_k);
/// - sigma_y = 0: the posterior lives on {x : H x = y}; basis is an orthonormal basis of
///   null(H), offset = H^+ y, and u is conditioned on the exactly observed row-space
///   coordinates.
/// log_density() is exact with respect to Lebesgue measure in u (on the support).
class GaussianMixturePosterior {
 public:
  /// reduced: the mixture over u (event shape {d}); offset: [n]; basis: [n, d] with
  /// orthonormal columns; event_shape: the shape of one x.
  GaussianMixturePosterior(std::shared_ptr<const GaussianMixturePrior> reduced,
                           torch::Tensor offset, torch::Tensor basis,
                           std::vector<int64_t> event_shape)
      : reduced_(std::move(reduced)),
        offset_(std::move(offset)),
        basis_(std::move(basis)),
        event_shape_(std::move(event_shape)) {
    constexpr const char* where = "GaussianMixturePosterior::GaussianMixturePosterior()";
    detail::require(reduced_ != nullptr, "{}: expected a reduced mixture, got a null pointer",
                    where);
    const auto d = reduced_->dimension();
    int64_t n = 1;
    for (auto size : event_shape_) n *= size;
    detail::check_shape(offset_, {n}, where, "offset");
    detail::check_shape(basis_, {n, d}, where, "basis");
    const auto device = reduced_->parameters().means.device();
    offset_ = offset_.to(device, torch::kFloat64);
    basis_ = basis_.to(device, torch::kFloat64);
    const double orthonormality_error =
        (torch::matmul(basis_.t(), basis_) - torch::eye(d, basis_.options()))
            .abs()
            .max()
            .item<double>();
    detail::require(orthonormality_error <= 1e-6,
                    "{}: expected a basis with orthonormal columns (within 1e-6), got max "
                    "|B^T B - I| = {}",
                    where, orthonormality_error);
    identity_basis_ = n == d && torch::equal(basis_, torch::eye(n, basis_.options()));
  }

  /// The mixture over the reduced coordinates u.
  const GaussianMixturePrior& reduced() const { return *reduced_; }
  /// The same, shared (e.g. to use it as a Denoiser over u).
  const std::shared_ptr<const GaussianMixturePrior>& reduced_pointer() const { return reduced_; }
  /// [n], float64.
  const torch::Tensor& offset() const { return offset_; }
  /// [n, d], float64, orthonormal columns.
  const torch::Tensor& basis() const { return basis_; }
  const std::vector<int64_t>& event_shape() const { return event_shape_; }
  /// n.
  int64_t dimension() const { return offset_.size(0); }
  /// d, the dimension of the support.
  int64_t support_dimension() const { return basis_.size(1); }

  /// Posterior component weights, [K].
  const torch::Tensor& weights() const { return reduced_->parameters().weights; }
  /// Posterior component means in x-space, [K, n].
  torch::Tensor component_means() const { return embed_flat(reduced_->parameters().means); }
  /// Posterior component covariances in x-space, [K, n, n] (singular when sigma_y = 0).
  torch::Tensor component_covariances() const {
    const auto reduced = reduced_->component_covariances();
    if (identity_basis_) return reduced;
    return torch::matmul(torch::matmul(basis_, reduced), basis_.t());
  }

  /// u [B, d] -> x = offset + basis u, [B, event...].
  torch::Tensor embed(const torch::Tensor& u) const {
    detail::check_shape(u, {-1, support_dimension()}, "GaussianMixturePosterior::embed()", "u");
    return embed_flat(u.to(basis_.device(), torch::kFloat64)).reshape(batched_shape(u.size(0)));
  }

  /// x [B, event...] -> u = basis^T (x - offset), [B, d], float64: the coordinates of the
  /// orthogonal projection of x onto the support.
  torch::Tensor reduce(const torch::Tensor& x) const {
    constexpr const char* where = "GaussianMixturePosterior::reduce()";
    detail::check_floating(x, where, "x");
    detail::check_shape(x, batched_shape(-1), where, "x");
    const auto flat =
        x.reshape({x.size(0), dimension()}).to(basis_.device(), torch::kFloat64) - offset_;
    return identity_basis_ ? flat : torch::matmul(flat, basis_);
  }

  /// `count` posterior samples, [count, event...], float64 (seeded by `generator`).
  torch::Tensor sample(int64_t count, torch::Generator& generator) const {
    return embed(reduced_->sample(count, generator));
  }

  /// E[x | y], shaped like one sample, float64.
  torch::Tensor mean() const {
    return embed_flat(reduced_->mean().reshape({1, -1})).reshape(event_shape_);
  }

  /// Cov[x | y], [n, n], float64.
  torch::Tensor covariance() const {
    const auto reduced = reduced_->covariance();
    if (identity_basis_) return reduced;
    return torch::matmul(torch::matmul(basis_, reduced), basis_.t());
  }

  /// log p(x | y), [B], for x on the support (x is projected onto it first); in x's dtype.
  torch::Tensor log_density(const torch::Tensor& x) const {
    return reduced_->log_density(reduce(x)).to(x.scalar_type());
  }

  /// The posterior modes reached from every component mean, best first, in x-space.
  std::vector<GaussianMixtureMode> modes(const MapSearchOptions& options = {}) const {
    auto found = reduced_->modes(options);
    for (auto& mode : found) {
      mode.point = embed_flat(mode.point.reshape({1, -1})).reshape(event_shape_);
    }
    return found;
  }

  /// The MAP estimate: the best of modes().
  GaussianMixtureMode map(const MapSearchOptions& options = {}) const {
    return modes(options).front();
  }

 private:
  torch::Tensor embed_flat(const torch::Tensor& u) const {
    return identity_basis_ ? u + offset_ : offset_ + torch::matmul(u, basis_.t());
  }

  std::vector<int64_t> batched_shape(int64_t batch) const {
    std::vector<int64_t> shape{batch};
    shape.insert(shape.end(), event_shape_.begin(), event_shape_.end());
    return shape;
  }

  std::shared_ptr<const GaussianMixturePrior> reduced_;
  torch::Tensor offset_;
  torch::Tensor basis_;
  std::vector<int64_t> event_shape_;
  bool identity_basis_ = false;
};

namespace detail {

/// Per component k, the joint Gaussian of (o, f) with means (o_k, f_k) and covariance
/// blocks [[A_k, B_k], [B_k^T, D_k]], conditioned on o = observed:
///   f | o ~ N(f_k + B_k^T A_k^{-1} (observed - o_k), D_k - B_k^T A_k^{-1} B_k),
/// with weights proportional to pi_k N(observed; o_k, A_k). Shapes: weights [K],
/// observed_means [K, q], observed_covariances [K, q, q], cross_covariances [K, q, d],
/// free_means [K, d], free_covariances [K, d, d], observed [q].
inline std::shared_ptr<const GaussianMixturePrior> condition_components(
    const torch::Tensor& weights, const torch::Tensor& observed_means,
    const torch::Tensor& observed_covariances, const torch::Tensor& cross_covariances,
    const torch::Tensor& free_means, const torch::Tensor& free_covariances,
    const torch::Tensor& observed) {
  const auto cholesky = torch::linalg_cholesky(observed_covariances);
  const auto residual = (observed.unsqueeze(0) - observed_means).unsqueeze(2);
  const auto whitened = torch::linalg_solve_triangular(cholesky, residual, /*upper=*/false);
  const auto whitened_cross =
      torch::linalg_solve_triangular(cholesky, cross_covariances, /*upper=*/false);
  const auto means =
      free_means + torch::matmul(whitened_cross.transpose(1, 2), whitened).squeeze(2);
  const auto covariances =
      free_covariances - torch::matmul(whitened_cross.transpose(1, 2), whitened_cross);
  // log N(observed; o_k, A_k) up to the constant -q log(2 pi) / 2, which the softmax cancels.
  const auto log_det = 2.0 * cholesky.diagonal(0, 1, 2).log().sum(1);
  const auto log_evidence = -0.5 * (log_det + whitened.square().sum({1, 2}));
  return GaussianMixturePrior::from_full_covariances(
      torch::softmax(weights.log() + log_evidence, 0), means,
      0.5 * (covariances + covariances.transpose(1, 2)));
}

/// The posterior for sigma_y > 0: (o, f) = (y, x), o_k = H mu_k, A_k = H Sigma_k H^T +
/// sigma_y^2 I, B_k = H Sigma_k, D_k = Sigma_k.
inline GaussianMixturePosterior noisy_mixture_posterior(const GaussianMixturePrior& prior,
                                                        const torch::Tensor& matrix,
                                                        const torch::Tensor& y, double sigma_y) {
  const auto& p = prior.parameters();
  const auto n = prior.dimension();
  const auto sigma = prior.component_covariances();
  const auto cross = torch::matmul(matrix, sigma);
  const auto innovation = torch::matmul(cross, matrix.t()) +
                          sigma_y * sigma_y * torch::eye(matrix.size(0), matrix.options());
  return GaussianMixturePosterior(
      condition_components(p.weights, torch::matmul(p.means, matrix.t()), innovation, cross,
                           p.means, sigma, y),
      torch::zeros({n}, p.means.options()), torch::eye(n, p.means.options()), prior.event_shape());
}

/// The posterior for sigma_y = 0: with H = W S V^T (SVD), rank rho, R = V[:, :rho] and
/// N = V[:, rho:], x = R c + N u where c = S^{-1} W^T y is observed exactly; every component
/// is conditioned on c, (o, f) = (R^T x, N^T x). Its weight pi_k N(c; R^T mu_k, R^T Sigma_k R)
/// differs from pi_k N(y; H mu_k, H Sigma_k H^T) by a factor common to all k.
inline GaussianMixturePosterior noiseless_mixture_posterior(const GaussianMixturePrior& prior,
                                                            const torch::Tensor& matrix,
                                                            const torch::Tensor& y,
                                                            double range_tolerance) {
  constexpr const char* where = "posterior()";
  const auto& p = prior.parameters();
  const auto n = prior.dimension();
  auto [left, singular_values, right_transposed] =
      torch::linalg_svd(matrix, /*full_matrices=*/true);
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
  const auto coefficients = torch::matmul(y, left_range);
  const double inconsistency = (y - torch::matmul(left_range, coefficients)).norm().item<double>();
  const double tolerance = range_tolerance * std::max(1.0, y.norm().item<double>());
  require(inconsistency <= tolerance,
          "{}: with sigma_y = 0, expected y in the range of H, got a distance of {} to it", where,
          inconsistency);
  const auto c = coefficients / singular_values.narrow(0, 0, rank);
  const auto rotation = right_transposed.t();  // [n, n], columns R then N
  const auto row_space = rotation.narrow(1, 0, rank);
  const auto null_space = rotation.narrow(1, rank, d);
  const auto rotated =
      torch::matmul(torch::matmul(rotation.t(), prior.component_covariances()), rotation);
  const auto rotated_means = torch::matmul(p.means, rotation);
  return GaussianMixturePosterior(
      condition_components(p.weights, rotated_means.narrow(1, 0, rank),
                           rotated.narrow(1, 0, rank).narrow(2, 0, rank),
                           rotated.narrow(1, 0, rank).narrow(2, rank, d),
                           rotated_means.narrow(1, rank, d),
                           rotated.narrow(1, rank, d).narrow(2, rank, d), c),
      torch::matmul(row_space, c), null_space, prior.event_shape());
}

}  // namespace detail

/// The exact posterior of `prior` given one measurement y = matrix x + N(0, sigma_y^2 I).
/// matrix: [m, n] (n = prior.dimension()); y: [m] or [1, m]; sigma_y >= 0. Rows of the
/// matrix that are all zero carry no information (zero-padded measurements such as
/// inpainting's) and are dropped together with their entries of y.
inline GaussianMixturePosterior posterior(const GaussianMixturePrior& prior,
                                          const torch::Tensor& matrix, const torch::Tensor& y,
                                          double sigma_y) {
  constexpr const char* where = "posterior()";
  detail::require(std::isfinite(sigma_y) && sigma_y >= 0.0,
                  "{}: sigma_y = {}. Violated constraint: sigma_y >= 0", where, sigma_y);
  detail::check_floating(matrix, where, "H");
  detail::require(matrix.dim() == 2 && matrix.size(1) == prior.dimension(),
                  "{}: expected H of shape [m,{}], got {}", where, prior.dimension(),
                  shape_string(matrix));
  const auto m = matrix.size(0);
  detail::check_floating(y, where, "y");
  detail::require(
      (y.dim() == 1 && y.size(0) == m) || (y.dim() == 2 && y.size(0) == 1 && y.size(1) == m),
      "{}: expected y of shape [{}] or [1,{}], got {}", where, m, m, shape_string(y));
  detail::check_finite(matrix, where, "H");
  detail::check_finite(y, where, "y");
  const auto device = prior.parameters().means.device();
  auto dense = matrix.to(device, torch::kFloat64);
  auto values = y.reshape({m}).to(device, torch::kFloat64);
  const auto informative = dense.ne(0).any(1).nonzero().reshape({-1});
  dense = dense.index_select(0, informative);
  values = values.index_select(0, informative);
  if (dense.size(0) == 0) {
    auto parameters = prior.parameters();
    parameters.event_shape = {};
    return GaussianMixturePosterior(
        std::make_shared<const GaussianMixturePrior>(std::move(parameters)),
        torch::zeros({prior.dimension()}, dense.options()),
        torch::eye(prior.dimension(), dense.options()), prior.event_shape());
  }
  if (sigma_y > 0.0) return detail::noisy_mixture_posterior(prior, dense, values, sigma_y);
  // Rounding moves a consistent y off range(H) by about epsilon |y| (times H's conditioning);
  // sqrt(epsilon) of the coarser of the two dtypes leaves room for that and still rejects a
  // y that H cannot produce.
  const bool double_precision =
      matrix.scalar_type() == torch::kFloat64 && y.scalar_type() == torch::kFloat64;
  const double range_tolerance =
      std::sqrt(double_precision ? std::numeric_limits<double>::epsilon()
                                 : std::numeric_limits<float>::epsilon());
  return detail::noiseless_mixture_posterior(prior, dense, values, range_tolerance);
}

/// The exact posterior of `prior` given one measurement y = H x + N(0, sigma_y^2 I) of a
/// linear operator. H is materialised as a dense matrix by applying `op` to the n standard
/// basis vectors (a batch of n samples of the prior's event shape, in y's dtype and device),
/// so this is meant for moderate n (O(n^2) memory, O(K n^3) time). y is the operator's output
/// for one sample, with or without the batch dimension ([1, ...] or [...]).
inline GaussianMixturePosterior posterior(const GaussianMixturePrior& prior,
                                          const LinearOperator& op, const torch::Tensor& y,
                                          double sigma_y) {
  constexpr const char* where = "posterior()";
  detail::check_floating(y, where, "y");
  const auto n = prior.dimension();
  std::vector<int64_t> basis_shape{n};
  basis_shape.insert(basis_shape.end(), prior.event_shape().begin(), prior.event_shape().end());
  torch::Tensor columns;
  {
    torch::NoGradGuard no_grad;
    columns = op.apply(torch::eye(n, y.options()).reshape(basis_shape));
  }
  const auto output_shape = columns.sizes().slice(1);
  const bool unbatched = y.sizes() == output_shape;
  const bool batched =
      y.dim() == columns.dim() && y.size(0) == 1 && y.sizes().slice(1) == output_shape;
  detail::require(unbatched || batched,
                  "{}: expected y of shape [1,{}] or [{}] ({}'s output for one sample), got {}",
                  where, fmt::join(output_shape, ","), fmt::join(output_shape, ","), op.name(),
                  shape_string(y));
  return posterior(prior, columns.reshape({n, -1}).t(), y.reshape({-1}), sigma_y);
}

}  // namespace mapinverse
