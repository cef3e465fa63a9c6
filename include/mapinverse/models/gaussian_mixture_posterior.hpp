#pragma once

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "mapinverse/core/tensor.hpp"
#include "mapinverse/core/error.hpp"
#include "mapinverse/core/tensor_checks.hpp"
#include "mapinverse/models/gaussian_mixture_prior.hpp"
#include "mapinverse/operators/forward_operator.hpp"

namespace mapinverse {

/// The exact posterior p(x | y) of a GaussianMixturePrior under y = H x + N(0, sigma_y^2 I),
/// H linear: again a Gaussian mixture (docs/design.md §3). It is stored as a mixture over
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
  GaussianMixturePosterior(std::shared_ptr<const GaussianMixturePrior> reduced, at::Tensor offset,
                           at::Tensor basis, std::vector<int64_t> event_shape);

  /// The mixture over the reduced coordinates u.
  const GaussianMixturePrior& reduced() const { return *reduced_; }
  /// The same, shared (e.g. to use it as a Denoiser over u).
  const std::shared_ptr<const GaussianMixturePrior>& reduced_pointer() const { return reduced_; }
  /// [n], float64.
  const at::Tensor& offset() const { return offset_; }
  /// [n, d], float64, orthonormal columns.
  const at::Tensor& basis() const { return basis_; }
  const std::vector<int64_t>& event_shape() const { return event_shape_; }
  /// n.
  int64_t dimension() const { return offset_.size(0); }
  /// d, the dimension of the support.
  int64_t support_dimension() const { return basis_.size(1); }

  /// Posterior component weights, [K].
  const at::Tensor& weights() const { return reduced_->parameters().weights; }
  /// Posterior component means in x-space, [K, n].
  at::Tensor component_means() const { return embed_flat(reduced_->parameters().means); }
  /// Posterior component covariances in x-space, [K, n, n] (singular when sigma_y = 0).
  at::Tensor component_covariances() const;

  /// u [B, d] -> x = offset + basis u, [B, event...].
  at::Tensor embed(const at::Tensor& u) const {
    check_shape(u, {-1, support_dimension()}, "GaussianMixturePosterior::embed()", "u");
    return embed_flat(u.to(basis_.device(), at::kDouble)).reshape(batched_shape(u.size(0)));
  }

  /// x [B, event...] -> u = basis^T (x - offset), [B, d], float64: the coordinates of the
  /// orthogonal projection of x onto the support.
  at::Tensor reduce(const at::Tensor& x) const;

  /// `count` posterior samples, [count, event...], float64 (seeded by `generator`).
  at::Tensor sample(int64_t count, at::Generator& generator) const {
    return embed(reduced_->sample(count, generator));
  }

  /// E[x | y], shaped like one sample, float64.
  at::Tensor mean() const {
    return embed_flat(reduced_->mean().reshape({1, -1})).reshape(event_shape_);
  }

  /// Cov[x | y], [n, n], float64.
  at::Tensor covariance() const;

  /// log p(x | y), [B], for x on the support (x is projected onto it first); in x's dtype.
  at::Tensor log_density(const at::Tensor& x) const {
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
  at::Tensor embed_flat(const at::Tensor& u) const;

  std::vector<int64_t> batched_shape(int64_t batch) const {
    std::vector<int64_t> shape{batch};
    shape.insert(shape.end(), event_shape_.begin(), event_shape_.end());
    return shape;
  }

  std::shared_ptr<const GaussianMixturePrior> reduced_;
  at::Tensor offset_;
  at::Tensor basis_;
  std::vector<int64_t> event_shape_;
  bool identity_basis_ = false;
};

/// The exact posterior of `prior` given one measurement y = matrix x + N(0, sigma_y^2 I).
/// matrix: [m, n] (n = prior.dimension()); y: [m] or [1, m]; sigma_y >= 0. Rows of the
/// matrix that are all zero carry no information (zero-padded measurements such as
/// inpainting's) and are dropped together with their entries of y.
GaussianMixturePosterior posterior(const GaussianMixturePrior& prior, const at::Tensor& matrix,
                                   const at::Tensor& y, double sigma_y);

/// The exact posterior of `prior` given one measurement y = H x + N(0, sigma_y^2 I) of a
/// linear operator. H is materialised as a dense matrix by applying `op` to the n standard
/// basis vectors (a batch of n samples of the prior's event shape, in y's dtype and device),
/// so this is meant for moderate n (O(n^2) memory, O(K n^3) time). y is the operator's output
/// for one sample, with or without the batch dimension ([1, ...] or [...]).
GaussianMixturePosterior posterior(const GaussianMixturePrior& prior, const LinearOperator& op,
                                   const at::Tensor& y, double sigma_y);

}  // namespace mapinverse
