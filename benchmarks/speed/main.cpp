// Speed of the solvers on the shipped Fashion-MNIST networks: seconds per image and
// images per second at several batch sizes, network forwards and VJPs, the overhead
// ratio (solver wall time / the time of the same number of bare network calls on the
// same batch, run right after each timed solve in the same process; median over the
// solves), and peak resident memory.
//
//   benchmark_speed [--batches 1 8 64] [--threads 1] [--repeats 3] [--json FILE]
//                   [--save-estimates DIR]
//   benchmark_speed --network-routes [--batches 1 8 64] [--threads 1] [--calls 200]
//
// Each (solver, batch) runs in a child process of this program (`--single`), so its
// peak RSS is its own.

#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <torch/torch.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "mapinverse/core/threads.hpp"
#include "mapinverse/mapinverse.hpp"

using namespace mapinverse;

namespace {

struct Settings {
  std::vector<int64_t> batches{1, 8, 64};
  std::vector<std::string> solvers{"map-ga", "map-ga-pgdm", "pgdm", "dps"};
  int threads = 1;
  int repeats = 3;
  // MAP-GA's and MAP-GA-PGDM's ascent iterations per time step (10 time steps).
  int64_t map_ga_iterations = 5;
  std::string json_path;
  std::string save_estimates;
  // Internal: run one configuration and print its result as one JSON line.
  std::string single_solver;
  int64_t single_batch = 0;
  // Internal: time one solve per "solve" line on stdin (for a driver that alternates
  // its own solves with these; benchmarks/python_reference/speed.py).
  bool paired = false;
  // Compare the two routes of a network call instead (see network_routes()).
  bool network_routes = false;
  int calls = 200;
};

/// The budgets timed here (smaller than the paper's; the ratio does not depend on them):
/// MAP-GA 10 x map_ga_iterations, PGDM and DPS 50 steps, MAP-GA-PGDM's PGDM stage 20.
std::shared_ptr<const Solver> make_timed_solver(const std::string& name, const PriorModels& models,
                                                int64_t map_ga_iterations) {
  SolverSettings settings;
  settings.time_steps = 10;
  settings.iterations = map_ga_iterations;
  if (name == "pgdm" || name == "dps") settings.steps = 50;
  return make_solver(name, models, settings);
}

/// The problem every solver gets: the first `batch` test images under box50, with
/// sigma_y = 0.1 for MAP-GA-PGDM and its (D) variant (Algorithm 3 is for noisy
/// problems) and 0 otherwise.
Problem make_problem(const std::string& solver, int64_t batch) {
  const auto test = read_fashion_mnist(kFashionMnistDirectory, FashionMnistSplit::kTest);
  const auto images = test.images.slice(0, 0, batch);
  Problem problem;
  problem.forward_operator = std::make_shared<Inpainting>(paper_mask(PaperMask::kBox50, 28, 28));
  problem.sigma_y = solver.rfind("map-ga-pgdm", 0) == 0 ? 0.1 : 0.0;
  auto generator = make_generator(99);
  const auto clean = problem.forward_operator->apply(images);
  problem.measurement = clean + problem.sigma_y * randn_like(clean, generator) *
                                    paper_mask(PaperMask::kBox50, 28, 28);
  problem.image_shape = {1, 28, 28};
  problem.seed = 7;
  return problem;
}

double seconds_of(const std::function<void()>& action) {
  const auto start = std::chrono::steady_clock::now();
  action();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

/// Seconds of `forwards` bare network forwards without autograd and `vjps` forwards with
/// autograd each followed by its VJP, on a batch like the problem's.
double bare_calls_seconds(const ConsistencyModel& network, const Problem& problem, int64_t forwards,
                          int64_t vjps) {
  const auto x = torch::randn({problem.batch_size(), 1, 28, 28});
  return seconds_of([&] {
    for (int64_t i = 0; i < forwards; ++i) {
      torch::NoGradGuard no_grad;
      network.origin(x, 1.0);
    }
    for (int64_t i = 0; i < vjps; ++i) {
      const auto input = x.detach().requires_grad_(true);
      const auto output = network.origin(input, 1.0);
      torch::autograd::grad({output}, {input}, {torch::ones_like(output)});
    }
  });
}

/// Timed solves, each followed at once by the same number of bare network calls, so that
/// solve and calls see the same state of the machine. Standalone: --repeats of them.
/// --paired: prints READY, then one per line "solve" on stdin, answering
/// "TIME <solve seconds>" once the calls are done too; stops at "done" or end of input.
struct TimedSolves {
  std::vector<double> solve_seconds;
  std::vector<double> bare_seconds;
  Summary summary;
};

TimedSolves timed_solves(const Settings& settings, const Solver& solver,
                         const ConsistencyModel& network, const Problem& problem) {
  TimedSolves result;
  const auto one = [&] {
    result.solve_seconds.push_back(seconds_of([&] { result.summary = solver.solve(problem); }));
    const auto& summary = result.summary;
    result.bare_seconds.push_back(bare_calls_seconds(
        network, problem, summary.network_forwards - summary.network_vjps, summary.network_vjps));
  };
  if (!settings.paired) {
    for (int r = 0; r < settings.repeats; ++r) one();
    return result;
  }
  fmt::print("READY\n");
  std::fflush(stdout);
  std::string line;
  while (std::getline(std::cin, line) && line == "solve") {
    one();
    fmt::print("TIME {:.9f}\n", result.solve_seconds.back());
    std::fflush(stdout);
  }
  if (result.solve_seconds.empty())
    throw std::runtime_error("--paired: no \"solve\" line on stdin");
  return result;
}

/// This process image's peak resident set (VmHWM). Not getrusage's ru_maxrss: that one
/// survives exec and so would report the parent's peak (say, a Python driver) if larger.
long peak_rss_kib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  }
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

nlohmann::json run_single(const Settings& settings) {
  mapinverse::set_thread_count(settings.threads);
  const PriorModels models{load_unet_denoiser(shipped_model_path(kDenoiserModelFile)),
                           load_unet_consistency(shipped_model_path(kConsistencyModelFile))};
  const auto solver = make_timed_solver(settings.single_solver, models, settings.map_ga_iterations);
  const auto problem = make_problem(settings.single_solver, settings.single_batch);
  solver->solve(problem);  // warm-up: first-call allocations and OpenMP start-up
  const auto timed = timed_solves(settings, *solver, *models.consistency, problem);
  const auto& summary = timed.summary;
  std::vector<double> overheads;
  for (size_t r = 0; r < timed.solve_seconds.size(); ++r) {
    overheads.push_back(timed.solve_seconds[r] / timed.bare_seconds[r]);
  }
  const double seconds = median(timed.solve_seconds);
  if (!settings.save_estimates.empty()) {
    std::filesystem::create_directories(settings.save_estimates);
    const auto bytes = torch::pickle_save(summary.estimate);
    write_file_atomically(fmt::format("{}/{}_batch{}.pt", settings.save_estimates,
                                      settings.single_solver, settings.single_batch),
                          std::string_view(bytes.data(), bytes.size()));
  }
  const double batch = static_cast<double>(settings.single_batch);
  return {{"solver", settings.single_solver},
          {"name", summary.solver_name},
          {"batch", settings.single_batch},
          {"threads", settings.threads},
          {"seconds", seconds},
          {"seconds_per_image", seconds / batch},
          {"images_per_second", batch / seconds},
          {"network_forwards", summary.network_forwards},
          {"network_vjps", summary.network_vjps},
          {"bare_network_seconds", median(timed.bare_seconds)},
          {"overhead_ratio", median(overheads)},
          {"overhead_ratios", overheads},
          {"solve_seconds", timed.solve_seconds},
          {"peak_rss_mib", static_cast<double>(peak_rss_kib()) / 1024.0}};
}

/// The consistency model called with t as a number (the solvers' route: closed-form
/// coefficients, the U-Net's cached embedding folded into its biases) against t as a
/// one-element tensor (coefficients as tensor operations, the embedding recomputed and
/// added per block), alternating call by call in this process; medians of the
/// per-call times and of the paired ratios.
void network_routes(const Settings& settings) {
  mapinverse::set_thread_count(settings.threads);
  const auto model = load_unet_consistency(shipped_model_path(kConsistencyModelFile));
  fmt::print("{} LibTorch thread(s), {} alternating calls per route\n\n", settings.threads,
             settings.calls);
  fmt::print(
      "| batch | call | t as tensor ms | t as number ms | paired ratio | max abs Δ |\n"
      "|---:|---|---:|---:|---:|---:|\n");
  for (const auto batch : settings.batches) {
    torch::manual_seed(0);
    const auto x = torch::randn({batch, 1, 28, 28});
    const auto t_tensor = torch::scalar_tensor(1.0);
    const auto forward = [&](bool as_number) {
      torch::NoGradGuard no_grad;
      return as_number ? model->origin(x, 1.0) : model->origin(x, t_tensor);
    };
    const auto vjp = [&](bool as_number) {
      const auto input = x.detach().requires_grad_(true);
      const auto output = as_number ? model->origin(input, 1.0) : model->origin(input, t_tensor);
      return torch::autograd::grad({output}, {input}, {torch::ones_like(output)})[0];
    };
    const auto compare = [&](const char* name, const auto& call) {
      const torch::Tensor delta = (call(true) - call(false)).abs().max();
      const double difference = delta.item<double>();
      std::vector<double> as_tensor, as_number, ratios;
      for (int i = 0; i < settings.calls; ++i) {
        as_tensor.push_back(seconds_of([&] { call(false); }));
        as_number.push_back(seconds_of([&] { call(true); }));
        ratios.push_back(as_number.back() / as_tensor.back());
      }
      fmt::print("| {} | {} | {:.3f} | {:.3f} | {:.3f} | {:.1e} |\n", batch, name,
                 1e3 * median(as_tensor), 1e3 * median(as_number), median(ratios), difference);
      std::fflush(stdout);
    };
    compare("forward", forward);
    compare("forward + VJP", vjp);
  }
}

/// Runs one configuration in a child process and reads back its JSON line.
nlohmann::json run_child(const std::string& self, const Settings& settings,
                         const std::string& solver, int64_t batch) {
  auto command = fmt::format(
      "'{}' --single {} --single-batch {} --threads {} --repeats {} --map-ga-iterations {}", self,
      solver, batch, settings.threads, settings.repeats, settings.map_ga_iterations);
  if (!settings.save_estimates.empty())
    command += fmt::format(" --save-estimates '{}'", settings.save_estimates);
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
  if (!pipe) throw std::runtime_error("cannot start " + command);
  std::string output;
  std::array<char, 4096> buffer{};
  while (std::fgets(buffer.data(), buffer.size(), pipe.get()) != nullptr) output += buffer.data();
  const auto start = output.rfind("RESULT ");
  if (start == std::string::npos)
    throw std::runtime_error("no result from: " + command + "\n" + output);
  return nlohmann::json::parse(output.substr(start + 7));
}

}  // namespace

int main(int argc, char** argv) {
  Settings settings;
  CLI::App app{"Solver speed, overhead and memory on the shipped Fashion-MNIST networks"};
  app.add_option("--batches", settings.batches, "batch sizes")->check(CLI::PositiveNumber);
  app.add_option("--solvers", settings.solvers, "solvers (registered names)")
      ->check(CLI::IsMember(solver_names()));
  app.add_option("--threads", settings.threads, "LibTorch intra-op threads")
      ->check(CLI::PositiveNumber);
  app.add_option("--repeats", settings.repeats, "timed solves per configuration (median)")
      ->check(CLI::PositiveNumber);
  app.add_option("--map-ga-iterations", settings.map_ga_iterations,
                 "MAP-GA / MAP-GA-PGDM ascent iterations per time step (10 time steps)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--json", settings.json_path, "write the results as JSON");
  app.add_option("--save-estimates", settings.save_estimates,
                 "write each configuration's estimate (torch.load-able) into this folder");
  app.add_option("--single", settings.single_solver, "internal: run one configuration");
  app.add_option("--single-batch", settings.single_batch, "internal: its batch size");
  app.add_flag("--paired", settings.paired,
               "internal: with --single, time one solve per \"solve\" line on stdin");
  app.add_flag("--network-routes", settings.network_routes,
               "compare a network call with t as a number and as a tensor, per batch size");
  app.add_option("--calls", settings.calls, "calls per route with --network-routes")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  try {
    if (settings.network_routes) {
      network_routes(settings);
      return 0;
    }
    if (!settings.single_solver.empty()) {
      fmt::print("RESULT {}\n", run_single(settings).dump());
      return 0;
    }
    nlohmann::json rows = nlohmann::json::array();
    fmt::print("{} LibTorch thread(s), median of {} solves\n\n", settings.threads,
               settings.repeats);
    fmt::print(
        "| solver | batch | s/image | images/s | forwards | VJPs | bare network s | overhead | "
        "peak RSS MiB |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (const auto& solver : settings.solvers) {
      for (const auto batch : settings.batches) {
        const auto row = run_child(argv[0], settings, solver, batch);
        fmt::print("| {} | {} | {:.4f} | {:.2f} | {} | {} | {:.3f} | {:.3f} | {:.0f} |\n",
                   row["name"].get<std::string>(), batch, row["seconds_per_image"].get<double>(),
                   row["images_per_second"].get<double>(), row["network_forwards"].get<int64_t>(),
                   row["network_vjps"].get<int64_t>(), row["bare_network_seconds"].get<double>(),
                   row["overhead_ratio"].get<double>(), row["peak_rss_mib"].get<double>());
        std::fflush(stdout);
        rows.push_back(row);
      }
    }
    if (!settings.json_path.empty()) write_file_atomically(settings.json_path, rows.dump(2) + "\n");
  } catch (const std::exception& error) {
    std::cerr << "benchmark_speed: " << error.what() << '\n';
    return 1;
  }
  return 0;
}
