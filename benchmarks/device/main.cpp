// Throughput of every registered solver on one device (a GPU in scripts/device-check.sh):
// images per second, network calls and peak device memory at several batch sizes, on the
// shipped Fashion-MNIST networks and on a paper-sized network (a class-conditional
// 3x64x64 U-Net of about 300 M parameters with random weights, ImageNet-64's size in the
// seed paper). Then, where the launch overhead of a small network matters, what capturing
// the network part of one PGDM step in a CUDA graph buys against running it eagerly.
//
//   benchmark_device [--device cuda] [--batches 1 16 128] [--networks fmnist imagenet64]
//                    [--json FILE] [--time-limit 300] [--graph-replays 50]
//
// The budgets are small (a few steps, written into the JSON) so that the whole sweep fits a
// few minutes: throughput per network call does not depend on the budget, and the seconds
// per image at the paper's budget follow as seconds per call x calls.

#include <chrono>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <torch/torch.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "graph_capture.hpp"
#include "mapinverse/mapinverse.hpp"
#include "mapinverse/models/unet.hpp"
#include "peak_memory.hpp"

using namespace mapinverse;
using nlohmann::json;

namespace {

struct Settings {
  std::string device = "cuda";
  std::vector<int64_t> batches{1, 16, 128};
  std::vector<std::string> networks{"fmnist", "imagenet64"};
  std::string json_path;
  double time_limit = 300.0;
  int graph_replays = 50;
  // Channels at 64x64 of the paper-sized U-Net (multipliers 1,2,3,4, 3 blocks a level):
  // 224 gives 276 M parameters; the ADM network of EDM's ImageNet-64 model has 296 M
  // (Karras et al. 2022).
  int64_t imagenet_channels = 224;
};

/// The networks one sweep runs on, their image shape and class count.
struct NetworkSet {
  std::string name;
  PriorModels models;
  std::vector<int64_t> image_shape;
  int64_t num_classes = 0;
  int64_t parameters = 0;
};

int64_t parameter_count(const UNet& unet) {
  int64_t count = 0;
  for (const auto& parameter : unet->parameters()) count += parameter.numel();
  return count;
}

NetworkSet fashion_mnist_networks(const torch::Device& device) {
  NetworkSet set{"fmnist", {}, {1, 28, 28}, 0, 0};
  set.models.denoiser = load_unet_denoiser(shipped_model_path("fmnist_edm_denoiser.pt"), device);
  set.models.consistency =
      load_unet_consistency(shipped_model_path("fmnist_consistency.pt"), device);
  set.parameters = 2 * parameter_count(UNet(UNetOptions{}));
  return set;
}

/// A class-conditional 3x64x64 U-Net with random weights, shared by the denoiser and the
/// consistency model: the cost of a call, not its output, is measured.
NetworkSet paper_sized_networks(const torch::Device& device, int64_t channels) {
  const auto options = UNetOptions{}
                           .set_in_channels(3)
                           .set_base_channels(channels)
                           .set_channel_multipliers({1, 2, 3, 4})
                           .set_blocks_per_level(3)
                           .set_embedding_dim(4 * channels)
                           .set_num_groups(32)
                           .set_num_classes(1000);
  torch::manual_seed(0);
  UNet unet(options);
  unet->to(device);
  unet->eval();
  for (auto& parameter : unet->parameters()) parameter.requires_grad_(false);
  NetworkSet set{"imagenet64", {}, {3, 64, 64}, 1000, parameter_count(unet)};
  const auto network = std::make_shared<UNetNetwork>(unet);
  set.models.denoiser = std::make_shared<EdmDenoiser>(network);
  set.models.consistency = std::make_shared<BoundaryConsistency>(network);
  return set;
}

/// The right half of every image is missing; sigma_y = 0.05 (MAP-GA-PGDM needs a noisy
/// problem); random images in [-1, 1] and random labels, all from fixed seeds.
Problem make_problem(const NetworkSet& set, int64_t batch, const torch::Device& device) {
  const auto height = set.image_shape[1];
  const auto width = set.image_shape[2];
  auto generator = make_generator(5);
  std::vector<int64_t> shape{batch};
  shape.insert(shape.end(), set.image_shape.begin(), set.image_shape.end());
  const auto images = (0.5 * randn(shape, generator)).clamp(-1.0, 1.0).to(device);
  Problem problem;
  problem.forward_operator =
      std::make_shared<Inpainting>(paper_mask(PaperMask::kHalf, height, width).to(device));
  problem.sigma_y = 0.05;
  const auto clean = problem.forward_operator->apply(images);
  problem.measurement = clean + problem.sigma_y * randn_like(clean, generator);
  problem.image_shape = set.image_shape;
  problem.seed = 7;
  if (set.num_classes > 0) {
    problem.labels =
        torch::randint(set.num_classes, {batch}, torch::TensorOptions().dtype(torch::kLong))
            .to(device);
  }
  return problem;
}

/// The budget timed for each solver: a few steps of each loop.
SolverSettings timed_budget(const std::string& name) {
  SolverSettings settings;
  settings.time_steps = 2;
  settings.iterations = 5;
  settings.steps = (name == "pgdm" || name == "dps") ? 10 : 5;
  return settings;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

json time_solver(const NetworkSet& set, const std::string& name, int64_t batch,
                 const torch::Device& device) {
  const auto settings = timed_budget(name);
  const auto solver = make_solver(name, set.models, settings);
  const auto problem = make_problem(set, batch, device);
  reset_peak_memory(device);
  synchronize(device);
  const auto start = std::chrono::steady_clock::now();
  const auto summary = solver->solve(problem);
  synchronize(device);
  const double seconds = seconds_since(start);
  const auto calls = summary.network_evaluations();
  return {{"network", set.name},
          {"solver", name},
          {"batch", batch},
          {"time_steps", settings.time_steps},
          {"iterations", settings.iterations},
          {"steps", *settings.steps},
          {"network_forwards", summary.network_forwards},
          {"network_vjps", summary.network_vjps},
          {"seconds", seconds},
          {"images_per_second", static_cast<double>(batch) / seconds},
          {"seconds_per_call", seconds / static_cast<double>(calls)},
          {"peak_memory_bytes", peak_memory_bytes(device)}};
}

/// One solve at the smallest budget per batch size first, so that cuDNN's algorithm
/// search and the allocator's first growth are not timed.
void warm_up(const NetworkSet& set, int64_t batch, const torch::Device& device) {
  SolverSettings settings;
  settings.steps = 2;
  make_solver("pgdm", set.models, settings)->solve(make_problem(set, batch, device));
  settings.time_steps = 1;
  settings.iterations = 1;
  make_solver("map-ga", set.models, settings)->solve(make_problem(set, batch, device));
}

/// "123.4 MiB", or "n/a" where the device cannot tell.
std::string peak_text(double bytes) {
  return bytes < 0.0 ? std::string("n/a") : fmt::format("{:.1f} MiB", bytes / (1 << 20));
}

json sweep(const Settings& settings, const NetworkSet& set, const torch::Device& device,
           std::chrono::steady_clock::time_point start) {
  json cells = json::array();
  for (const auto batch : settings.batches) {
    for (const auto& name : solver_names()) {
      if (seconds_since(start) > settings.time_limit) {
        cells.push_back({{"network", set.name},
                         {"solver", name},
                         {"batch", batch},
                         {"skipped", "time limit reached"}});
        continue;
      }
      try {
        if (name == solver_names().front()) warm_up(set, batch, device);
        cells.push_back(time_solver(set, name, batch, device));
        const auto& cell = cells.back();
        std::cout << fmt::format(
                         "{:>10} {:>14} batch {:>4}: {:9.2f} images/s, {:5} calls, {:8.3f} ms "
                         "a call, peak {}",
                         set.name, name, batch, cell["images_per_second"].get<double>(),
                         cell["network_forwards"].get<int64_t>() +
                             cell["network_vjps"].get<int64_t>(),
                         1e3 * cell["seconds_per_call"].get<double>(),
                         peak_text(cell["peak_memory_bytes"].get<double>()))
                  << std::endl;
      } catch (const std::exception& error) {
        const std::string message = first_line(error.what());
        std::cout << fmt::format("{:>10} {:>14} batch {:>4}: failed: {}", set.name, name, batch,
                                 message)
                  << std::endl;
        cells.push_back(
            {{"network", set.name}, {"solver", name}, {"batch", batch}, {"error", message}});
      }
    }
  }
  return cells;
}

}  // namespace

int main(int argc, char** argv) {
  Settings settings;
  CLI::App app{"Solver throughput, network calls and peak memory on one device"};
  app.add_option("--device", settings.device, "cuda, cuda:N or cpu")->capture_default_str();
  app.add_option("--batches", settings.batches, "batch sizes")->capture_default_str();
  app.add_option("--networks", settings.networks, "fmnist and/or imagenet64")
      ->check(CLI::IsMember({"fmnist", "imagenet64"}))
      ->capture_default_str();
  app.add_option("--json", settings.json_path, "write the results here");
  app.add_option("--time-limit", settings.time_limit,
                 "seconds after which the remaining cells are skipped")
      ->capture_default_str();
  app.add_option("--graph-replays", settings.graph_replays,
                 "calls timed eagerly and as CUDA-graph replays (0: no graph test)")
      ->capture_default_str();
  app.add_option("--imagenet-channels", settings.imagenet_channels,
                 "channels at 64x64 of the paper-sized U-Net")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  const torch::Device device(settings.device);
  const auto start = std::chrono::steady_clock::now();
  json report = {{"device", device_description(device)},
                 {"libtorch", TORCH_VERSION},
                 {"threads", at::get_num_threads()},
                 {"cells", json::array()},
                 {"graph", json::array()},
                 {"networks", json::array()}};
  for (const auto& name : settings.networks) {
    const auto set = name == "fmnist" ? fashion_mnist_networks(device)
                                      : paper_sized_networks(device, settings.imagenet_channels);
    std::cout << fmt::format(
                     "{}: {} parameters (denoiser and consistency model together for "
                     "fmnist; one network shared by both for imagenet64)",
                     set.name, set.parameters)
              << std::endl;
    report["networks"].push_back({{"name", set.name}, {"parameters", set.parameters}});
    for (auto& cell : sweep(settings, set, device, start)) report["cells"].push_back(cell);
    if (device.is_cuda() && settings.graph_replays > 0) {
      for (const int64_t batch : {int64_t{1}, int64_t{16}}) {
        auto result = compare_graph_replay(set.models, make_problem(set, batch, device),
                                           settings.graph_replays);
        result["network"] = set.name;
        result["batch"] = batch;
        std::cout << set.name << " batch " << batch << " CUDA graph: " << result.dump()
                  << std::endl;
        report["graph"].push_back(result);
      }
    }
  }
  report["seconds"] = seconds_since(start);
  if (!settings.json_path.empty()) {
    std::ofstream(settings.json_path) << report.dump(2) << "\n";
    std::cout << "wrote " << settings.json_path << std::endl;
  }
  return 0;
}
