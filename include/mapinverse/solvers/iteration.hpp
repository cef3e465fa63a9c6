#pragma once

#include <cmath>
#include <cstdint>
#include <functional>
#include <ostream>

#include <fmt/format.h>
#include <fmt/ostream.h>

namespace mapinverse {

/// What a solver reports after each outer step (one diffusion time step).
struct IterationSummary {
  /// 1-based index of the outer step.
  int64_t step = 0;
  /// Number of outer steps the solve will take.
  int64_t total_steps = 0;
  /// Diffusion time of the step.
  double time = 0.0;
  /// Noise level sigma(time).
  double sigma = 0.0;
  /// Batch mean of ||y - A(x_hat)|| at the step's clean estimate x_hat.
  double residual_norm = 0.0;
  /// Batch mean of the data term log p(y | x_hat) up to a constant:
  /// -||y - A(x_hat)||^2 / (2 (sigma_y^2 + sigma_eps^2)) (or its PGDM/DPS analogue).
  double objective = 0.0;
  /// Cumulative network forward evaluations and vector-Jacobian products.
  int64_t network_forwards = 0;
  int64_t network_vjps = 0;
  /// Wall time since the solve started.
  double elapsed_time_in_seconds = 0.0;
};

/// What a callback asks the solver to do next (as in Ceres' CallbackReturnType).
enum class CallbackResult {
  kContinue,
  /// Stop now and return the current estimate as a successful result.
  kStop,
};

/// Called after every outer step; passed per call to Solver::solve().
using IterationCallback = std::function<CallbackResult(const IterationSummary&)>;

/// Prints one line per outer step: step, t, residual, NFEs, seconds.
inline IterationCallback print_progress(std::ostream& out, int64_t every = 1) {
  return [&out, every](const IterationSummary& s) {
    if (s.step % every == 0 || s.step == s.total_steps) {
      fmt::print(out, "step {:>4}/{:<4} t = {:<9.4g} residual = {:<10.4g} NFE = {}+{} ({:.1f} s)\n",
                 s.step, s.total_steps, s.time, s.residual_norm, s.network_forwards, s.network_vjps,
                 s.elapsed_time_in_seconds);
    }
    return CallbackResult::kContinue;
  };
}

/// Stops the solve once the batch-mean residual ||y - A(x_hat)|| falls below `threshold`.
inline IterationCallback stop_when_residual_below(double threshold) {
  return [threshold](const IterationSummary& s) {
    return s.residual_norm < threshold ? CallbackResult::kStop : CallbackResult::kContinue;
  };
}

}  // namespace mapinverse
