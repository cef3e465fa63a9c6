#pragma once

#include <cmath>
#include <cstdint>
#include <memory>

#include <ATen/ops/full_like.h>

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
      detail::require(num_steps >= 1,
                      "OdeConsistency::Options::num_steps = {}. Violated constraint: num_steps >= 1",
                      num_steps);
      detail::require(std::isfinite(epsilon) && epsilon > 0.0,
                      "OdeConsistency::Options::epsilon = {}. Violated constraint: epsilon > 0",
                      epsilon);
      detail::require(std::isfinite(rho) && rho > 0.0,
                      "OdeConsistency::Options::rho = {}. Violated constraint: rho > 0", rho);
    }
  };

  explicit OdeConsistency(std::shared_ptr<const Denoiser> denoiser)
      : OdeConsistency(std::move(denoiser), Options{}) {}
  OdeConsistency(std::shared_ptr<const Denoiser> denoiser, const Options& options)
      : denoiser_(std::move(denoiser)), options_(options) {
    detail::require(denoiser_ != nullptr, "OdeConsistency: expected a denoiser, got a null pointer");
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
                         const at::Tensor& labels) const override {
    const auto& schedule = *denoiser_->schedule();
    const auto sigma_start = schedule.sigma(t);
    const double sigma_end = schedule.sigma(options_.epsilon);
    detail::require((sigma_start >= sigma_end).all().item<bool>(),
                    "OdeConsistency::origin(): expected every t >= epsilon = {}", options_.epsilon);
    const auto inverse_rho = 1.0 / options_.rho;
    const auto start_root = sigma_start.pow(inverse_rho);
    const double end_root = std::pow(sigma_end, inverse_rho);
    const auto grid = [&](int64_t i) {
      const double fraction = static_cast<double>(i) / static_cast<double>(options_.num_steps);
      return (start_root + fraction * (end_root - start_root)).pow(options_.rho);
    };
    auto x = z;
    auto sigma = sigma_start;
    for (int64_t i = 0; i < options_.num_steps; ++i) {
      const bool last = i + 1 == options_.num_steps;
      const auto sigma_next = last ? at::full_like(sigma, sigma_end) : grid(i + 1);
      const auto slope = drift(x, sigma, labels);
      auto x_next = x + (sigma_next - sigma) * slope;
      if (!last) {
        x_next = x + (sigma_next - sigma) * 0.5 * (slope + drift(x_next, sigma_next, labels));
      }
      x = x_next;
      sigma = sigma_next;
    }
    return x;
  }

 private:
  // dx/dsigma of the probability-flow ODE in EDM form: (x - D(x, sigma)) / sigma.
  at::Tensor drift(const at::Tensor& x, const at::Tensor& sigma,
                      const at::Tensor& labels) const {
    return (x - denoiser_->denoise(x, sigma.reshape({-1}), labels)) / sigma;
  }

  std::shared_ptr<const Denoiser> denoiser_;
  Options options_;
};

}  // namespace mapinverse
