// The MapInverse side of the peer benchmark (benchmarks/peers/run.py drives it):
//
//   benchmark_peers solve --manifest DIR/manifest.json --solver dps:100 ... --out FILE
//       solves every cell of the manifest with each solver (NAME:STEPS, NAME:NxK for
//       MAP-GA's time steps x iterations) and writes the restorations as raw float32
//       next to the manifest, with network calls and seconds, to FILE (JSON);
//   benchmark_peers score --manifest DIR/manifest.json --results A.json B.json --out FILE
//       scores every restoration of the result files with the library's metrics: PSNR
//       and SSIM per image, and the Frechet distance of the shipped classifier's
//       features to the whole Fashion-MNIST test set, per solver and noise level (all
//       masks pooled).
//
// Problems come from the manifest (written by run.py) so that both libraries restore
// the very same measurements: truth, masks and y as raw little-endian float32 files.

#include <chrono>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <torch/torch.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "mapinverse/core/threads.hpp"
#include "mapinverse/io/atomic_write.hpp"
#include "mapinverse/mapinverse.hpp"
#include "mapinverse/models/classifier.hpp"

using namespace mapinverse;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

torch::Tensor read_floats(const fs::path& path, const std::vector<int64_t>& shape) {
  std::ifstream in(path, std::ios::binary);
  require(in.good(), "benchmark_peers: cannot read {}", path.string());
  int64_t count = 1;
  for (auto size : shape) count *= size;
  std::vector<float> values(static_cast<size_t>(count));
  in.read(reinterpret_cast<char*>(values.data()), count * static_cast<int64_t>(sizeof(float)));
  require(in.gcount() == count * static_cast<int64_t>(sizeof(float)),
          "benchmark_peers: {} holds fewer than {} float32 values", path.string(), count);
  return torch::from_blob(values.data(), shape, torch::kFloat32).clone();
}

void write_floats(const fs::path& path, const torch::Tensor& tensor) {
  const auto values = tensor.to(torch::kFloat32).contiguous();
  write_file_atomically(path.string(),
                        std::string_view(reinterpret_cast<const char*>(values.data_ptr<float>()),
                                         static_cast<size_t>(values.numel()) * sizeof(float)));
}

struct Cell {
  std::string name;
  torch::Tensor mask;
  torch::Tensor measurement;
  double sigma_y = 0.0;
  std::vector<uint64_t> seeds;
};

struct Manifest {
  fs::path folder;
  torch::Tensor truth;
  std::vector<Cell> cells;
};

Manifest read_manifest(const fs::path& path) {
  std::ifstream in(path);
  require(in.good(), "benchmark_peers: cannot read the manifest {}", path.string());
  const auto document = json::parse(in);
  Manifest manifest;
  manifest.folder = path.parent_path();
  const auto shape = document.at("shape").get<std::vector<int64_t>>();
  manifest.truth = read_floats(manifest.folder / document.at("truth").get<std::string>(), shape);
  for (const auto& entry : document.at("cells")) {
    Cell cell;
    cell.name = entry.at("name").get<std::string>();
    cell.mask = read_floats(manifest.folder / entry.at("mask").get<std::string>(),
                            {1, 1, shape[2], shape[3]});
    cell.measurement =
        read_floats(manifest.folder / entry.at("measurement").get<std::string>(), shape);
    cell.sigma_y = entry.at("sigma_y").get<double>();
    cell.seeds = entry.at("seeds").get<std::vector<uint64_t>>();
    manifest.cells.push_back(std::move(cell));
  }
  return manifest;
}

// "dps:100" -> ("dps", settings with 100 steps); "map-ga:20x50" -> 20 time steps x 50.
std::pair<std::string, SolverSettings> parse_solver(const std::string& text, int64_t ode_steps) {
  const auto colon = text.find(':');
  const auto name = text.substr(0, colon);
  require(is_solver_name(name), "benchmark_peers: unknown solver '{}'", name);
  SolverSettings settings;
  settings.ode_steps = ode_steps;
  if (colon != std::string::npos) {
    const auto budget = text.substr(colon + 1);
    const auto times = budget.find('x');
    if (times != std::string::npos) {
      settings.time_steps = std::stoll(budget.substr(0, times));
      settings.iterations = std::stoll(budget.substr(times + 1));
    } else {
      settings.steps = std::stoll(budget);
    }
  }
  return {name, settings};
}

json solve_cell(const Solver& solver, const std::string& label, const Cell& cell,
                const Manifest& manifest, int64_t images, int64_t batch, bool warm_up,
                const fs::path& file) {
  Problem problem;
  problem.forward_operator = std::make_shared<Inpainting>(cell.mask);
  problem.sigma_y = cell.sigma_y;
  problem.image_shape = {1, manifest.truth.size(2), manifest.truth.size(3)};
  if (warm_up) {
    // One untimed solve of the first batch, so that the timed ones do not include the
    // allocator's and the thread pool's first use (run.py's speed runs).
    problem.measurement = cell.measurement.slice(0, 0, std::min(images, batch));
    problem.sample_seeds.assign(cell.seeds.begin(),
                                cell.seeds.begin() + problem.measurement.size(0));
    solver.solve(problem);
  }
  std::vector<torch::Tensor> parts;
  int64_t forwards = 0;
  int64_t vjps = 0;
  double seconds = 0.0;
  for (int64_t first = 0; first < images; first += batch) {
    const int64_t last = std::min(images, first + batch);
    problem.measurement = cell.measurement.slice(0, first, last);
    problem.sample_seeds.assign(cell.seeds.begin() + first, cell.seeds.begin() + last);
    const auto start = std::chrono::steady_clock::now();
    const auto summary = solver.solve(problem);
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    forwards += summary.network_forwards * (last - first);
    vjps += summary.network_vjps * (last - first);
    parts.push_back(summary.estimate);
  }
  write_floats(file, torch::cat(parts));
  const auto n = static_cast<double>(images);
  fmt::print("mapinverse {:<14} {:<12} batch {:>3}: {:.3f} s/image, {} network calls/image\n",
             label, cell.name, batch, seconds / n, (forwards + vjps) / images);
  std::fflush(stdout);
  return {{"library", "mapinverse"},
          {"solver", label},
          {"cell", cell.name},
          {"sigma_y", cell.sigma_y},
          {"batch", batch},
          {"images", images},
          {"forwards_per_image", forwards / n},
          {"vjps_per_image", vjps / n},
          {"seconds_per_image", seconds / n},
          {"estimate", file.filename().string()}};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"MapInverse's side of the peer benchmark"};
  app.require_subcommand(1);
  std::string manifest_path;
  std::string out;
  int threads = 1;
  app.add_option("--threads", threads, "LibTorch intra-op threads")->capture_default_str();
  auto* solve = app.add_subcommand("solve", "restore every cell");
  std::vector<std::string> solvers;
  int64_t batch = 0;
  int64_t images = 0;
  int64_t ode_steps = 2;
  std::string tag = "full";
  solve->add_option("--manifest", manifest_path)->required();
  solve->add_option("--solver", solvers, "NAME:STEPS or NAME:NxK")->required();
  solve->add_option("--batch", batch, "images per solve (0: all of a cell)");
  bool warm_up = false;
  solve->add_flag("--warm-up", warm_up, "solve the first batch once, untimed, before timing");
  solve->add_option("--images", images, "first N images of each cell (0: all)");
  solve->add_option("--ode-steps", ode_steps, "DAPS ODE steps")->capture_default_str();
  solve->add_option("--tag", tag, "names the estimate files")->capture_default_str();
  solve->add_option("--out", out)->required();
  auto* score = app.add_subcommand("score", "score restorations");
  std::vector<std::string> results;
  score->add_option("--manifest", manifest_path)->required();
  score->add_option("--results", results)->required();
  score->add_option("--out", out)->required();
  CLI11_PARSE(app, argc, argv);

  try {
    set_thread_count(threads);
    const auto manifest = read_manifest(manifest_path);
    json output = json::array();
    if (solve->parsed()) {
      const PriorModels models{load_unet_denoiser(shipped_model_path(kDenoiserModelFile)),
                               load_unet_consistency(shipped_model_path(kConsistencyModelFile))};
      const int64_t count = images > 0 ? images : manifest.truth.size(0);
      for (const auto& text : solvers) {
        const auto [name, settings] = parse_solver(text, ode_steps);
        const auto solver = make_solver(name, models, settings);
        for (const auto& cell : manifest.cells) {
          if (name.rfind("map-ga-pgdm", 0) == 0 && cell.sigma_y == 0.0) continue;
          auto file = fmt::format("mapinverse_{}_{}_{}.f32", name, cell.name, tag);
          for (auto& c : file) c = (c == '/') ? '_' : c;
          output.push_back(solve_cell(*solver, name, cell, manifest, count,
                                      batch > 0 ? batch : count, warm_up, manifest.folder / file));
        }
      }
    } else {
      auto classifier = load_classifier(shipped_model_path(kClassifierModelFile));
      const auto test = read_fashion_mnist(kFashionMnistDirectory, FashionMnistSplit::kTest);
      torch::NoGradGuard no_grad;
      std::vector<torch::Tensor> feature_parts;
      for (int64_t i = 0; i < test.images.size(0); i += 1000) {
        feature_parts.push_back(classifier->features(test.images.slice(0, i, i + 1000)));
      }
      const auto test_features = torch::cat(feature_parts);
      std::map<std::string, std::vector<torch::Tensor>> pooled;
      std::map<std::string, std::string> cell_truth;
      for (const auto& path : results) {
        std::ifstream in(path);
        for (auto entry : json::parse(in)) {
          const auto cell = entry.at("cell").get<std::string>();
          const auto images_here = entry.at("images").get<int64_t>();
          const auto truth = manifest.truth.slice(0, 0, images_here);
          const auto estimate =
              read_floats(manifest.folder / entry.at("estimate").get<std::string>(),
                          truth.sizes().vec())
                  .clamp(-1.0, 1.0);
          const auto p = psnr(estimate, truth);
          const auto s = ssim(estimate, truth);
          entry["psnr"] = p.mean().item<double>();
          entry["psnr_std"] = p.std().item<double>();
          entry["ssim"] = s.mean().item<double>();
          entry["ssim_std"] = s.std().item<double>();
          if (entry.at("batch").get<int64_t>() == images_here) {
            const auto key = fmt::format("{}|{}|{}", entry.at("library").get<std::string>(),
                                         entry.at("solver").get<std::string>(),
                                         entry.at("sigma_y").get<double>());
            pooled[key].push_back(classifier->features(estimate));
          }
          output.push_back(entry);
        }
      }
      json frechet = json::object();
      for (const auto& [key, parts] : pooled) {
        frechet[key] = frechet_distance(torch::cat(parts), test_features);
      }
      output = json{{"entries", output}, {"frechet", frechet}};
    }
    write_file_atomically(out, output.dump(2) + "\n");
  } catch (const std::exception& error) {
    fmt::print(stderr, "benchmark_peers: {}\n", error.what());
    return 1;
  }
  return 0;
}
