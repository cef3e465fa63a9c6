#include <cmath>
#include <memory>
#include <vector>

// torch before Catch: glog, pulled in by torch, defines its own CHECK.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include "mapinverse/operators/inpainting.hpp"
#include "mapinverse/operators/masks.hpp"
#include "mapinverse/optimizers/optimizer.hpp"
#include "mapinverse/solvers/map_ga.hpp"
#include "mapinverse/solvers/pgdm.hpp"
#include "mapinverse/solvers/registry.hpp"
#include "mapinverse/solvers/warm_start.hpp"
#include "support/gaussian_prior.hpp"

using namespace mapinverse;

namespace {

// A stand-in stage: returns `offset` + (the problem's start image, or zeros), counts one
// forward per solve, and remembers the seeds and start image it was given.
class RecordingStage final : public Solver {
 public:
  explicit RecordingStage(double offset) : offset_(offset) {}

  Summary solve(const Problem& problem, const std::vector<IterationCallback>&) const override {
    seen_seed = problem.seed;
    seen_sample_seeds = problem.sample_seeds;
    seen_start = problem.start_image;
    Summary summary;
    summary.solver_name = name();
    const auto zeros = torch::zeros(problem.batch_shape(), torch::kFloat64);
    summary.estimate = (problem.start_image.defined() ? problem.start_image : zeros) + offset_;
    summary.network_forwards = 1;
    IterationSummary step;
    step.step = 1;
    step.total_steps = 1;
    step.network_forwards = 1;
    summary.history.push_back(step);
    return summary;
  }
  std::string name() const override { return "stage"; }

  mutable uint64_t seen_seed = 0;
  mutable std::vector<uint64_t> seen_sample_seeds;
  mutable torch::Tensor seen_start;

 private:
  double offset_;
};

Problem warm_start_problem() {
  Problem problem;
  const auto mask = paper_mask(PaperMask::kHalf, 4, 4).to(torch::kFloat64);
  problem.forward_operator = std::make_shared<Inpainting>(mask);
  problem.measurement = torch::zeros({2, 1, 4, 4}, torch::kFloat64);
  problem.image_shape = {1, 4, 4};
  problem.seed = 7;
  problem.sample_seeds = {10, 11};
  return problem;
}

// The exact models of the Gaussian prior N(mean_value, 0.09 I) on 4 x 4 images.
PriorModels warm_start_models(double mean_value) {
  const auto mean = torch::full({1, 1, 4, 4}, mean_value, torch::kFloat64);
  return {std::make_shared<testing::IsotropicGaussianDenoiser>(mean, 0.09),
          std::make_shared<testing::IsotropicGaussianConsistency>(mean, 0.09)};
}

// Records the step size of every ascent step.
class RecordingAscent final : public Optimizer {
 public:
  class State final : public OptimizerState {
   public:
    explicit State(std::vector<double>& rates) : rates_(rates) {}
    at::Tensor step(const at::Tensor& z, const at::Tensor&, double learning_rate) override {
      rates_.push_back(learning_rate);
      return z;
    }

   private:
    std::vector<double>& rates_;
  };
  std::unique_ptr<OptimizerState> start() const override { return std::make_unique<State>(rates); }
  std::string name() const override { return "recording"; }
  mutable std::vector<double> rates;
};

}  // namespace

TEST_CASE("WarmStart starts the second solver from the first one's estimate") {
  const auto first = std::make_shared<RecordingStage>(0.5);
  const auto second = std::make_shared<RecordingStage>(0.25);
  const WarmStart solver(first, second);
  const auto problem = warm_start_problem();
  const auto summary = solver.solve(problem);

  CHECK(solver.name() == "stage -> stage");
  CHECK(summary.solver_name == "stage -> stage");
  CHECK(!first->seen_start.defined());
  REQUIRE(second->seen_start.defined());
  CHECK(torch::equal(second->seen_start, torch::full({2, 1, 4, 4}, 0.5, torch::kFloat64)));
  CHECK(torch::equal(summary.estimate, torch::full({2, 1, 4, 4}, 0.75, torch::kFloat64)));
  CHECK(summary.network_forwards == 2);
  REQUIRE(summary.history.size() == 2);
  CHECK(summary.history[1].step == 2);
  CHECK(summary.history[1].total_steps == 2);
  CHECK(summary.history[1].network_forwards == 2);  // cumulative over both stages

  // The second stage's noise comes from other seeds than the first stage's.
  CHECK(first->seen_seed == 7);
  CHECK(second->seen_seed != first->seen_seed);
  REQUIRE(second->seen_sample_seeds.size() == 2);
  CHECK(second->seen_sample_seeds[0] != 10);
  CHECK(second->seen_sample_seeds[1] - second->seen_sample_seeds[0] == 1);
}

TEST_CASE("WarmStart rejects a missing stage") {
  const auto stage = std::make_shared<RecordingStage>(0.0);
  CHECK_THROWS_AS(WarmStart(nullptr, stage), std::invalid_argument);
  CHECK_THROWS_AS(WarmStart(stage, nullptr), std::invalid_argument);
}

TEST_CASE("PGDM then MAP-GA from a small start time is reproducible and counts both stages") {
  const auto models = warm_start_models(0.1);
  Pgdm::Options pgdm;
  pgdm.schedule.num_steps = 5;
  MapGa::Options map_ga;
  map_ga.num_time_steps = 3;
  map_ga.num_iter = 2;
  map_ga.t_max = 0.5;
  const WarmStart solver(std::make_shared<Pgdm>(models, pgdm),
                         std::make_shared<MapGa>(models, map_ga));
  auto problem = warm_start_problem();
  problem.measurement = 0.3 * torch::ones({2, 1, 4, 4}, torch::kFloat64);
  const auto first = solver.solve(problem);
  const auto again = solver.solve(problem);
  CHECK(torch::equal(first.estimate, again.estimate));
  // PGDM: 5 steps x (forward + VJP); MAP-GA: 3 x 2 x (consistency forward + VJP + prior
  // forward) + one forward per time step.
  CHECK(first.network_forwards == 5 + 3 * 2 * 2 + 3);
  CHECK(first.network_vjps == 5 + 3 * 2);
  CHECK(first.solver_name == "PGDM -> MAP-GA");
}

TEST_CASE("MAP-GA's learning_rate_decay shrinks the step size geometrically over time steps") {
  const auto models = warm_start_models(0.0);
  const auto ascent = std::make_shared<RecordingAscent>();
  MapGa::Options options;
  options.num_time_steps = 3;
  options.num_iter = 2;
  options.learning_rate = 0.8;
  options.learning_rate_decay = 0.25;
  options.optimizer = ascent;
  MapGa(models, options).solve(warm_start_problem());
  REQUIRE(ascent->rates.size() == 6);
  const std::vector<double> expected{0.8, 0.8, 0.4, 0.4, 0.2, 0.2};
  for (size_t i = 0; i < expected.size(); ++i) CHECK(ascent->rates[i] == Approx(expected[i]));

  options.learning_rate_decay = 0.0;
  CHECK_THROWS_AS(MapGa(models, options), std::invalid_argument);
}

TEST_CASE("WarmStartedMapGa runs MAP-GA on noiseless problems and MAP-GA-PGDM on noisy ones") {
  const auto models = warm_start_models(0.1);
  WarmStartedMapGa::Options options;
  options.warm_start.schedule.num_steps = 4;
  options.map_ga.num_time_steps = 2;
  options.map_ga.num_iter = 3;
  options.map_ga.t_max = 1.0;
  options.map_ga.consistency_source = ConsistencySource::kDenoiser;
  options.map_ga_pgdm.num_time_steps = 2;
  options.map_ga_pgdm.num_iter = 3;
  options.map_ga_pgdm.t_max = 1.0;
  options.map_ga_pgdm.pgdm_steps = 2;
  options.map_ga_pgdm.consistency_source = ConsistencySource::kDenoiser;
  const WarmStartedMapGa solver(models, options);
  CHECK(solver.name() == "PGDM -> MAP-GA(D) | MAP-GA-PGDM(D)");
  CHECK(solver.name_at_noise(0.0) == "PGDM -> MAP-GA(D)");
  CHECK(solver.name_at_noise(0.1) == "PGDM -> MAP-GA-PGDM(D)");

  auto problem = warm_start_problem();
  problem.measurement = 0.3 * torch::ones({2, 1, 4, 4}, torch::kFloat64);
  const auto noiseless = solver.solve(problem);
  CHECK(noiseless.solver_name == "PGDM -> MAP-GA(D)");
  // PGDM 4 x (forward + VJP); MAP-GA(D) 2 x 3 x (forward + VJP + prior forward) + 2.
  CHECK(noiseless.network_evaluations() == 8 + 2 * 3 * 3 + 2);

  problem.sigma_y = 0.1;
  const auto noisy = solver.solve(problem);
  CHECK(noisy.solver_name == "PGDM -> MAP-GA-PGDM(D)");
  CHECK(noisy.history.size() == 4 + 2 + 2);

  options.map_ga.num_iter = -1;
  CHECK_THROWS_AS(WarmStartedMapGa(models, options), std::invalid_argument);
}

TEST_CASE("The map-ga-tuned preset makes at most 100 network calls per image") {
  const auto models = warm_start_models(0.1);
  const auto solver = make_solver("map-ga-tuned", models);
  CHECK(solver->name() == "PGDM -> MAP-GA(D,NP) | MAP-GA-PGDM(D)");
  auto problem = warm_start_problem();
  problem.measurement = 0.3 * torch::ones({2, 1, 4, 4}, torch::kFloat64);
  // PGDM 25 x 2, then 4 time steps x (5 x (forward + VJP) + 1 forward).
  CHECK(solver->solve(problem).network_evaluations() == 94);
  problem.sigma_y = 0.1;
  // PGDM 25 x 2, then 4 x (4 x 2 + 1), then 5 PGDM steps x 2.
  const auto noisy = solver->solve(problem);
  CHECK(noisy.network_evaluations() == 96);
  CHECK(noisy.solver_name == "PGDM -> MAP-GA-PGDM(D)");
}
