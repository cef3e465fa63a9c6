#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "mapinverse/core/tensor.hpp"
#include "mapinverse/solvers/iteration.hpp"

namespace mapinverse {

enum class TerminationReason {
  /// Every planned step ran.
  kCompleted,
  /// A callback returned CallbackResult::kStop.
  kStoppedByCallback,
};

inline const char* to_string(TerminationReason reason) {
  switch (reason) {
    case TerminationReason::kCompleted:
      return "COMPLETED";
    case TerminationReason::kStoppedByCallback:
      return "STOPPED_BY_CALLBACK";
  }
  return "UNKNOWN";
}

/// The result of Solver::solve(), returned by value (Ceres-style).
struct Summary {
  std::string solver_name;
  /// The restored images [B, ...], on the measurement's device and dtype.
  at::Tensor estimate;
  TerminationReason termination = TerminationReason::kCompleted;
  /// Network forward evaluations (denoiser or consistency-model calls, counted in
  /// underlying network calls) and vector-Jacobian products through the networks.
  int64_t network_forwards = 0;
  int64_t network_vjps = 0;
  /// One entry per outer step.
  std::vector<IterationSummary> history;
  double total_time_in_seconds = 0.0;

  int64_t network_evaluations() const { return network_forwards + network_vjps; }

  /// One line: solver, termination, steps, NFEs, final residual, time.
  std::string brief_report() const {
    const double residual = history.empty() ? 0.0 : history.back().residual_norm;
    return fmt::format("{}: {}, {} steps, {} forwards + {} VJPs, residual {:.4g}, {:.3f} s",
                       solver_name, to_string(termination), history.size(), network_forwards,
                       network_vjps, residual, total_time_in_seconds);
  }

  /// A table of the history (at most `max_rows` evenly spaced rows) and the totals.
  std::string full_report(size_t max_rows = 25) const {
    std::string report =
        fmt::format("Solver: {}\nTermination: {}\nBatch: {}\n", solver_name, to_string(termination),
                    estimate.defined() ? shape_string_of(estimate) : "none");
    report += fmt::format("{:>6} {:>11} {:>11} {:>13} {:>14} {:>9} {:>9} {:>10}\n", "step", "time",
                          "sigma", "residual", "objective", "forwards", "VJPs", "seconds");
    const size_t stride =
        history.size() <= max_rows ? 1 : (history.size() + max_rows - 1) / max_rows;
    for (size_t i = 0; i < history.size(); ++i) {
      if (i % stride != 0 && i + 1 != history.size()) continue;
      const auto& s = history[i];
      report += fmt::format("{:>6} {:>11.5g} {:>11.5g} {:>13.6g} {:>14.6g} {:>9} {:>9} {:>10.3f}\n",
                            s.step, s.time, s.sigma, s.residual_norm, s.objective,
                            s.network_forwards, s.network_vjps, s.elapsed_time_in_seconds);
    }
    report +=
        fmt::format("Network calls: {} forwards + {} VJPs = {}\nTotal time: {:.3f} s\n",
                    network_forwards, network_vjps, network_evaluations(), total_time_in_seconds);
    return report;
  }

 private:
  static std::string shape_string_of(const at::Tensor& tensor) {
    std::string text = "[";
    for (int64_t d = 0; d < tensor.dim(); ++d) {
      text += (d > 0 ? "," : "") + std::to_string(tensor.size(d));
    }
    return text + "]";
  }
};

}  // namespace mapinverse
