#pragma once

// One configuration of the MAP-GA study: a registered solver name with its budget and
// the knobs the study turns (optimiser, step size and its schedule, consistency source,
// start, restarts), read from a JSON object. See docs/map-ga-study.md.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "mapinverse/mapinverse.hpp"

namespace study {

struct Config {
  std::string name;
  /// A registered solver name (mapinverse::solver_names()).
  std::string solver;
  mapinverse::SolverSettings settings;
  /// MAP-GA's step size as a multiple of the paper's sigma_y^2 + sigma_eps^2 (ignored
  /// when settings.learning_rate is set).
  std::optional<double> learning_rate_scale;
  double learning_rate_decay = 1.0;
  /// "model" (the trained consistency model) or "ode:K" (K probability-flow ODE steps
  /// over the denoiser) for the MAP-GA solvers whose source is the consistency model.
  std::string consistency = "model";
  /// Start at x0 + sigma(t_max) eta with the true image x0 (the seed's Table 2).
  bool oracle_start = false;
  /// The mean of this many solves with different seeds.
  int64_t restarts = 1;
  /// A first stage whose estimate starts this one (mapinverse::WarmStart).
  std::shared_ptr<const Config> warm_start;
};

/// Reads one configuration; throws std::invalid_argument naming the unknown or bad key.
Config parse_config(const nlohmann::json& object);

/// The solver of `config` for a problem with noise level sigma_y.
std::shared_ptr<const mapinverse::Solver> make_study_solver(const Config& config,
                                                            const mapinverse::PriorModels& models,
                                                            double sigma_y);

}  // namespace study
