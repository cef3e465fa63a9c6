#include "mapinverse/solvers/registry.hpp"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace mapinverse {
namespace {

// The schedule, budget and ascent rule that MapGa and MapGaPgdm share.
void fill_schedule(const SolverSettings& settings, ConsistencySource source,
                   MapGaSchedule& schedule) {
  schedule.num_time_steps = settings.time_steps;
  schedule.num_iter = settings.iterations;
  if (settings.t_max) schedule.t_max = *settings.t_max;
  schedule.consistency_source = source;
  schedule.learning_rate = settings.learning_rate;
  schedule.optimizer = settings.optimizer;
}

MapGa::Options map_ga(const SolverSettings& settings, bool use_prior, ConsistencySource source) {
  MapGa::Options options;
  fill_schedule(settings, source, options);
  options.use_prior = use_prior;
  return options;
}

MapGaPgdm::Options map_ga_pgdm(const SolverSettings& settings, ConsistencySource source) {
  MapGaPgdm::Options options;
  fill_schedule(settings, source, options);
  options.pgdm_steps = settings.steps.value_or(20);
  return options;
}

Pgdm::Options pgdm(const SolverSettings& settings) {
  Pgdm::Options options;
  options.schedule.num_steps = settings.steps.value_or(100);
  if (settings.t_max) options.schedule.t_max = *settings.t_max;
  return options;
}

Dps::Options dps(const SolverSettings& settings) {
  Dps::Options options;
  options.schedule.num_steps = settings.steps.value_or(1000);
  if (settings.t_max) options.schedule.t_max = *settings.t_max;
  options.zeta = settings.zeta;
  return options;
}

Ddrm::Options ddrm(const SolverSettings& settings) {
  Ddrm::Options options;
  options.schedule.num_steps = settings.steps.value_or(20);
  if (settings.t_max) options.schedule.t_max = *settings.t_max;
  return options;
}

DiffPir::Options diffpir(const SolverSettings& settings) {
  DiffPir::Options options;
  options.schedule.num_steps = settings.steps.value_or(100);
  if (settings.t_max) options.schedule.t_max = *settings.t_max;
  return options;
}

Daps::Options daps(const SolverSettings& settings) {
  Daps::Options options;
  options.schedule.num_steps = settings.steps.value_or(200);
  if (settings.t_max) options.schedule.t_max = *settings.t_max;
  options.ode_steps = settings.ode_steps;
  return options;
}

constexpr auto kModel = ConsistencySource::kConsistencyModel;
constexpr auto kDenoiser = ConsistencySource::kDenoiser;

struct Registration {
  RegisteredSolver solver;
  SolverOptions (*options)(const SolverSettings&);
};

const std::vector<Registration>& registrations() {
  static const std::vector<Registration> table{
      {{"map-ga", "MAP-GA (Alg. 1-2): ascent through the consistency model, with the prior term"},
       [](const SolverSettings& s) -> SolverOptions { return map_ga(s, true, kModel); }},
      {{"map-ga-np", "MAP-GA(NP): the consistency model, no prior term"},
       [](const SolverSettings& s) -> SolverOptions { return map_ga(s, false, kModel); }},
      {{"map-ga-d", "MAP-GA(D): the denoiser as consistency function, with the prior term"},
       [](const SolverSettings& s) -> SolverOptions { return map_ga(s, true, kDenoiser); }},
      {{"map-ga-d-np", "MAP-GA(D,NP): the denoiser as consistency function, no prior term"},
       [](const SolverSettings& s) -> SolverOptions { return map_ga(s, false, kDenoiser); }},
      {{"map-ga-pgdm",
        "MAP-GA-PGDM (Alg. 3, noisy problems): MAP-GA(NP) down to sigma_y, then PGDM"},
       [](const SolverSettings& s) -> SolverOptions { return map_ga_pgdm(s, kModel); }},
      {{"map-ga-pgdm-d", "MAP-GA-PGDM(D): MAP-GA-PGDM with the denoiser as consistency function"},
       [](const SolverSettings& s) -> SolverOptions { return map_ga_pgdm(s, kDenoiser); }},
      {{"pgdm", "PGDM: pseudoinverse-guided diffusion (default 100 steps)"},
       [](const SolverSettings& s) -> SolverOptions { return pgdm(s); }},
      {{"dps", "DPS: diffusion posterior sampling (default 1000 steps)"},
       [](const SolverSettings& s) -> SolverOptions { return dps(s); }},
      {{"ddrm", "DDRM: denoising diffusion restoration (default 20 steps; inpainting and pooling)"},
       [](const SolverSettings& s) -> SolverOptions { return ddrm(s); }},
      {{"diffpir", "DiffPIR: diffusion plug-and-play restoration (default 100 steps)"},
       [](const SolverSettings& s) -> SolverOptions { return diffpir(s); }},
      {{"daps", "DAPS: decoupled annealing posterior sampling (default 200 levels x 5 ODE steps)"},
       [](const SolverSettings& s) -> SolverOptions { return daps(s); }},
  };
  return table;
}

const Registration* find(std::string_view name) {
  const auto& table = registrations();
  const auto found = std::find_if(table.begin(), table.end(), [&](const Registration& entry) {
    return entry.solver.name == name;
  });
  return found == table.end() ? nullptr : &*found;
}

}  // namespace

const std::vector<RegisteredSolver>& registered_solvers() {
  static const std::vector<RegisteredSolver> solvers = [] {
    std::vector<RegisteredSolver> list;
    for (const auto& entry : registrations()) list.push_back(entry.solver);
    return list;
  }();
  return solvers;
}

std::vector<std::string> solver_names() {
  std::vector<std::string> names;
  for (const auto& solver : registered_solvers()) names.push_back(solver.name);
  return names;
}

bool is_solver_name(std::string_view name) { return find(name) != nullptr; }

SolverOptions solver_options(std::string_view name, const SolverSettings& settings) {
  const auto* entry = find(name);
  require(entry != nullptr, "solver_options(): unknown solver '{}'; expected one of {}", name,
          fmt::join(solver_names(), ", "));
  return entry->options(settings);
}

namespace {

template <class... Makers>
struct Overloaded : Makers... {
  using Makers::operator()...;
};
template <class... Makers>
Overloaded(Makers...) -> Overloaded<Makers...>;

}  // namespace

std::shared_ptr<const Solver> make_solver(const PriorModels& models, const SolverOptions& options) {
  return std::visit(Overloaded{
                        [&](const MapGa::Options& o) -> std::shared_ptr<const Solver> {
                          return std::make_shared<MapGa>(models, o);
                        },
                        [&](const MapGaPgdm::Options& o) -> std::shared_ptr<const Solver> {
                          return std::make_shared<MapGaPgdm>(models, o);
                        },
                        [&](const Pgdm::Options& o) -> std::shared_ptr<const Solver> {
                          return std::make_shared<Pgdm>(models, o);
                        },
                        [&](const Dps::Options& o) -> std::shared_ptr<const Solver> {
                          return std::make_shared<Dps>(models, o);
                        },
                        [&](const Ddrm::Options& o) -> std::shared_ptr<const Solver> {
                          return std::make_shared<Ddrm>(models, o);
                        },
                        [&](const DiffPir::Options& o) -> std::shared_ptr<const Solver> {
                          return std::make_shared<DiffPir>(models, o);
                        },
                        [&](const Daps::Options& o) -> std::shared_ptr<const Solver> {
                          return std::make_shared<Daps>(models, o);
                        },
                    },
                    options);
}

std::shared_ptr<const Solver> make_solver(std::string_view name, const PriorModels& models,
                                          const SolverSettings& settings) {
  return make_solver(models, solver_options(name, settings));
}

}  // namespace mapinverse
