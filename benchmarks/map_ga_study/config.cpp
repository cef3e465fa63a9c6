#include "config.hpp"

#include <set>
#include <stdexcept>
#include <variant>

#include <fmt/format.h>

namespace study {
namespace {

using mapinverse::Adam;
using mapinverse::GradientAscent;
using mapinverse::Momentum;

const std::set<std::string>& known_keys() {
  static const std::set<std::string> keys{"name",
                                          "solver",
                                          "time_steps",
                                          "iterations",
                                          "steps",
                                          "zeta",
                                          "t_max",
                                          "learning_rate",
                                          "learning_rate_scale",
                                          "learning_rate_decay",
                                          "optimizer",
                                          "momentum",
                                          "beta1",
                                          "beta2",
                                          "consistency",
                                          "oracle_start",
                                          "restarts",
                                          "warm_start",
                                          "ode_steps"};
  return keys;
}

std::shared_ptr<const mapinverse::Optimizer> parse_optimizer(const nlohmann::json& object) {
  const auto kind = object.value("optimizer", std::string("gd"));
  if (kind == "gd") return std::make_shared<GradientAscent>();
  if (kind == "momentum" || kind == "nesterov") {
    Momentum::Options options;
    options.momentum = object.value("momentum", options.momentum);
    options.nesterov = kind == "nesterov";
    return std::make_shared<Momentum>(options);
  }
  if (kind == "adam") {
    Adam::Options options;
    options.beta1 = object.value("beta1", options.beta1);
    options.beta2 = object.value("beta2", options.beta2);
    return std::make_shared<Adam>(options);
  }
  throw std::invalid_argument(
      fmt::format("study config: optimizer '{}' is not gd, momentum, nesterov or adam", kind));
}

mapinverse::SolverSettings parse_settings(const nlohmann::json& object) {
  mapinverse::SolverSettings settings;
  settings.time_steps = object.value("time_steps", settings.time_steps);
  settings.iterations = object.value("iterations", settings.iterations);
  if (object.contains("steps")) settings.steps = object.at("steps").get<int64_t>();
  settings.zeta = object.value("zeta", settings.zeta);
  settings.ode_steps = object.value("ode_steps", settings.ode_steps);
  if (object.contains("t_max")) settings.t_max = object.at("t_max").get<double>();
  if (object.contains("learning_rate")) {
    settings.learning_rate = object.at("learning_rate").get<double>();
  }
  settings.optimizer = parse_optimizer(object);
  return settings;
}

// The MAP-GA options of `config` (whose solver is a MAP-GA name), with the study's knobs.
mapinverse::MapGa::Options map_ga_options(const Config& config, double sigma_eps, double sigma_y) {
  auto options = std::get<mapinverse::MapGa::Options>(
      mapinverse::solver_options(config.solver, config.settings));
  options.learning_rate_decay = config.learning_rate_decay;
  if (!options.learning_rate && config.learning_rate_scale) {
    options.learning_rate =
        *config.learning_rate_scale * (sigma_y * sigma_y + sigma_eps * sigma_eps);
  }
  return options;
}

}  // namespace

Config parse_config(const nlohmann::json& object) {
  if (!object.is_object()) {
    throw std::invalid_argument("study config: expected a JSON object, got " + object.dump());
  }
  for (const auto& [key, value] : object.items()) {
    if (known_keys().count(key) == 0) {
      throw std::invalid_argument(
          fmt::format("study config: unknown key '{}' in {}", key, object.dump()));
    }
  }
  Config config;
  config.name = object.value("name", std::string());
  config.solver = object.at("solver").get<std::string>();
  if (!mapinverse::is_solver_name(config.solver)) {
    throw std::invalid_argument(
        fmt::format("study config '{}': unknown solver '{}'", config.name, config.solver));
  }
  config.settings = parse_settings(object);
  if (object.contains("learning_rate_scale")) {
    config.learning_rate_scale = object.at("learning_rate_scale").get<double>();
  }
  config.learning_rate_decay = object.value("learning_rate_decay", 1.0);
  config.consistency = object.value("consistency", std::string("model"));
  config.oracle_start = object.value("oracle_start", false);
  config.restarts = object.value("restarts", int64_t{1});
  if (config.restarts < 1) {
    throw std::invalid_argument(
        fmt::format("study config '{}': restarts must be >= 1", config.name));
  }
  if (object.contains("warm_start")) {
    config.warm_start = std::make_shared<Config>(parse_config(object.at("warm_start")));
  }
  return config;
}

std::shared_ptr<const mapinverse::Solver> make_study_solver(const Config& config,
                                                            const mapinverse::PriorModels& models,
                                                            double sigma_y) {
  auto stage_models = models;
  if (config.consistency.rfind("ode:", 0) == 0) {
    mapinverse::OdeConsistency::Options ode;
    ode.num_steps = std::stoll(config.consistency.substr(4));
    stage_models.consistency = std::make_shared<mapinverse::OdeConsistency>(models.denoiser, ode);
  } else if (config.consistency != "model") {
    throw std::invalid_argument(
        fmt::format("study config '{}': consistency '{}' is not model or ode:K", config.name,
                    config.consistency));
  }
  auto options = mapinverse::solver_options(config.solver, config.settings);
  if (std::holds_alternative<mapinverse::MapGa::Options>(options)) {
    const auto& schedule = *models.denoiser->schedule();
    options = map_ga_options(config, schedule.sigma(mapinverse::kEpsilon), sigma_y);
  }
  auto solver = mapinverse::make_solver(stage_models, options);
  if (!config.warm_start) return solver;
  return std::make_shared<mapinverse::WarmStart>(
      make_study_solver(*config.warm_start, models, sigma_y), std::move(solver));
}

}  // namespace study
