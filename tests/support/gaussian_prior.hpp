#pragma once

#include <cmath>

#include "mapinverse/models/consistency_model.hpp"
#include "mapinverse/models/denoiser.hpp"

namespace mapinverse::testing {

/// Exact denoiser of an isotropic Gaussian prior N(mean, variance I):
/// D(x, sigma) = mean + (x - mean) variance / (variance + sigma^2). Independent of the
/// library's mixture code, so tests can check the mixture and the adapters against it.
class IsotropicGaussianDenoiser final : public Denoiser {
 public:
  IsotropicGaussianDenoiser(torch::Tensor mean, double variance)
      : mean_(std::move(mean)), variance_(variance) {}

  /// The exact probability-flow ODE map from (z, t) to epsilon for this prior.
  torch::Tensor exact_origin(const torch::Tensor& z, double t, double epsilon) const {
    const auto mean = mean_.to(z.options());
    return mean +
           (z - mean) * std::sqrt(variance_ + epsilon * epsilon) / std::sqrt(variance_ + t * t);
  }

 protected:
  torch::Tensor evaluate(const torch::Tensor& x, const torch::Tensor& sigma,
                         const torch::Tensor& /*labels*/) const override {
    const auto mean = mean_.to(x.options());
    return mean + (x - mean) * variance_ / (variance_ + sigma * sigma);
  }

 private:
  torch::Tensor mean_;
  double variance_;
};

}  // namespace mapinverse::testing

namespace mapinverse::testing {

/// The exact consistency function of the isotropic Gaussian prior N(mean, variance I):
/// C(z, t) = mean + (z - mean) sqrt(variance + eps^2) / sqrt(variance + t^2) (docs/design.md §3).
class IsotropicGaussianConsistency final : public ConsistencyModel {
 public:
  IsotropicGaussianConsistency(torch::Tensor mean, double variance)
      : mean_(std::move(mean)), variance_(variance) {}

 protected:
  torch::Tensor evaluate(const torch::Tensor& z, const torch::Tensor& t,
                         const torch::Tensor& /*labels*/) const override {
    const auto mean = mean_.to(z.options());
    return mean +
           (z - mean) * std::sqrt(variance_ + kEpsilon * kEpsilon) / (variance_ + t * t).sqrt();
  }

 private:
  torch::Tensor mean_;
  double variance_;
};

}  // namespace mapinverse::testing

namespace mapinverse::testing {

/// An anisotropic Gaussian prior N(mean, U diag(variances) U^T) over images of n pixels,
/// U an n x n orthogonal matrix of eigenvectors (columns), in the row-major pixel order
/// of `mean` ([1, ...] with n entries). Holds the pieces its exact denoiser and
/// consistency map share: both act as mean + U diag(g) U^T (x - mean) for a gain g.
class AnisotropicGaussian {
 public:
  AnisotropicGaussian(torch::Tensor mean, torch::Tensor eigenvectors, torch::Tensor variances)
      : mean_(std::move(mean)),
        eigenvectors_(std::move(eigenvectors)),
        variances_(std::move(variances)) {}

  /// mean + U diag(gain) U^T (x - mean); gain [B or 1, n] broadcasts over the batch.
  torch::Tensor filter(const torch::Tensor& x, const torch::Tensor& gain) const {
    const auto mean = mean_.to(x.options());
    const auto basis = eigenvectors_.to(x.options());
    const auto coordinates = torch::matmul((x - mean).reshape({x.size(0), -1}), basis);
    return mean + torch::matmul(coordinates * gain, basis.t()).reshape(x.sizes());
  }

  /// The eigenvalues of the covariance, [n], in x's options.
  torch::Tensor variances(const torch::Tensor& like) const { return variances_.to(like.options()); }

 private:
  torch::Tensor mean_;
  torch::Tensor eigenvectors_;
  torch::Tensor variances_;
};

/// Exact denoiser of an AnisotropicGaussian prior:
/// D(x, sigma) = mean + U diag(lambda / (lambda + sigma^2)) U^T (x - mean).
class AnisotropicGaussianDenoiser final : public Denoiser {
 public:
  explicit AnisotropicGaussianDenoiser(AnisotropicGaussian prior) : prior_(std::move(prior)) {}

 protected:
  torch::Tensor evaluate(const torch::Tensor& x, const torch::Tensor& sigma,
                         const torch::Tensor& /*labels*/) const override {
    const auto variances = prior_.variances(x);
    const auto noise = sigma.reshape({-1, 1}).square();
    return prior_.filter(x, variances / (variances + noise));
  }

 private:
  AnisotropicGaussian prior_;
};

/// The exact consistency function of an AnisotropicGaussian prior, mapping to time
/// `epsilon` (kEpsilon unless given): C(z, t) = mean + U diag(sqrt((lambda + eps^2) /
/// (lambda + t^2))) U^T (z - mean), the probability-flow ODE of each eigen-direction.
class AnisotropicGaussianConsistency final : public ConsistencyModel {
 public:
  explicit AnisotropicGaussianConsistency(AnisotropicGaussian prior, double epsilon = kEpsilon)
      : prior_(std::move(prior)), epsilon_(epsilon) {}

  double epsilon() const override { return epsilon_; }

 protected:
  torch::Tensor evaluate(const torch::Tensor& z, const torch::Tensor& t,
                         const torch::Tensor& /*labels*/) const override {
    const auto variances = prior_.variances(z);
    const auto time = t.reshape({-1, 1});
    return prior_.filter(z, ((variances + epsilon_ * epsilon_) / (variances + time * time)).sqrt());
  }

 private:
  AnisotropicGaussian prior_;
  double epsilon_;
};

}  // namespace mapinverse::testing
