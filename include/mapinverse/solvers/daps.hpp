#pragma once

#include <cmath>
#include <cstdint>
#include <optional>
#include <vector>

#include "mapinverse/core/tensor.hpp"
#include "mapinverse/core/error.hpp"
#include "mapinverse/solvers/reverse_diffusion_solver.hpp"
#include "mapinverse/solvers/reverse_step.hpp"
#include "mapinverse/solvers/solver.hpp"

namespace mapinverse {

/// The options of Daps (Daps::Options).
struct DapsOptions {
  /// Annealing levels: num_steps levels on the Karras grid from t_max to t_min. DAPS's
  /// pixel-space runs use 200 levels x 5 ODE steps (1,000 network calls); the default is
  /// 50 x 2, 100 calls: PGDM's, DDRM's and DiffPIR's budget.
  ReverseSchedule schedule{50, kTimeMax, 0.1};
  /// Euler steps of the probability-flow ODE per level (network calls per level).
  int64_t ode_steps = 2;
  /// The ODE's last grid point before 0 (DAPS: 0.01).
  double ode_sigma_min = 0.01;
  int64_t langevin_steps = 100;
  /// The Langevin step as a fraction of the step that the target's stiffest direction
  /// allows: l_t = langevin_step_fraction / (1 / r_t^2 + ||A||^2 / tau^2), r_t = sigma_t.
  /// It scales with the annealing level and the noise, so it holds for any image size,
  /// value range and sigma_y (0.03: 100 steps cover about three relaxation times).
  double langevin_step_fraction = 0.03;
  /// An absolute step instead (DAPS's code: 1e-4 falling to 1e-6 for its images), falling
  /// linearly over the levels to langevin_step_size * step_size_floor. Unset: the
  /// relative step above.
  std::optional<double> langevin_step_size;
  /// The step size at the last level, as a fraction of langevin_step_size.
  double step_size_floor = 0.01;
  /// Cool the Langevin noise: its temperature falls linearly from 1 at the first level to
  /// 0 at the last, so that the last levels settle on the mode of p(x0 | x_t, y) rather
  /// than draw from it (a draw keeps its spread in the restoration). DAPS's own step,
  /// falling 100-fold, freezes its chain at the last levels to the same end. false: every
  /// level samples (for posterior samples).
  bool cool_langevin = true;
  /// The likelihood's standard deviation; unset: max(sigma_y, tau_floor).
  std::optional<double> tau;
  double tau_floor = 0.01;

  void validate() const {
    schedule.validate("Daps::Options::schedule");
    require(ode_steps >= 1, "Daps::Options::ode_steps = {}. Violated constraint: ode_steps >= 1",
            ode_steps);
    require(std::isfinite(ode_sigma_min) && ode_sigma_min > 0.0,
            "Daps::Options::ode_sigma_min = {}. Violated constraint: ode_sigma_min > 0",
            ode_sigma_min);
    require(langevin_steps >= 0,
            "Daps::Options::langevin_steps = {}. Violated constraint: langevin_steps >= 0",
            langevin_steps);
    require(std::isfinite(langevin_step_fraction) && langevin_step_fraction > 0.0 &&
                langevin_step_fraction <= 1.0,
            "Daps::Options::langevin_step_fraction = {}. Violated constraint: "
            "0 < langevin_step_fraction <= 1",
            langevin_step_fraction);
    require(
        !langevin_step_size || (std::isfinite(*langevin_step_size) && *langevin_step_size > 0.0),
        "Daps::Options::langevin_step_size = {}. Violated constraint: "
        "langevin_step_size > 0",
        langevin_step_size.value_or(0.0));
    require(std::isfinite(step_size_floor) && step_size_floor > 0.0 && step_size_floor <= 1.0,
            "Daps::Options::step_size_floor = {}. Violated constraint: 0 < step_size_floor <= 1",
            step_size_floor);
    require(!tau || (std::isfinite(*tau) && *tau > 0.0),
            "Daps::Options::tau = {}. Violated constraint: tau > 0", tau.value_or(0.0));
    require(std::isfinite(tau_floor) && tau_floor > 0.0,
            "Daps::Options::tau_floor = {}. Violated constraint: tau_floor > 0", tau_floor);
  }
};

/// Decoupled annealing posterior sampling (Zhang et al. 2025, "DAPS", Alg. 1), already in
/// EDM form in the paper. For each annealing level sigma_t of a Karras grid, from x_t:
///   1. x0_hat = the probability-flow ODE solved from (x_t, sigma_t) to 0 with
///      `ode_steps` Euler steps (one network call each; 1 step is D(x_t, sigma_t));
///   2. x0 ~ p(x0 | x_t, y) approximately, by `langevin_steps` Langevin steps from x0_hat
///      on log N(x0; x0_hat, r_t^2 I) + log p(y | x0), r_t = sigma_t:
///        x0 <- x0 + l (-(x0 - x0_hat) / r_t^2 + A'(x0)^T (y - A(x0)) / tau^2)
///              + sqrt(2 l) xi,
///      the step l = langevin_step_fraction / (1 / r_t^2 + ||A||^2 / tau^2), the stiffest
///      curvature of that target inverted (||A||^2 by power iteration for linear
///      operators, 1 for non-linear ones), so that the chain relaxes in the same number
///      of steps at every level, image scale and noise level;
///   3. x_s = x0 + sigma_s xi at the next level (the last level returns x0).
/// The operator's gradient needs no network: linear operators use H^T, non-linear ones
/// their own VJP. DAPS's own runs (its pixel-space inpainting settings) are 200 levels
/// from 100 (here T = 80) down to 0.1, 5 ODE steps, 100 Langevin steps of an absolute
/// size 1e-4 falling to 1e-6, tau = 0.01; an absolute step is scale-dependent and, at
/// sigma_y > 0 where tau = sigma_y, far too small to reach the posterior
/// (docs/solving.md, "Daps"). Defaults here: 50 levels x 2 ODE steps, fraction 0.03.
///
/// tau: the authors use the likelihood's tau as a setting (0.01 whatever the true noise).
/// Unset here it is max(sigma_y, tau_floor), the true likelihood where the problem is noisy.
/// The authors' code differentiates ||y - A x||^2 / tau^2 + ||x - x0_hat||^2 / r_t^2,
/// without the 1/2 of the log-density; this follows the paper's Langevin equation.
class Daps final : public ReverseDiffusionSolver<Daps, DapsOptions> {
 public:
  static constexpr const char* kClassName = "Daps";
  static constexpr const char* kSolverName = "DAPS";
  using ReverseDiffusionSolver::ReverseDiffusionSolver;

  Summary solve(const Problem& problem,
                const std::vector<IterationCallback>& callbacks = {}) const override;

 private:
  // Step 1: x0_hat from x_t by the probability-flow ODE.
  at::Tensor ode_estimate(const Problem& problem, at::Tensor x, double sigma_t,
                          detail::SolveRecorder& recorder) const;
  // Step 2: Langevin dynamics on p(x0 | x_t, y).
  at::Tensor langevin(const Problem& problem, const at::Tensor& x0_hat, double sigma_t,
                      double step_size, double temperature, double tau, NoiseSource& noise) const;
  // The Langevin step at level i of `levels` with annealing noise sigma_t.
  double step_size(int64_t i, int64_t levels, double sigma_t, double tau,
                   double operator_norm_squared) const;
};

}  // namespace mapinverse
