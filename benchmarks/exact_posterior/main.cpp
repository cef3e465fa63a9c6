// Every solver against exact posteriors: Gaussian-mixture priors, for which the posterior
// of a linear-Gaussian measurement is again a mixture (docs/design.md §3), so sample quality,
// posterior means and MAP estimates can be compared with exact answers.
//
//   benchmark_exact_posterior [--quick] [--json FILE] [--threads N]

#include <chrono>
#include <cmath>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <torch/torch.h>
#include <CLI/CLI.hpp>

#include "../common/random_mixture.hpp"
#include "mapinverse/core/threads.hpp"
#include "mapinverse/io/atomic_write.hpp"
#include "mapinverse/metrics/distribution_distances.hpp"
#include "mapinverse/models/gaussian_mixture_posterior.hpp"
#include "mapinverse/models/gaussian_mixture_prior.hpp"
#include "mapinverse/models/ode_consistency.hpp"
#include "mapinverse/operators/dense_matrix.hpp"
#include "mapinverse/operators/inpainting.hpp"
#include "mapinverse/solvers/registry.hpp"

using namespace mapinverse;

namespace {

struct Settings {
  bool quick = false;
  std::string json_path;
  int threads = 2;
  int64_t samples = 1000;
  int64_t map_batch = 32;
};

struct Suite {
  int64_t dimension;
  bool inpainting;
  double sigma_y;
};

struct Row {
  std::string problem;
  std::string solver;
  std::optional<double> sliced_wasserstein;
  double floor = 0.0;
  double prior_distance = 0.0;
  std::optional<double> mean_error;
  std::optional<double> map_gap_median;
  std::optional<double> map_gap_best;
  double residual = 0.0;
  double nfe_per_sample = 0.0;
  double seconds = 0.0;
  /// Set when the solver raised NumericalError; the metrics are then empty.
  std::string failure;
};

std::shared_ptr<const LinearOperator> make_operator(const Suite& suite, uint64_t seed) {
  const int64_t n = suite.dimension;
  auto generator = make_generator(seed);
  if (suite.inpainting) {
    auto mask = torch::zeros({1, 1, 1, n});
    mask.narrow(3, 0, n / 2).fill_(1.0);  // observe the first half of the coordinates
    return std::make_shared<Inpainting>(mask);
  }
  const auto options = torch::TensorOptions().dtype(torch::kFloat64);
  const auto matrix = randn({n / 2, n}, options, generator) / std::sqrt(static_cast<double>(n));
  DenseMatrix::Options dense;
  dense.input_shape = {1, 1, n};
  return std::make_shared<DenseMatrix>(matrix, dense);
}

torch::Tensor flat(const torch::Tensor& x) { return x.reshape({x.size(0), -1}); }

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::string format_optional(const std::optional<double>& value, const char* format = "{:.4f}") {
  return value ? fmt::format(fmt::runtime(format), *value) : "—";
}

// A solver that diverges is a result, not a crash of the benchmark: it is reported.
std::optional<Summary> solve_or_record(const Solver& solver, const Problem& problem, Row& row) {
  try {
    return solver.solve(problem);
  } catch (const NumericalError& error) {
    row.failure = error.what();
    return std::nullopt;
  }
}

void run_suite(const Suite& suite, const Settings& settings, std::vector<Row>& rows) {
  const auto prior = benchmarks::random_mixture(suite.dimension, 100 + suite.dimension);
  const auto op = make_operator(suite, 200 + suite.dimension);
  auto generator = make_generator(300);
  const auto truth = prior->sample(1, generator);
  auto y = op->apply(truth);
  if (suite.sigma_y > 0) y = y + suite.sigma_y * randn_like(y, generator);
  const auto exact = posterior(*prior, *op, y, suite.sigma_y);
  const auto reference = flat(exact.sample(settings.samples, generator));
  const double floor =
      sliced_wasserstein(flat(exact.sample(settings.samples, generator)), reference);
  const double prior_distance =
      sliced_wasserstein(flat(prior->sample(settings.samples, generator)), reference);
  const auto exact_mean = exact.mean().reshape({-1});
  const auto best = exact.map();
  const std::string label = fmt::format("n={} {} σy={}", suite.dimension,
                                        suite.inpainting ? "inpaint" : "dense", suite.sigma_y);

  OdeConsistency::Options ode;
  ode.num_steps = settings.quick ? 4 : 8;
  const PriorModels models{prior, std::make_shared<OdeConsistency>(prior, ode)};

  const auto make_problem = [&](int64_t batch) {
    Problem problem;
    auto sizes = y.sizes().vec();
    sizes[0] = batch;
    problem.measurement = y.expand(sizes).contiguous();
    problem.forward_operator = op;
    problem.sigma_y = suite.sigma_y;
    problem.image_shape = {1, 1, suite.dimension};
    problem.seed = 17;
    return problem;
  };
  const auto residual_of = [&](const torch::Tensor& x) {
    return (op->apply(x) - y).reshape({x.size(0), -1}).norm(2, 1).mean().item<double>();
  };

  // The samplers, then the MAP estimators (MAP-GA's variants), from the registry.
  SolverSettings pgdm;
  pgdm.steps = settings.quick ? 50 : 100;
  SolverSettings dps;
  dps.steps = settings.quick ? 200 : 1000;
  dps.zeta = 0.3;
  SolverSettings map_ga;
  map_ga.time_steps = settings.quick ? 10 : 20;
  map_ga.iterations = settings.quick ? 10 : 50;
  std::vector<std::shared_ptr<const Solver>> samplers{make_solver("pgdm", models, pgdm),
                                                      make_solver("dps", models, dps)};
  if (suite.sigma_y > kEpsilon) {
    samplers.push_back(make_solver("map-ga-pgdm", models, map_ga));
    samplers.push_back(make_solver("map-ga-pgdm-d", models, map_ga));
  }
  // One row per solver: `batch` solves of the problem, then `score` adds what is
  // particular to samplers or to MAP estimators.
  const auto add_row = [&](const Solver& solver, int64_t batch,
                           const std::function<void(const Summary&, Row&)>& score) {
    Row row;
    row.problem = label;
    row.solver = solver.name();
    row.floor = floor;
    row.prior_distance = prior_distance;
    const auto start = std::chrono::steady_clock::now();
    const auto summary = solve_or_record(solver, make_problem(batch), row);
    row.seconds = seconds_since(start);
    if (summary) {
      score(*summary, row);
      row.residual = residual_of(summary->estimate);
      row.nfe_per_sample = static_cast<double>(summary->network_evaluations());
    }
    rows.push_back(row);
  };
  for (const auto& solver : samplers) {
    add_row(*solver, settings.samples, [&](const Summary& summary, Row& row) {
      const auto samples = flat(summary.estimate);
      row.sliced_wasserstein = sliced_wasserstein(samples, reference);
      row.mean_error =
          ((samples.mean(0) - exact_mean).norm() / std::sqrt(static_cast<double>(suite.dimension)))
              .item<double>();
    });
  }
  for (const auto* name : {"map-ga", "map-ga-np", "map-ga-d", "map-ga-d-np"}) {
    add_row(*make_solver(name, models, map_ga), settings.map_batch,
            [&](const Summary& summary, Row& row) {
              const auto gap = best.log_density - exact.log_density(summary.estimate);
              row.map_gap_median = gap.median().item<double>();
              row.map_gap_best = gap.min().item<double>();
            });
  }
}

void print_table(const std::vector<Row>& rows) {
  fmt::print(
      "\n| problem | solver | SW to exact | SW floor | SW prior | mean err | "
      "log-post gap median | gap best | residual | NFE | s |\n"
      "|---|---|---|---|---|---|---|---|---|---|---|\n");
  for (const auto& row : rows) {
    if (!row.failure.empty()) {
      fmt::print(
          "| {} | {} | diverged (NumericalError) | {:.4f} | {:.4f} | — | — | — | — | — | {:.2f} "
          "|\n",
          row.problem, row.solver, row.floor, row.prior_distance, row.seconds);
      continue;
    }
    fmt::print("| {} | {} | {} | {:.4f} | {:.4f} | {} | {} | {} | {:.4g} | {:.0f} | {:.2f} |\n",
               row.problem, row.solver, format_optional(row.sliced_wasserstein), row.floor,
               row.prior_distance, format_optional(row.mean_error),
               format_optional(row.map_gap_median, "{:.3g}"),
               format_optional(row.map_gap_best, "{:.3g}"), row.residual, row.nfe_per_sample,
               row.seconds);
  }
}

std::string json_number(const std::optional<double>& value) {
  return value ? fmt::format("{:.6g}", *value) : "null";
}

void write_json(const std::vector<Row>& rows, const Settings& settings) {
  std::string text = fmt::format("{{\n  \"threads\": {},\n  \"quick\": {},\n  \"rows\": [\n",
                                 settings.threads, settings.quick);
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& r = rows[i];
    text += fmt::format(
        "    {{\"problem\": \"{}\", \"solver\": \"{}\", \"sliced_wasserstein\": {}, "
        "\"floor\": {:.6g}, \"prior_distance\": {:.6g}, \"mean_error\": {}, "
        "\"map_gap_median\": {}, \"map_gap_best\": {}, \"residual\": {:.6g}, "
        "\"nfe_per_sample\": {:.0f}, \"seconds\": {:.4f}, \"diverged\": {}}}{}\n",
        r.problem, r.solver, json_number(r.sliced_wasserstein), r.floor, r.prior_distance,
        json_number(r.mean_error), json_number(r.map_gap_median), json_number(r.map_gap_best),
        r.residual, r.nfe_per_sample, r.seconds, !r.failure.empty(),
        i + 1 < rows.size() ? "," : "");
  }
  text += "  ]\n}\n";
  write_file_atomically(settings.json_path, text);
}

}  // namespace

int main(int argc, char** argv) {
  Settings settings;
  CLI::App app{"Every solver against exact posteriors of Gaussian-mixture priors"};
  app.add_flag("--quick", settings.quick, "smaller budgets, to check the program");
  app.add_option("--json", settings.json_path, "write the rows as JSON");
  app.add_option("--threads", settings.threads, "LibTorch intra-op threads")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  try {
    mapinverse::set_thread_count(settings.threads);
    fmt::print("exact-posterior benchmark: {} threads, {} samples per sampler, {} MAP starts{}\n",
               settings.threads, settings.samples, settings.map_batch,
               settings.quick ? " (quick)" : "");
    std::vector<Row> rows;
    for (int64_t n : {4, 16}) {
      for (bool inpainting : {true, false}) {
        for (double sigma_y : {0.0, 0.05, 0.2, 0.5}) {
          const auto start = std::chrono::steady_clock::now();
          run_suite({n, inpainting, sigma_y}, settings, rows);
          fmt::print(stderr, "n={} {} sigma_y={}: {:.1f} s\n", n, inpainting ? "inpaint" : "dense",
                     sigma_y, seconds_since(start));
        }
      }
    }
    print_table(rows);
    if (!settings.json_path.empty()) write_json(rows, settings);
    return 0;
  } catch (const std::exception& error) {
    fmt::print(stderr, "benchmark_exact_posterior: {}\n", error.what());
    return 1;
  }
}
