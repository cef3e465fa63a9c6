// Every registered solver at a test's small budget, for the tests that must cover every
// solver: iterating registered_solvers() covers a new one without an edit.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "mapinverse/solvers/registry.hpp"

namespace mapinverse::testing {

/// make_solver() of every registered solver with MAP-GA's time_steps x iterations,
/// `steps` for the reverse diffusions (MAP-GA-PGDM's second stage too) and 2 ODE steps
/// per DAPS level; the preset at its fixed budget. `with_noisy_only` false leaves out
/// MAP-GA-PGDM and its (D) form, which refuse noiseless problems.
inline std::vector<std::shared_ptr<const Solver>> every_registered_solver(
    const PriorModels& models, int64_t time_steps, int64_t iterations, int64_t steps,
    bool with_noisy_only = true) {
  SolverSettings settings;
  settings.time_steps = time_steps;
  settings.iterations = iterations;
  settings.steps = steps;
  settings.ode_steps = 2;
  std::vector<std::shared_ptr<const Solver>> solvers;
  for (const auto& entry : registered_solvers()) {
    const bool noisy_only = entry.name.rfind("map-ga-pgdm", 0) == 0;
    if (noisy_only && !with_noisy_only) continue;
    solvers.push_back(make_solver(entry.name, models, settings));
  }
  return solvers;
}

}  // namespace mapinverse::testing
