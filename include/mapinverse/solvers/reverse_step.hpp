#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include "mapinverse/core/tensor.hpp"
#include "mapinverse/core/error.hpp"
#include "mapinverse/core/random.hpp"
#include "mapinverse/core/time_steps.hpp"

namespace mapinverse {

/// How a reverse-diffusion step moves from noise level sigma_t to sigma_s < sigma_t
/// given a clean estimate x_hat (docs/design.md §3).
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

/// The time grid of a reverse diffusion: `num_steps` steps on the Karras grid
/// (Karras et al. 2022, eq. 5) from t_max down to t_min.
struct ReverseSchedule {
  int64_t num_steps = 100;
  double t_max = kTimeMax;
  double t_min = kEpsilon;
  double rho = 7.0;

  /// `owner` names the options struct in messages, e.g. "Pgdm::Options::schedule".
  void validate(const char* owner) const {
    require(num_steps >= 1, "{}.num_steps = {}. Violated constraint: num_steps >= 1", owner,
            num_steps);
    require(std::isfinite(t_min) && t_min > 0.0, "{}.t_min = {}. Violated constraint: t_min > 0",
            owner, t_min);
    require(std::isfinite(t_max) && t_max > t_min,
            "{}.t_max = {}. Violated constraint: t_max > t_min = {}", owner, t_max, t_min);
    require(std::isfinite(rho) && rho > 0.0, "{}.rho = {}. Violated constraint: rho > 0", owner,
            rho);
  }

  /// tau_n ... tau_0: num_steps + 1 decreasing times.
  std::vector<double> times() const {
    return TimeSteps({num_steps + 1, t_max, t_min, rho}).values();
  }
};

struct ReverseStepOptions {
  ReverseUpdate update = ReverseUpdate::kDdim;
  /// DDIM stochasticity in [0, 1].
  double eta = 1.0;

  void validate(const char* owner) const {
    require(std::isfinite(eta) && eta >= 0.0 && eta <= 1.0,
            "{}::eta = {}. Violated constraint: 0 <= eta <= 1", owner, eta);
  }
};

/// One reverse step from sigma_t to sigma_s; `sigma_floor` is the noise level of the
/// schedule's last point (tau_0), which the renoise update subtracts.
at::Tensor reverse_step(const at::Tensor& x_t, const at::Tensor& x_hat, double sigma_t,
                        double sigma_s, double sigma_floor, const ReverseStepOptions& options,
                        NoiseSource& noise);

}  // namespace mapinverse
