// Speed of the solvers on the shipped Fashion-MNIST networks: seconds per image and
// images per second at several batch sizes, network forwards and VJPs, the overhead
// ratio (solver wall time / the time of the same number of bare network calls on the
// same batch, measured in the same process), and peak resident memory.
//
//   benchmark_speed [--batches 1 8 64] [--threads 1] [--repeats 3] [--json FILE]
//                   [--save-estimates DIR]
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
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

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
};

/// The budgets timed here (smaller than the paper's; the ratio does not depend on them).
std::shared_ptr<const Solver> make_solver(const std::string& name, const PriorModels& models,
                                          int64_t map_ga_iterations) {
  if (name == "map-ga") {
    MapGa::Options options;
    options.num_time_steps = 10;
    options.num_iter = map_ga_iterations;
    return std::make_shared<MapGa>(models, options);
  }
  if (name == "map-ga-pgdm") {
    MapGaPgdm::Options options;
    options.num_time_steps = 10;
    options.num_iter = map_ga_iterations;
    return std::make_shared<MapGaPgdm>(models, options);
  }
  if (name == "pgdm") {
    Pgdm::Options options;
    options.schedule.num_steps = 50;
    return std::make_shared<Pgdm>(models, options);
  }
  Dps::Options options;
  options.schedule.num_steps = 50;
  return std::make_shared<Dps>(models, options);
}

/// The problem every solver gets: the first `batch` test images under box50, with
/// sigma_y = 0.1 for MAP-GA-PGDM (Algorithm 3 is for noisy problems) and 0 otherwise.
Problem make_problem(const std::string& solver, int64_t batch) {
  const auto test = read_fashion_mnist(kFashionMnistDirectory, FashionMnistSplit::kTest);
  const auto images = test.images.slice(0, 0, batch);
  Problem problem;
  problem.forward_operator = std::make_shared<Inpainting>(paper_mask(PaperMask::kBox50, 28, 28));
  problem.sigma_y = solver == "map-ga-pgdm" ? 0.1 : 0.0;
  auto generator = make_generator(99);
  const auto clean = problem.forward_operator->apply(images);
  problem.measurement = clean + problem.sigma_y * randn_like(clean, generator) *
                                    paper_mask(PaperMask::kBox50, 28, 28);
  problem.image_shape = {1, 28, 28};
  problem.seed = 7;
  return problem;
}

template <typename Action>
double median_seconds(int repeats, Action&& action) {
  std::vector<double> times;
  for (int r = 0; r < repeats; ++r) {
    const auto start = std::chrono::steady_clock::now();
    action();
    times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

/// Seconds of one bare network forward without autograd, and of one forward with
/// autograd followed by its VJP, on this batch (medians of many calls).
std::pair<double, double> bare_call_seconds(const ConsistencyModel& network, const Problem& problem) {
  const auto x = torch::randn({problem.batch_size(), 1, 28, 28});
  constexpr int kCalls = 20;
  const double forward = median_seconds(kCalls, [&] {
    torch::NoGradGuard no_grad;
    network.origin(x, 1.0);
  });
  const double forward_vjp = median_seconds(kCalls, [&] {
    const auto input = x.detach().requires_grad_(true);
    const auto output = network.origin(input, 1.0);
    torch::autograd::grad({output}, {input}, {torch::ones_like(output)});
  });
  return {forward, forward_vjp};
}

long peak_rss_kib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

nlohmann::json run_single(const Settings& settings) {
  mapinverse::set_thread_count(settings.threads);
  const PriorModels models{load_unet_denoiser(shipped_model_path(kDenoiserModelFile)),
                           load_unet_consistency(shipped_model_path(kConsistencyModelFile))};
  const auto solver = make_solver(settings.single_solver, models, settings.map_ga_iterations);
  const auto problem = make_problem(settings.single_solver, settings.single_batch);
  solver->solve(problem);  // warm-up: first-call allocations and OpenMP start-up
  Summary summary;
  const double seconds = median_seconds(settings.repeats, [&] { summary = solver->solve(problem); });
  const auto [forward, forward_vjp] = bare_call_seconds(*models.consistency, problem);
  const double bare = static_cast<double>(summary.network_forwards - summary.network_vjps) * forward +
                      static_cast<double>(summary.network_vjps) * forward_vjp;
  if (!settings.save_estimates.empty()) {
    std::filesystem::create_directories(settings.save_estimates);
    const auto bytes = torch::pickle_save(summary.estimate);
    std::ofstream(fmt::format("{}/{}_batch{}.pt", settings.save_estimates, settings.single_solver,
                              settings.single_batch),
                  std::ios::binary)
        .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
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
          {"bare_forward_seconds", forward},
          {"bare_forward_vjp_seconds", forward_vjp},
          {"bare_network_seconds", bare},
          {"overhead_ratio", seconds / bare},
          {"peak_rss_mib", static_cast<double>(peak_rss_kib()) / 1024.0}};
}

/// Runs one configuration in a child process and reads back its JSON line.
nlohmann::json run_child(const std::string& self, const Settings& settings,
                         const std::string& solver, int64_t batch) {
  auto command = fmt::format(
      "'{}' --single {} --single-batch {} --threads {} --repeats {} --map-ga-iterations {}", self,
      solver, batch, settings.threads, settings.repeats, settings.map_ga_iterations);
  if (!settings.save_estimates.empty()) command += fmt::format(" --save-estimates '{}'", settings.save_estimates);
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
  if (!pipe) throw std::runtime_error("cannot start " + command);
  std::string output;
  std::array<char, 4096> buffer{};
  while (std::fgets(buffer.data(), buffer.size(), pipe.get()) != nullptr) output += buffer.data();
  const auto start = output.rfind("RESULT ");
  if (start == std::string::npos) throw std::runtime_error("no result from: " + command + "\n" + output);
  return nlohmann::json::parse(output.substr(start + 7));
}

}  // namespace

int main(int argc, char** argv) {
  Settings settings;
  CLI::App app{"Solver speed, overhead and memory on the shipped Fashion-MNIST networks"};
  app.add_option("--batches", settings.batches, "batch sizes")->check(CLI::PositiveNumber);
  app.add_option("--solvers", settings.solvers, "solvers")
      ->check(CLI::IsMember({"map-ga", "map-ga-pgdm", "pgdm", "dps"}));
  app.add_option("--threads", settings.threads, "LibTorch intra-op threads")->check(CLI::PositiveNumber);
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
  CLI11_PARSE(app, argc, argv);
  try {
    if (!settings.single_solver.empty()) {
      fmt::print("RESULT {}\n", run_single(settings).dump());
      return 0;
    }
    nlohmann::json rows = nlohmann::json::array();
    fmt::print("{} LibTorch thread(s), median of {} solves\n\n", settings.threads, settings.repeats);
    fmt::print("| solver | batch | s/image | images/s | forwards | VJPs | bare network s | overhead | peak RSS MiB |\n"
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
    if (!settings.json_path.empty()) {
      std::ofstream(settings.json_path + ".partial") << rows.dump(2) << '\n';
      std::filesystem::rename(settings.json_path + ".partial", settings.json_path);
    }
  } catch (const std::exception& error) {
    std::cerr << "benchmark_speed: " << error.what() << '\n';
    return 1;
  }
  return 0;
}
