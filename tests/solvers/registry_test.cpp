#include <memory>
#include <string>
#include <tuple>
#include <type_traits>
#include <variant>
#include <vector>

// torch before Catch: glog, pulled in by torch, defines its own CHECK.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include "mapinverse/optimizers/adam.hpp"
#include "mapinverse/solvers/registry.hpp"
#include "support/gaussian_prior.hpp"

using namespace mapinverse;

TEST_CASE("the registry lists every solver once, in its fixed order, with a description") {
  const std::vector<std::string> expected{
      "map-ga", "map-ga-np", "map-ga-d", "map-ga-d-np", "map-ga-pgdm", "map-ga-pgdm-d",
      "pgdm",   "dps",       "ddrm",     "diffpir",     "daps",        "map-ga-tuned"};
  CHECK(solver_names() == expected);
  for (const auto& solver : registered_solvers()) {
    CHECK(is_solver_name(solver.name));
    CHECK_FALSE(solver.description.empty());
  }
  CHECK_FALSE(is_solver_name("MAP-GA"));
  CHECK_FALSE(is_solver_name(""));
}

TEST_CASE("a name stands for its solver class and the options that tell its variants apart") {
  SolverSettings settings;
  settings.time_steps = 7;
  settings.iterations = 3;
  settings.learning_rate = 0.25;
  settings.t_max = 0.5;
  settings.optimizer = std::make_shared<Adam>();

  const auto d_np = std::get<MapGa::Options>(solver_options("map-ga-d-np", settings));
  CHECK_FALSE(d_np.use_prior);
  CHECK(d_np.consistency_source == ConsistencySource::kDenoiser);
  CHECK(d_np.num_time_steps == 7);
  CHECK(d_np.num_iter == 3);
  CHECK(d_np.learning_rate == 0.25);
  CHECK(d_np.t_max == 0.5);
  CHECK(d_np.optimizer == settings.optimizer);

  const auto map_ga = std::get<MapGa::Options>(solver_options("map-ga", settings));
  CHECK(map_ga.use_prior);
  CHECK(map_ga.consistency_source == ConsistencySource::kConsistencyModel);

  const auto staged = std::get<MapGaPgdm::Options>(solver_options("map-ga-pgdm-d", settings));
  CHECK(staged.consistency_source == ConsistencySource::kDenoiser);
  CHECK(staged.num_time_steps == 7);
  CHECK(staged.pgdm_steps == 20);  // the paper's m
  const auto stage = staged.map_ga_options(0.1);
  CHECK(stage.stop_sigma == 0.1);
  CHECK_FALSE(stage.use_prior);
  CHECK(stage.num_iter == 3);
  CHECK(stage.optimizer == settings.optimizer);

  CHECK(std::get<Pgdm::Options>(solver_options("pgdm")).schedule.num_steps == 100);
  const auto dps = std::get<Dps::Options>(solver_options("dps"));
  CHECK(dps.schedule.num_steps == 1000);
  settings.steps = 12;
  settings.zeta = 0.3;
  CHECK(std::get<Pgdm::Options>(solver_options("pgdm", settings)).schedule.num_steps == 12);
  CHECK(std::get<Dps::Options>(solver_options("dps", settings)).zeta == 0.3);
  CHECK(std::get<DiffPir::Options>(solver_options("diffpir", settings)).zeta == 0.3);
  CHECK(std::get<DiffPir::Options>(solver_options("diffpir")).zeta == DiffPir::Options{}.zeta);
}

TEST_CASE("an unknown name is refused with the list of registered names") {
  CHECK_THROWS_AS(solver_options("mapga"), std::invalid_argument);
  CHECK_THROWS_WITH(solver_options("mapga"), Catch::Contains("mapga") &&
                                                 Catch::Contains("map-ga-pgdm-d") &&
                                                 Catch::Contains("dps"));
}

TEST_CASE("make_solver builds the named solver and validates its options") {
  const auto mean = torch::zeros({1, 1, 4, 4}, torch::kFloat64);
  const PriorModels models{std::make_shared<testing::IsotropicGaussianDenoiser>(mean, 0.09),
                           std::make_shared<testing::IsotropicGaussianConsistency>(mean, 0.09)};
  CHECK(make_solver("map-ga-np", models)->name().find("MAP-GA") != std::string::npos);
  CHECK(make_solver("pgdm", models)->name().find("PGDM") != std::string::npos);
  CHECK(make_solver("dps", models)->name().find("DPS") != std::string::npos);
  SolverSettings zero_steps;
  zero_steps.time_steps = 0;
  CHECK_THROWS_WITH(make_solver("map-ga-pgdm", models, zero_steps),
                    Catch::Contains("MapGaPgdm::Options::num_time_steps = 0"));
  CHECK_THROWS_WITH(make_solver("map-ga", models, zero_steps),
                    Catch::Contains("MapGa::Options::num_time_steps = 0"));
}

namespace {

// The schedule that `name` takes from settings with steps = 9 and t_max = 2.5.
template <class Options>
void check_schedule_from_settings(const char* name, const SolverSettings& settings) {
  CAPTURE(name);
  const auto options = std::get<Options>(solver_options(name, settings));
  CHECK(options.schedule.num_steps == 9);
  CHECK(options.schedule.t_max == 2.5);
}

}  // namespace

TEST_CASE("the reverse-diffusion solvers take their step counts, t_max and own settings") {
  CHECK(std::get<Ddrm::Options>(solver_options("ddrm")).schedule.num_steps == 100);
  CHECK(std::get<DiffPir::Options>(solver_options("diffpir")).schedule.num_steps == 100);
  CHECK(std::get<Daps::Options>(solver_options("daps")).schedule.num_steps == 50);
  CHECK(std::get<Daps::Options>(solver_options("daps")).schedule.t_max == kTimeMax);
  SolverSettings settings;
  settings.steps = 9;
  settings.t_max = 2.5;
  settings.ode_steps = 3;
  check_schedule_from_settings<Pgdm::Options>("pgdm", settings);
  check_schedule_from_settings<Dps::Options>("dps", settings);
  check_schedule_from_settings<Ddrm::Options>("ddrm", settings);
  check_schedule_from_settings<DiffPir::Options>("diffpir", settings);
  check_schedule_from_settings<Daps::Options>("daps", settings);
  CHECK(std::get<Daps::Options>(solver_options("daps", settings)).ode_steps == 3);
}

TEST_CASE("each reverse-diffusion solver keeps its name, options and denoiser check") {
  static_assert(std::is_same_v<Ddrm::Options, DdrmOptions>);
  const auto mean = torch::zeros({1, 1, 4, 4}, torch::kFloat64);
  const PriorModels models{std::make_shared<testing::IsotropicGaussianDenoiser>(mean, 0.09),
                           nullptr};
  const std::vector<std::vector<std::string>> solvers{{"pgdm", "PGDM", "Pgdm"},
                                                      {"dps", "DPS", "Dps"},
                                                      {"ddrm", "DDRM", "Ddrm"},
                                                      {"diffpir", "DiffPIR", "DiffPir"},
                                                      {"daps", "DAPS", "Daps"}};
  SolverSettings settings;
  settings.steps = 7;
  for (const auto& solver : solvers) {
    const auto& [name, solver_name, class_name] = std::tie(solver[0], solver[1], solver[2]);
    CAPTURE(name);
    CHECK(make_solver(name, models, settings)->name() == solver_name);
    CHECK_THROWS_WITH(make_solver(name, PriorModels{}, settings),
                      class_name + ": needs PriorModels::denoiser");
    // The options are checked before the models.
    settings.steps = 0;
    CHECK_THROWS_WITH(make_solver(name, PriorModels{}, settings),
                      Catch::Contains(class_name + "::Options::schedule.num_steps = 0"));
    settings.steps = 7;
  }
  const Ddrm ddrm(models, std::get<Ddrm::Options>(solver_options("ddrm", settings)));
  CHECK(ddrm.options().schedule.num_steps == 7);
  CHECK(ddrm.options().eta == 0.85);
  const auto daps = std::dynamic_pointer_cast<const Daps>(make_solver("daps", models, settings));
  REQUIRE(daps != nullptr);
  CHECK(daps->options().schedule.num_steps == 7);
}
