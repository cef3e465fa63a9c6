#pragma once

// The solvers by name: the one place that says what "map-ga-d-np" or "pgdm" means.
// A name picks a solver class and the options that tell its variants apart; typed
// settings carry the budgets (time steps, iterations, steps, zeta, ...):
//
//   name --solver_options(name, settings)--> SolverOptions --make_solver(models, .)--> Solver
//
// make_solver(name, models, settings) does both steps; registered_solvers() lists the
// names with a one-line description each, for help texts and argument checks.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "mapinverse/optimizers/optimizer.hpp"
#include "mapinverse/solvers/daps.hpp"
#include "mapinverse/solvers/ddrm.hpp"
#include "mapinverse/solvers/diffpir.hpp"
#include "mapinverse/solvers/dps.hpp"
#include "mapinverse/solvers/map_ga.hpp"
#include "mapinverse/solvers/map_ga_pgdm.hpp"
#include "mapinverse/solvers/pgdm.hpp"
#include "mapinverse/solvers/solver.hpp"
#include "mapinverse/solvers/warm_start.hpp"

namespace mapinverse {

/// The budgets and settings a name's options are made from. Each solver reads the
/// fields that apply to it and ignores the others; the defaults are the paper's.
struct SolverSettings {
  /// MAP-GA and MAP-GA-PGDM's MAP-GA stage: outer time steps x ascent iterations per
  /// time step (paper §5: 20 x 50).
  int64_t time_steps = 20;
  int64_t iterations = 50;
  /// Reverse steps of PGDM (unset: 100), DPS (unset: 1000), DDRM (unset: 100) and
  /// DiffPIR (unset: 100); DAPS's annealing levels (unset: 50); the PGDM stage of
  /// MAP-GA-PGDM (unset: 20, the paper's m).
  std::optional<int64_t> steps;
  /// MAP-GA's step size lambda. Unset: sigma_y^2 + sigma_eps^2 (paper §5).
  std::optional<double> learning_rate;
  /// MAP-GA's ascent rule. Null: GradientAscent (paper eq. 12).
  std::shared_ptr<const Optimizer> optimizer;
  /// DPS's step scale zeta' and DiffPIR's noise share zeta (in [0, 1]); both default 1.
  double zeta = 1.0;
  /// DAPS's probability-flow ODE steps per annealing level (network calls per level).
  int64_t ode_steps = Daps::Options{}.ode_steps;
  /// The time the reverse process starts at: MAP-GA's tau_n, PGDM's and DPS's
  /// schedule.t_max. Unset: T = kTimeMax. With Problem::start_image, 0.5 gives the
  /// seed's Table 2 oracle start.
  std::optional<double> t_max;
};

/// A list of solver classes, each with a nested Options struct and a constructor
/// Class(PriorModels, Options).
template <class... Classes>
struct SolverClassList {
  /// The options of one of the classes.
  using Options = std::variant<typename Classes::Options...>;
};

/// The solver classes behind the registry: the one list that SolverOptions and
/// make_solver(models, options)'s dispatch are both derived from. A new solver class is
/// added here (docs/design.md, "Adding a solver").
using SolverClasses =
    SolverClassList<MapGa, MapGaPgdm, Pgdm, Dps, Ddrm, DiffPir, Daps, WarmStartedMapGa>;

/// The options of one of the solver classes.
using SolverOptions = SolverClasses::Options;

/// The "map-ga-tuned" preset: the configuration the MAP-GA study chose on Fashion-MNIST
/// test images 9000-9199 (docs/map-ga-study.md). Its budgets are fixed: it reads none of
/// SolverSettings' fields, and it makes fewer network calls per image than the paper's
/// MAP-GA default (20 x 50).
WarmStartedMapGa::Options tuned_map_ga_options();

/// A registered name and what it stands for.
struct RegisteredSolver {
  /// The name, e.g. "map-ga-d-np".
  std::string name;
  /// One line, e.g. "MAP-GA(D,NP): the denoiser as consistency function, no prior term".
  std::string description;
};

/// Every registered solver in a fixed order: map-ga, map-ga-np, map-ga-d, map-ga-d-np,
/// map-ga-pgdm, map-ga-pgdm-d, pgdm, dps, ddrm, diffpir, daps.
const std::vector<RegisteredSolver>& registered_solvers();

/// The names of registered_solvers(), in the same order.
std::vector<std::string> solver_names();

/// Whether `name` is registered.
bool is_solver_name(std::string_view name);

/// The options `name` stands for, filled from `settings`. Throws std::invalid_argument
/// listing the registered names when `name` is not one of them. The options are not
/// validated here: the solver's constructor does that.
SolverOptions solver_options(std::string_view name, const SolverSettings& settings = {});

/// The solver for `options`: MapGa, MapGaPgdm, Pgdm, Dps, Ddrm, DiffPir or Daps.
std::shared_ptr<const Solver> make_solver(const PriorModels& models, const SolverOptions& options);

/// make_solver(models, solver_options(name, settings)).
std::shared_ptr<const Solver> make_solver(std::string_view name, const PriorModels& models,
                                          const SolverSettings& settings = {});

}  // namespace mapinverse
