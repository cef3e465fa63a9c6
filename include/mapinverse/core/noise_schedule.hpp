#pragma once

#include <memory>

#include "mapinverse/core/tensor.hpp"
#include "mapinverse/core/error.hpp"

namespace mapinverse {

/// Default time horizon of EDM and consistency models (Karras et al. 2022; Song et al. 2023).
inline constexpr double kEpsilon = 0.002;
inline constexpr double kTimeMax = 80.0;
/// Standard deviation of the data in [-1, 1] (EDM's sigma_data).
inline constexpr double kSigmaData = 0.5;

/// Noise level sigma(t) of a variance-exploding diffusion with perturbation
/// kernel N(x0, sigma(t)^2 I) (paper §2.1). Monotonically increasing in t.
class NoiseSchedule {
 public:
  virtual ~NoiseSchedule() = default;
  NoiseSchedule() = default;
  NoiseSchedule(const NoiseSchedule&) = delete;
  NoiseSchedule& operator=(const NoiseSchedule&) = delete;

  virtual double sigma(double t) const = 0;
  /// Elementwise sigma(t) for a tensor of times (same dtype and device).
  virtual at::Tensor sigma(const at::Tensor& t) const = 0;
  /// Inverse of sigma(): the time at which the noise level equals `sigma`.
  virtual double time(double sigma) const = 0;
};

/// EDM's schedule sigma(t) = t (Karras et al. 2022), used by the paper (§4).
class EdmSchedule final : public NoiseSchedule {
 public:
  double sigma(double t) const override { return t; }
  at::Tensor sigma(const at::Tensor& t) const override { return t; }
  double time(double sigma) const override { return sigma; }
};

inline std::shared_ptr<const NoiseSchedule> edm_schedule() {
  static const auto schedule = std::make_shared<const EdmSchedule>();
  return schedule;
}

}  // namespace mapinverse
