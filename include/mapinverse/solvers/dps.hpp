#pragma once

#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "mapinverse/core/tensor.hpp"
#include "mapinverse/core/error.hpp"
#include "mapinverse/core/random.hpp"
#include "mapinverse/solvers/guided_estimate.hpp"
#include "mapinverse/solvers/reverse_step.hpp"
#include "mapinverse/solvers/solver.hpp"

namespace mapinverse {

/// Diffusion posterior sampling (Chung et al. 2023, "DPS", Alg. 1) in EDM form:
/// x_hat = D(x_t, sigma_t); an unconditional reverse step x'_s from x_hat; then
/// x_s = x'_s - zeta_t grad_{x_t} ||y - A(x_hat)||^2 with zeta_t = zeta / ||y - A(x_hat)||
/// per sample (one VJP through the denoiser).
class Dps final : public Solver {
 public:
  struct Options {
    /// Reverse steps and their times (DPS uses 1000 ancestral steps).
    ReverseSchedule schedule{1000};
    /// Step size zeta' (DPS: 1.0 for inpainting; 0.1-1 in general).
    double zeta = 1.0;
    /// Unconditional step; eta = 1 is ancestral sampling as in DPS.
    ReverseStepOptions step;

    void validate() const {
      schedule.validate("Dps::Options::schedule");
      detail::require(std::isfinite(zeta) && zeta >= 0.0,
                      "Dps::Options::zeta = {}. Violated constraint: zeta >= 0", zeta);
      step.validate("Dps::Options::step");
    }
  };

  explicit Dps(PriorModels models) : Dps(std::move(models), Options{}) {}
  Dps(PriorModels models, Options options)
      : models_(std::move(models)), options_(std::move(options)) {
    options_.validate();
    detail::require(models_.denoiser != nullptr, "Dps: needs PriorModels::denoiser");
  }

  std::string name() const override { return "DPS"; }
  const Options& options() const { return options_; }

  Summary solve(const Problem& problem,
                const std::vector<IterationCallback>& callbacks = {}) const override {
    problem.validate();
    detail::SolveRecorder recorder(name(), callbacks, options_.schedule.num_steps);
    auto noise = detail::noise_source(problem);
    const auto& schedule = *models_.denoiser->schedule();
    const auto times = options_.schedule.times();
    const double sigma_floor = schedule.sigma(times.back());
    auto x = detail::initial_noise(problem, schedule.sigma(times.front()), at::Tensor(),
                                   noise);
    for (size_t i = 0; i + 1 < times.size(); ++i) {
      const double sigma_t = schedule.sigma(times[i]);
      // With a = 1, b = 0 the guidance is (dx_hat/dx_t)^T A'^T (y - A(x_hat)) =
      // -1/2 grad_{x_t} ||y - A(x_hat)||^2.
      const auto guided =
          detail::guided_estimate(*models_.denoiser, problem, x, sigma_t, 1.0, 0.0, recorder);
      const auto step_size = 2.0 * options_.zeta / guided.data.residual_norm.clamp_min(1e-12);
      x = reverse_step(x, guided.estimate, sigma_t, schedule.sigma(times[i + 1]), sigma_floor,
                       options_.step, noise) +
          detail::per_sample_scalar(step_size, x) * guided.guidance;
      recorder.check_finite(x, "the iterate x_t", recorder.current_step(), sigma_t);
      if (!recorder.end_step(times[i], sigma_t, detail::batch_mean(guided.data.residual_norm),
                             detail::batch_mean(guided.data.objective))) {
        break;
      }
    }
    return recorder.finish(x);
  }

 private:
  PriorModels models_;
  Options options_;
};

}  // namespace mapinverse
