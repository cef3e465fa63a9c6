#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "mapinverse/core/tensor.hpp"
#include "mapinverse/core/error.hpp"
#include "mapinverse/core/random.hpp"
#include "mapinverse/models/consistency_model.hpp"
#include "mapinverse/models/denoiser.hpp"
#include "mapinverse/solvers/iteration.hpp"
#include "mapinverse/solvers/problem.hpp"
#include "mapinverse/solvers/summary.hpp"

namespace mapinverse {

/// The pre-trained networks a solver draws on: the denoiser D (score model) and, for
/// MAP-GA, the consistency model C. Either may be null where a solver does not use it.
struct PriorModels {
  std::shared_ptr<const Denoiser> denoiser;
  std::shared_ptr<const ConsistencyModel> consistency;
};

/// Solves a batch of inverse problems. Implementations are immutable and may be reused
/// for many problems, also from several threads.
class Solver {
 public:
  Solver() = default;
  virtual ~Solver() = default;
  Solver(const Solver&) = delete;
  Solver& operator=(const Solver&) = delete;

  virtual Summary solve(const Problem& problem,
                        const std::vector<IterationCallback>& callbacks = {}) const = 0;
  virtual std::string name() const = 0;
  /// The name of the method that runs on problems with measurement noise `sigma_y`; a
  /// solver that switches method with the noise level (WarmStartedMapGa) names the one.
  virtual std::string name_at_noise(double /*sigma_y*/) const { return name(); }
};

namespace detail {

/// The starting point of a reverse diffusion at noise level `sigma`:
/// sigma xi (+ start_image when defined), xi ~ N(0, I) drawn from `noise`.
/// The noise of a solve: per-sample generators when the problem has sample seeds.
inline NoiseSource noise_source(const Problem& problem) {
  return problem.sample_seeds.empty() ? NoiseSource(problem.seed)
                                      : NoiseSource(problem.sample_seeds);
}

at::Tensor initial_noise(const Problem& problem, double sigma, NoiseSource& noise);

/// Book-keeping shared by all solvers: NFE counts, history, callbacks, timing and the
/// NaN/Inf guard. One recorder lives for one solve.
class SolveRecorder {
 public:
  SolveRecorder(std::string solver_name, const std::vector<IterationCallback>& callbacks,
                int64_t total_steps)
      : callbacks_(callbacks), start_(std::chrono::steady_clock::now()) {
    summary_.solver_name = std::move(solver_name);
    total_steps_ = total_steps;
  }

  void count_forwards(int64_t calls) { summary_.network_forwards += calls; }
  void count_vjps(int64_t calls) { summary_.network_vjps += calls; }

  /// Throws NumericalError if `value` holds NaN or Inf.
  void check_finite(const at::Tensor& value, const char* what, int64_t step, double sigma) const;

  /// Records the next outer step and runs the callbacks; returns false when a callback
  /// asks to stop.
  bool end_step(double time, double sigma, double residual_norm, double objective) {
    IterationSummary entry;
    entry.step = static_cast<int64_t>(summary_.history.size()) + 1;
    entry.total_steps = total_steps_;
    entry.time = time;
    entry.sigma = sigma;
    entry.residual_norm = residual_norm;
    entry.objective = objective;
    entry.network_forwards = summary_.network_forwards;
    entry.network_vjps = summary_.network_vjps;
    entry.elapsed_time_in_seconds = elapsed();
    summary_.history.push_back(entry);
    bool proceed = true;
    for (const auto& callback : callbacks_) {
      if (callback(entry) == CallbackResult::kStop) proceed = false;
    }
    if (!proceed) summary_.termination = TerminationReason::kStoppedByCallback;
    return proceed;
  }

  Summary finish(at::Tensor estimate) {
    summary_.estimate = std::move(estimate);
    summary_.total_time_in_seconds = elapsed();
    return std::move(summary_);
  }

  const Summary& summary() const { return summary_; }
  bool stopped() const { return summary_.termination == TerminationReason::kStoppedByCallback; }
  /// 1-based index of the step in progress.
  int64_t current_step() const { return static_cast<int64_t>(summary_.history.size()) + 1; }

 private:
  double elapsed() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

  const std::vector<IterationCallback>& callbacks_;
  std::chrono::steady_clock::time_point start_;
  int64_t total_steps_ = 0;
  Summary summary_;
};

}  // namespace detail
}  // namespace mapinverse
