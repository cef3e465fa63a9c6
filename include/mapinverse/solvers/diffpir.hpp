#pragma once

#include <cmath>
#include <vector>

#include "mapinverse/core/tensor.hpp"
#include "mapinverse/core/error.hpp"
#include "mapinverse/solvers/reverse_diffusion_solver.hpp"
#include "mapinverse/solvers/reverse_step.hpp"
#include "mapinverse/solvers/solver.hpp"

namespace mapinverse {

/// The options of DiffPir (DiffPir::Options).
struct DiffPirOptions {
  /// Reverse steps and their times (DiffPIR's experiments use 100 steps).
  ReverseSchedule schedule{100};
  /// lambda in rho_t = lambda sigma_y^2 / sigma_t^2 (sigma_y in [-1, 1] units).
  double lambda = 1.75;
  /// zeta: the share of fresh noise in the step, in [0, 1]. DiffPIR's experiments use
  /// 0.3; 1 (all fresh) is 3-6 dB better on scattered masks and at sigma_y > 0 here, for
  /// the same reason as DDRM's eta = 1 (docs/solving.md, "DiffPir").
  double zeta = 1.0;

  void validate() const {
    schedule.validate("DiffPir::Options::schedule");
    require(std::isfinite(lambda) && lambda > 0.0,
            "DiffPir::Options::lambda = {}. Violated constraint: lambda > 0", lambda);
    require(std::isfinite(zeta) && zeta >= 0.0 && zeta <= 1.0,
            "DiffPir::Options::zeta = {}. Violated constraint: 0 <= zeta <= 1", zeta);
  }
};

/// Diffusion plug-and-play image restoration (Zhu et al. 2023, "DiffPIR", Alg. 1) in EDM
/// form (docs/design.md §3). Each step, from sigma_t to sigma_s:
///   x0      = D(x_t, sigma_t)                                   (Alg. 1, prior step)
///   x0_hat  = argmin_x ||y - H x||^2 + rho_t ||x - x0||^2,
///             rho_t = lambda sigma_y^2 / sigma_t^2               (Alg. 1, data step)
///           = x0 + H^T (rho_t I + H H^T)^{-1} (y - H x0)         (one solve_gram())
///   eps_hat = (x_t - x0_hat) / sigma_t
///   x_s     = x0_hat + sigma_s (sqrt(1 - zeta) eps_hat + sqrt(zeta) xi)
/// DiffPIR's sigma_bar_t = sqrt(1 - alpha_bar_t) / sqrt(alpha_bar_t) is the variance-
/// exploding noise level, i.e. EDM's sigma(t) = t, and x_t / sqrt(alpha_bar_t) is EDM's x_t.
/// Noiseless problems (sigma_y = 0) give rho_t = 0: x0_hat is x0 projected onto {H x = y}.
///
/// Units: here sigma_y and every image are in [-1, 1]. The authors' code puts sigma_y in
/// [0, 1] units (half as large) into rho_t, so its lambda is 4 times this one; deepinv's
/// DiffPIR (its prox with gamma = 1 / (2 rho_t), [0, 1] units) has 2 times this one.
/// The default 1.75 is the authors' lambda = 7. Linear operators only; one network call
/// per step, no VJPs.
class DiffPir final : public ReverseDiffusionSolver<DiffPir, DiffPirOptions> {
 public:
  static constexpr const char* kClassName = "DiffPir";
  static constexpr const char* kSolverName = "DiffPIR";
  using ReverseDiffusionSolver::ReverseDiffusionSolver;

  /// Throws std::invalid_argument when the problem's operator is not linear.
  Summary solve(const Problem& problem,
                const std::vector<IterationCallback>& callbacks = {}) const override;
};

}  // namespace mapinverse
