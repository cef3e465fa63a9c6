// The MAP-GA study: PSNR/SSIM and network calls per image of solver configurations
// (JSON, see config.hpp) on Fashion-MNIST test images under the paper's masks and
// noise levels. One JSON line per (configuration, mask, sigma_y) is appended to --out;
// lines already there are skipped, so an interrupted run resumes where it stopped.
//
//   benchmark_map_ga_study --configs FILE --images 9000:9032 --masks half box50
//                          --sigmas 0 0.1 --out FILE.jsonl [--only NAME ...] [--threads 2]

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <torch/torch.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "config.hpp"
#include "mapinverse/core/threads.hpp"
#include "mapinverse/mapinverse.hpp"

using namespace mapinverse;

namespace {

struct Settings {
  std::string configs_path;
  std::string images = "9000:9032";
  std::vector<std::string> masks{"box50", "half", "expand"};
  std::vector<double> sigmas{0.0};
  std::string out_path;
  std::vector<std::string> only;
  int threads = 2;
};

struct Range {
  int64_t first = 0;
  int64_t end = 0;
};

Range parse_range(const std::string& text) {
  const auto colon = text.find(':');
  if (colon == std::string::npos) throw std::invalid_argument("--images: expected FIRST:END");
  const Range range{std::stoll(text.substr(0, colon)), std::stoll(text.substr(colon + 1))};
  if (range.first < 0 || range.end <= range.first || range.end > 10000) {
    throw std::invalid_argument("--images: expected 0 <= FIRST < END <= 10000, got " + text);
  }
  return range;
}

std::string cell_key(const std::string& name, const std::string& mask, double sigma,
                     const std::string& images) {
  return fmt::format("{}|{}|{:g}|{}", name, mask, sigma, images);
}

std::set<std::string> finished_cells(const std::string& path) {
  std::set<std::string> keys;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    const auto cell = nlohmann::json::parse(line);
    keys.insert(
        cell_key(cell.at("config"), cell.at("mask"), cell.at("sigma_y"), cell.at("images")));
  }
  return keys;
}

Problem make_problem(const std::string& mask, double sigma, const torch::Tensor& originals,
                     const Range& range) {
  Problem problem;
  problem.forward_operator =
      std::make_shared<Inpainting>(paper_mask(parse_paper_mask(mask), 28, 28));
  problem.sigma_y = sigma;
  problem.image_shape = {1, 28, 28};
  std::vector<uint64_t> noise_seeds;
  for (int64_t i = range.first; i < range.end; ++i) {
    problem.sample_seeds.push_back(static_cast<uint64_t>(1000 + i));
    noise_seeds.push_back(static_cast<uint64_t>(500000 + i));
  }
  auto measurement = problem.forward_operator->apply(originals);
  if (sigma > 0.0) {
    NoiseSource noise(noise_seeds);
    measurement = measurement + sigma * noise.randn_like(measurement);
  }
  problem.measurement = measurement;
  return problem;
}

// Solves `problem` with `config` (restarts: the mean of several seeds) and scores it.
nlohmann::json run_cell(const study::Config& config, const PriorModels& models, Problem problem,
                        const torch::Tensor& originals) {
  const auto solver = study::make_study_solver(config, models, problem.sigma_y);
  if (config.oracle_start) problem.start_image = originals;
  const auto start = std::chrono::steady_clock::now();
  torch::Tensor sum;
  int64_t calls = 0;
  const auto seeds = problem.sample_seeds;
  for (int64_t restart = 0; restart < config.restarts; ++restart) {
    for (size_t i = 0; i < seeds.size(); ++i) {
      problem.sample_seeds[i] = seeds[i] + static_cast<uint64_t>(restart) * 100000;
    }
    const auto summary = solver->solve(problem);
    sum = restart == 0 ? summary.estimate : sum + summary.estimate;
    calls += summary.network_evaluations();
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const auto estimate = (sum / static_cast<double>(config.restarts)).clamp(-1.0, 1.0);
  const auto per_image = psnr(estimate, originals).to(torch::kDouble).contiguous();
  std::vector<double> values(per_image.data_ptr<double>(),
                             per_image.data_ptr<double>() + per_image.numel());
  return {{"solver_name", solver->name()},
          {"psnr_db", per_image.mean().item<double>()},
          {"ssim", ssim(estimate, originals).mean().item<double>()},
          {"nfe_per_image", static_cast<double>(calls)},
          {"seconds", seconds},
          {"psnr_per_image", values}};
}

void run(const Settings& settings) {
  const auto range = parse_range(settings.images);
  std::ifstream in(settings.configs_path);
  if (!in) throw std::invalid_argument("--configs: cannot read " + settings.configs_path);
  const auto document = nlohmann::json::parse(in);
  std::vector<std::pair<study::Config, nlohmann::json>> configs;
  for (const auto& object : document) {
    auto config = study::parse_config(object);
    const bool wanted =
        settings.only.empty() ||
        std::find(settings.only.begin(), settings.only.end(), config.name) != settings.only.end();
    if (wanted) configs.emplace_back(std::move(config), object);
  }
  set_thread_count(settings.threads);
  const PriorModels models{load_unet_denoiser(shipped_model_path(kDenoiserModelFile)),
                           load_unet_consistency(shipped_model_path(kConsistencyModelFile))};
  const auto originals = read_fashion_mnist(kFashionMnistDirectory, FashionMnistSplit::kTest)
                             .images.slice(0, range.first, range.end);
  auto done = finished_cells(settings.out_path);
  fmt::print("images {} ({}), {} LibTorch thread(s), {} configurations\n", settings.images,
             originals.size(0), settings.threads, configs.size());
  for (const auto& [config, object] : configs) {
    for (const double sigma : settings.sigmas) {
      for (const auto& mask : settings.masks) {
        const auto key = cell_key(config.name, mask, sigma, settings.images);
        if (done.count(key) != 0) continue;
        auto cell =
            run_cell(config, models, make_problem(mask, sigma, originals, range), originals);
        cell["config"] = config.name;
        cell["mask"] = mask;
        cell["sigma_y"] = sigma;
        cell["images"] = settings.images;
        cell["settings"] = object;
        cell["threads"] = settings.threads;
        fmt::print("{:<28} {:<8} sigma {:<5g} {:>7.0f} NFE  {:6.2f} dB  SSIM {:.3f}  {:7.1f} s\n",
                   config.name, mask, sigma, cell["nfe_per_image"].get<double>(),
                   cell["psnr_db"].get<double>(), cell["ssim"].get<double>(),
                   cell["seconds"].get<double>());
        std::fflush(stdout);
        std::ofstream out(settings.out_path, std::ios::app);
        out << cell.dump() << '\n';
        done.insert(key);
      }
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  Settings settings;
  CLI::App app{"The MAP-GA study: solver configurations on Fashion-MNIST inpainting"};
  app.add_option("--configs", settings.configs_path, "JSON array of configurations")
      ->required()
      ->check(CLI::ExistingFile);
  app.add_option("--images", settings.images, "test images FIRST:END (END excluded)");
  std::vector<std::string> mask_names;
  for (const auto kind : all_paper_masks()) mask_names.push_back(to_string(kind));
  app.add_option("--masks", settings.masks, "masks")->check(CLI::IsMember(mask_names));
  app.add_option("--sigmas", settings.sigmas, "measurement noise levels")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--out", settings.out_path, "JSON-lines results file (appended)")->required();
  app.add_option("--only", settings.only, "run only these configurations (by name)");
  app.add_option("--threads", settings.threads, "LibTorch intra-op threads")
      ->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);
  try {
    run(settings);
  } catch (const std::exception& error) {
    std::cerr << "benchmark_map_ga_study: " << error.what() << '\n';
    return 1;
  }
  return 0;
}
