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
    return mean + (z - mean) * std::sqrt(variance_ + epsilon * epsilon) /
                      std::sqrt(variance_ + t * t);
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
/// C(z, t) = mean + (z - mean) sqrt(variance + eps^2) / sqrt(variance + t^2) (DESIGN.md §3).
class IsotropicGaussianConsistency final : public ConsistencyModel {
 public:
  IsotropicGaussianConsistency(torch::Tensor mean, double variance)
      : mean_(std::move(mean)), variance_(variance) {}

 protected:
  torch::Tensor evaluate(const torch::Tensor& z, const torch::Tensor& t,
                         const torch::Tensor& /*labels*/) const override {
    const auto mean = mean_.to(z.options());
    return mean + (z - mean) * std::sqrt(variance_ + kEpsilon * kEpsilon) /
                      (variance_ + t * t).sqrt();
  }

 private:
  torch::Tensor mean_;
  double variance_;
};

}  // namespace mapinverse::testing
