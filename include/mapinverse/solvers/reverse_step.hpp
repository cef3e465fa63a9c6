#pragma once

#include <cmath>

#include <torch/torch.h>

#include "mapinverse/core/error.hpp"
#include "mapinverse/core/random.hpp"

namespace mapinverse {

/// How a reverse-diffusion step moves from noise level sigma_t to sigma_s < sigma_t
/// given a clean estimate x_hat (DESIGN.md §3).
enum class ReverseUpdate {
  /// DDIM(eta) (Song et al. 2021) in variance-exploding form:
  /// x_s = x_hat + sqrt(sigma_s^2 - c^2) (x_t - x_hat)/sigma_t + c xi,
  /// c = eta sigma_s sqrt(1 - sigma_s^2/sigma_t^2). eta = 0 is deterministic DDIM,
  /// eta = 1 ancestral sampling.
  kDdim,
  /// Fresh noise around the estimate (paper Alg. 3, PGDM part):
  /// x_s = x_hat + sqrt(sigma_s^2 - sigma_floor^2) xi.
  kRenoise,
};

struct ReverseStepOptions {
  ReverseUpdate update = ReverseUpdate::kDdim;
  /// DDIM stochasticity in [0, 1].
  double eta = 1.0;

  void validate(const char* owner) const {
    detail::require(std::isfinite(eta) && eta >= 0.0 && eta <= 1.0,
                    "{}::eta = {}. Violated constraint: 0 <= eta <= 1", owner, eta);
  }
};

/// One reverse step from sigma_t to sigma_s; `sigma_floor` is the noise level of the
/// schedule's last point (tau_0), which the renoise update subtracts.
inline torch::Tensor reverse_step(const torch::Tensor& x_t, const torch::Tensor& x_hat,
                                  double sigma_t, double sigma_s, double sigma_floor,
                                  const ReverseStepOptions& options, torch::Generator& generator) {
  if (options.update == ReverseUpdate::kRenoise) {
    const double scale = std::sqrt(std::max(sigma_s * sigma_s - sigma_floor * sigma_floor, 0.0));
    return scale > 0.0 ? x_hat + scale * randn_like(x_hat, generator) : x_hat;
  }
  const double ratio = sigma_s / sigma_t;
  const double c = options.eta * sigma_s * std::sqrt(std::max(1.0 - ratio * ratio, 0.0));
  const double keep = std::sqrt(std::max(sigma_s * sigma_s - c * c, 0.0)) / sigma_t;
  auto x_s = x_hat + keep * (x_t - x_hat);
  return c > 0.0 ? x_s + c * randn_like(x_hat, generator) : x_s;
}

}  // namespace mapinverse
