#include "mapinverse/solvers/registry.hpp"

#include <algorithm>
#include <stdexcept>
#include <type_traits>

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

// The schedule of a reverse-diffusion solver: `default_steps` steps unless the settings
// give a number, and the settings' t_max where they have one.
template <class Options>
Options reverse_diffusion(const SolverSettings& settings, int64_t default_steps) {
  Options options;
  options.schedule.num_steps = settings.steps.value_or(default_steps);
  if (settings.t_max) options.schedule.t_max = *settings.t_max;
  return options;
}

Dps::Options dps(const SolverSettings& settings) {
  auto options = reverse_diffusion<Dps::Options>(settings, 1000);
  options.zeta = settings.zeta;
  return options;
}

Daps::Options daps(const SolverSettings& settings) {
  auto options = reverse_diffusion<Daps::Options>(settings, Daps::Options{}.schedule.num_steps);
  options.ode_steps = settings.ode_steps;
  return options;
}

// The preset chosen by the MAP-GA study (docs/map-ga-study.md): PGDM from T, then, from
// t = kTunedStartTime on its estimate, MAP-GA(D,NP) (noiseless problems) or MAP-GA-PGDM(D)
// (noisy ones). At most 100 network calls per image, twice PGDM's at 25 steps.
constexpr int64_t kTunedPgdmSteps = 25;
constexpr double kTunedStartTime = 5.0;
constexpr int64_t kTunedTimeSteps = 4;
constexpr int64_t kTunedIterations = 5;
constexpr int64_t kTunedNoisyIterations = 4;
constexpr int64_t kTunedFinalPgdmSteps = 5;
constexpr const char* kTunedDescription =
    "tuned preset (<= 100 network calls per image): PGDM (25 steps), then MAP-GA(D,NP) "
    "from t = 5 (4 x 5) on its estimate, or MAP-GA-PGDM(D) (4 x 4, then 5 PGDM steps) when "
    "sigma_y > 0";

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
       [](const SolverSettings& s) -> SolverOptions {
         return reverse_diffusion<Pgdm::Options>(s, 100);
       }},
      {{"dps", "DPS: diffusion posterior sampling (default 1000 steps)"},
       [](const SolverSettings& s) -> SolverOptions { return dps(s); }},
      {{"ddrm", "DDRM: denoising diffusion restoration (default 100 steps; operators with an SVD)"},
       [](const SolverSettings& s) -> SolverOptions {
         return reverse_diffusion<Ddrm::Options>(s, Ddrm::Options{}.schedule.num_steps);
       }},
      {{"diffpir", "DiffPIR: diffusion plug-and-play restoration (default 100 steps)"},
       [](const SolverSettings& s) -> SolverOptions {
         auto options = reverse_diffusion<DiffPir::Options>(s, 100);
         options.zeta = s.zeta;  // its noise share; the same default, 1
         return options;
       }},
      {{"daps", "DAPS: decoupled annealing posterior sampling (default 50 levels x 2 ODE steps)"},
       [](const SolverSettings& s) -> SolverOptions { return daps(s); }},
      {{"map-ga-tuned", kTunedDescription},
       [](const SolverSettings&) -> SolverOptions { return tuned_map_ga_options(); }},
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

WarmStartedMapGa::Options tuned_map_ga_options() {
  WarmStartedMapGa::Options options;
  options.warm_start.schedule.num_steps = kTunedPgdmSteps;
  auto& map_ga = options.map_ga;
  map_ga.num_time_steps = kTunedTimeSteps;
  map_ga.num_iter = kTunedIterations;
  map_ga.t_max = kTunedStartTime;
  map_ga.consistency_source = ConsistencySource::kDenoiser;
  map_ga.use_prior = false;
  auto& map_ga_pgdm = options.map_ga_pgdm;
  static_cast<MapGaSchedule&>(map_ga_pgdm) = map_ga;
  map_ga_pgdm.num_iter = kTunedNoisyIterations;
  map_ga_pgdm.pgdm_steps = kTunedFinalPgdmSteps;
  return options;
}

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

// The class of a SolverClassList whose options struct is `Options`. An alternative of
// SolverOptions that none of them takes leaves `type` undefined: a compile error.
template <class Class>
struct Found {
  using type = Class;
};
template <class Options, class... Solvers>
struct SolverTaking {};
template <class Options, class First, class... Rest>
struct SolverTaking<Options, First, Rest...>
    : std::conditional_t<std::is_same_v<Options, typename First::Options>, Found<First>,
                         SolverTaking<Options, Rest...>> {};
template <class Options, class List>
struct ClassTaking;
template <class Options, class... Classes>
struct ClassTaking<Options, SolverClassList<Classes...>> : SolverTaking<Options, Classes...> {};

}  // namespace

std::shared_ptr<const Solver> make_solver(const PriorModels& models, const SolverOptions& options) {
  return std::visit(
      [&](const auto& typed) -> std::shared_ptr<const Solver> {
        using Options = std::decay_t<decltype(typed)>;
        using Class = typename ClassTaking<Options, SolverClasses>::type;
        return std::make_shared<Class>(models, typed);
      },
      options);
}

std::shared_ptr<const Solver> make_solver(std::string_view name, const PriorModels& models,
                                          const SolverSettings& settings) {
  return make_solver(models, solver_options(name, settings));
}

}  // namespace mapinverse
