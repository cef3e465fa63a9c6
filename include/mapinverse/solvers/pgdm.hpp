#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include "mapinverse/core/tensor.hpp"
#include "mapinverse/core/error.hpp"
#include "mapinverse/core/random.hpp"
#include "mapinverse/solvers/guided_estimate.hpp"
#include "mapinverse/solvers/reverse_diffusion_solver.hpp"
#include "mapinverse/solvers/reverse_step.hpp"
#include "mapinverse/solvers/solver.hpp"

namespace mapinverse {

/// The options of Pgdm (Pgdm::Options).
struct PgdmOptions {
  /// Reverse steps and their times (PGDM's own experiments use 100 steps).
  ReverseSchedule schedule;
  /// sigma_d in r_t^2; PGDM's choice for data in [-1, 1] is 1.
  double sigma_d = 1.0;
  ReverseStepOptions step;

  void validate() const {
    schedule.validate("Pgdm::Options::schedule");
    require(std::isfinite(sigma_d) && sigma_d > 0.0,
            "Pgdm::Options::sigma_d = {}. Violated constraint: sigma_d > 0", sigma_d);
    step.validate("Pgdm::Options::step");
  }
};

/// Pseudoinverse-guided diffusion (Song et al. 2023, "PGDM") in EDM form (docs/design.md §3):
/// at each step x_hat = D(x_t, sigma_t), r_t^2 = sigma_t^2 sigma_d^2 / (sigma_t^2 + sigma_d^2),
/// g = (dx_hat/dx_t)^T H^T (r_t^2 H H^T + sigma_y^2 I)^{-1} (y - H x_hat) (one VJP),
/// x_hat_y = x_hat + sigma_t^2 g, then a DDIM(eta) or renoise step to the next level.
class Pgdm final : public ReverseDiffusionSolver<Pgdm, PgdmOptions> {
 public:
  static constexpr const char* kClassName = "Pgdm";
  static constexpr const char* kSolverName = "PGDM";
  using ReverseDiffusionSolver::ReverseDiffusionSolver;

  Summary solve(const Problem& problem,
                const std::vector<IterationCallback>& callbacks = {}) const override {
    problem.validate();
    detail::SolveRecorder recorder(name(), callbacks, options_.schedule.num_steps);
    auto noise = detail::noise_source(problem);
    const auto& schedule = *models_.denoiser->schedule();
    const auto x = detail::initial_noise(problem, schedule.sigma(options_.schedule.t_max), noise);
    return recorder.finish(run(problem, x, recorder, noise));
  }

 private:
  friend class MapGaPgdm;  // runs PGDM from MAP-GA's estimate (Algorithm 3)

  // The reverse diffusion from x at time schedule.t_max on a validated problem.
  at::Tensor run(const Problem& problem, at::Tensor x, detail::SolveRecorder& recorder,
                 NoiseSource& noise) const;
};

}  // namespace mapinverse
