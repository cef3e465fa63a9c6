#pragma once

#include <cmath>
#include <cstdint>
#include <memory>

#include "mapinverse/core/error.hpp"
#include "mapinverse/models/consistency_model.hpp"
#include "mapinverse/models/denoiser.hpp"

namespace mapinverse {

/// A consistency function without a trained consistency model: C(z, t) is the solution
/// at epsilon of the probability-flow ODE dx/dsigma = (x - D(x, sigma)) / sigma (paper §4)
/// started at (z, sigma(t)), integrated by `num_steps` steps on a Karras grid from
/// sigma(t) down to sigma(epsilon): Heun steps, the last one Euler (as in EDM's sampler).
/// Differentiable with respect to z; costs 2 num_steps - 1 denoiser calls. With
/// num_steps = 1 it is one Euler step, D(z, t) + (z - D(z, t)) sigma(eps)/sigma(t), i.e.
/// the paper's D variant up to O(eps/t).
class OdeConsistency final : public ConsistencyModel {
 public:
  struct Options {
    /// ODE steps from t down to epsilon; >= 1.
    int64_t num_steps = 4;
    /// Time of the trajectory's origin (the consistency models' epsilon); > 0.
    double epsilon = kEpsilon;
    /// Spacing of the grid between t and epsilon (Karras et al. 2022, eq. 5).
    double rho = 7.0;

    void validate() const {
      require(num_steps >= 1,
              "OdeConsistency::Options::num_steps = {}. Violated constraint: num_steps >= 1",
              num_steps);
      require(std::isfinite(epsilon) && epsilon > 0.0,
              "OdeConsistency::Options::epsilon = {}. Violated constraint: epsilon > 0", epsilon);
      require(std::isfinite(rho) && rho > 0.0,
              "OdeConsistency::Options::rho = {}. Violated constraint: rho > 0", rho);
    }
  };

  explicit OdeConsistency(std::shared_ptr<const Denoiser> denoiser)
      : OdeConsistency(std::move(denoiser), Options{}) {}
  OdeConsistency(std::shared_ptr<const Denoiser> denoiser, const Options& options)
      : denoiser_(std::move(denoiser)), options_(options) {
    require(denoiser_ != nullptr, "OdeConsistency: expected a denoiser, got a null pointer");
    options_.validate();
  }

  double epsilon() const override { return options_.epsilon; }
  std::shared_ptr<const NoiseSchedule> schedule() const override { return denoiser_->schedule(); }
  int64_t network_calls_per_evaluation() const override {
    return (2 * options_.num_steps - 1) * denoiser_->network_calls_per_evaluation();
  }
  const Options& options() const { return options_; }

 protected:
  at::Tensor evaluate(const at::Tensor& z, const at::Tensor& t,
                      const at::Tensor& labels) const override;

 private:
  // dx/dsigma of the probability-flow ODE in EDM form: (x - D(x, sigma)) / sigma.
  at::Tensor drift(const at::Tensor& x, const at::Tensor& sigma, const at::Tensor& labels) const;

  std::shared_ptr<const Denoiser> denoiser_;
  Options options_;
};

}  // namespace mapinverse
