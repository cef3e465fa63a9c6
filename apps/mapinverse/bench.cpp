// mapinverse bench: the seed paper's Tables 1-3 (§5) on Fashion-MNIST test images or on
// a folder of images with class labels (ImageNet-64 validation images, as in the paper).
//   Table 1: noiseless inpainting, MAP-GA and its three variants against PGDM.
//   Table 2: the same with the oracle start z = x0 + 0.5 eta, tau_n = 0.5.
//   Table 3: noisy inpainting, MAP-GA-PGDM and MAP-GA-PGDM(D) against PGDM.
// Each cell: PSNR, SSIM and the Frechet distance of the restorations' features to the
// reference set's (the shipped classifier's on Fashion-MNIST; FID with the user's
// Inception network), and LPIPS with the user's LPIPS network, as the paper reports.

#include "bench.hpp"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "bench_cell_cache.hpp"
#include "bench_evaluation.hpp"
#include "bench_report.hpp"
#include "limits.hpp"
#include "mapinverse/distributed/process_group.hpp"
#include "mapinverse/mapinverse.hpp"

namespace mapinverse::cli {

void BenchArguments::add_to(CLI::App& app) {
  app.add_flag("--quick", quick, "the small size: 6 images, MAP-GA 8x4, PGDM 40 steps");
  app.add_option("--images", images, "test images (the first N); default 6 quick, 50 full")
      ->check(CLI::Range(int64_t{2}, int64_t{10000}));
  app.add_option("--time-steps", time_steps, "MAP-GA time steps (default 8 quick, 20 full)")
      ->check(CLI::Range(int64_t{1}, kMaxTimeSteps));
  app.add_option("--iterations", iterations,
                 "MAP-GA iterations per step (default 4 quick, 10 full)")
      ->check(CLI::Range(int64_t{1}, kMaxIterations));
  app.add_option("--pgdm-steps", pgdm_steps, "PGDM steps (default 40 quick, 100 full)")
      ->check(CLI::Range(int64_t{1}, kMaxSteps));
  app.add_option("--batch", batch, "images solved together")
      ->check(CLI::Range(int64_t{1}, kMaxBatch))
      ->capture_default_str();
  app.add_option("--preset", preset,
                 "tuned: a row for the map-ga-tuned preset (PGDM, then MAP-GA from its "
                 "estimate; its own fixed budget) in Tables 1 and 3")
      ->check(CLI::IsMember({"tuned"}));
  app.add_option("--tables", tables, "which tables (1, 2, 3)")
      ->check(CLI::IsMember({1, 2, 3}))
      ->capture_default_str();
  app.add_option("--sigmas", sigmas, "Table 3 noise levels")->capture_default_str();
  app.add_option("--masks", masks, "masks")
      ->check(CLI::IsMember(paper_mask_names()))
      ->capture_default_str();
  app.add_option("--seed", seed, "seed of the noise and the solvers")
      ->check(unsigned_integer())
      ->capture_default_str();
  app.add_option("--out", out, "folder for results.json, tables.md and the figures")
      ->capture_default_str();
  app.add_option("--data", data, "Fashion-MNIST folder")->capture_default_str();
  app.add_option("--classifier", classifier, "classifier weights for the FD (default: shipped)");
  auto* input_dir_option =
      app.add_option("--input-dir", input_dir,
                     "a folder of PNG images instead of Fashion-MNIST (e.g. ImageNet-64 "
                     "validation images); the first --images are restored")
          ->check(CLI::ExistingDirectory);
  app.add_option("--labels", labels_file,
                 "class labels of --input-dir's images: \"NAME LABEL\" lines")
      ->check(CLI::ExistingFile)
      ->needs(input_dir_option);
  app.add_option("--features", features,
                 "TorchScript feature network for the Frechet distance (FID with an Inception "
                 "network): forward(x in [-1, 1]) -> [B, D]")
      ->check(CLI::ExistingFile);
  app.add_option("--lpips", lpips,
                 "TorchScript LPIPS network: forward(x, y in [-1, 1]) -> [B] distances")
      ->check(CLI::ExistingFile);
  app.add_flag("--quiet", quiet, "no progress bars");
  prior.add_to(app);
}

namespace {

/// The solvers of a table's rows, by registered name, each with its settings.
using Methods = std::vector<std::pair<std::string, SolverSettings>>;

/// What a seed is for; each image has its own seed per purpose and setting, so results
/// do not depend on how the images are batched or sharded.
enum class SeedPurpose : uint64_t { kMeasurementNoise = 1, kSolver = 2, kOracleStart = 3 };

uint64_t image_seed(uint64_t seed, SeedPurpose purpose, size_t mask_index, double sigma_y,
                    int64_t image) {
  return derive_seed(
      seed, {static_cast<uint64_t>(purpose), static_cast<uint64_t>(mask_index),
             static_cast<uint64_t>(std::llround(sigma_y * 1e6)), static_cast<uint64_t>(image)});
}

/// Standard normal noise shaped like `like` [N, ...], sample i drawn from seeds[i].
torch::Tensor per_image_noise(const torch::Tensor& like, const std::vector<uint64_t>& seeds) {
  NoiseSource noise(seeds);
  return noise.randn_like(like);
}

/// One table's setting: its noise level and, for Table 2, the oracle start images of
/// every test image (each batch's problem starts from its slice).
struct TableSetting {
  double sigma_y = 0.0;
  torch::Tensor start_image;
};

class Bench {
 public:
  Bench(const BenchArguments& arguments, const Prior& prior, const distributed::ProcessGroup& group)
      : arguments_(arguments),
        prior_(prior),
        group_(group),
        evaluation_(arguments, prior.device, group),
        cache_(arguments, prior.description + " " + prior.fingerprint, evaluation_.image_shape(),
               group.is_root()) {}

  size_t reused_cells() const { return cache_.reused(); }
  const Evaluation& evaluation() const { return evaluation_; }

  /// The prior must model the images, and have labels for them if it is conditional.
  void check_prior() const {
    const auto& images = evaluation_.originals();
    prior_.check_images(images.slice(0, 0, 1), arguments_.input_dir.empty()
                                                   ? "bench (Fashion-MNIST)"
                                                   : "--input-dir " + arguments_.input_dir);
    if (evaluation_.labels().defined()) {
      const auto labels = evaluation_.labels().cpu().contiguous();
      const auto* first = labels.data_ptr<int64_t>();
      prior_.labels_for(std::vector<int64_t>(first, first + labels.numel()), images.size(0),
                        "--labels");
    } else {
      require(!prior_.takes_labels,
              "bench: the prior is class-conditional; give --input-dir with --labels FILE");
    }
  }

  /// One table over every mask; `figure` collects the first image's restorations.
  Table run_table(int number, const std::string& title, const TableSetting& setting,
                  const Methods& methods, Figure* figure) {
    std::vector<std::shared_ptr<const Solver>> solvers;
    Table table{number, title, {}};
    if (figure != nullptr) figure->columns = {"truth", "measurement"};
    for (const auto& [name, settings] : methods) {
      solvers.push_back(make_solver(name, prior_.models, settings));
      table.rows.push_back({solvers.back()->name_at_noise(setting.sigma_y), setting.sigma_y, {}});
      if (figure != nullptr)
        figure->columns.push_back(solvers.back()->name_at_noise(setting.sigma_y));
    }
    const auto shape = evaluation_.image_shape();
    for (size_t m = 0; m < arguments_.masks.size(); ++m) {
      const auto& mask_name = arguments_.masks[m];
      const auto mask =
          paper_mask(parse_paper_mask(mask_name), shape[1], shape[2]).to(prior_.device);
      const auto forward_operator = std::make_shared<Inpainting>(mask);
      const auto problem_for = [&](int64_t first, int64_t count) {
        return problem(forward_operator, m, setting, first, count);
      };
      std::vector<torch::Tensor> tiles{evaluation_.originals()[0],
                                       problem_for(0, 1).measurement[0] + (1 - mask[0]) * -0.4};
      if (!arguments_.quiet) {
        fmt::print(stderr, "Table {} ({}), mask {}\n", number, title, mask_name);
      }
      for (size_t e = 0; e < solvers.size(); ++e) {
        auto& row = table.rows[e];
        const auto key = cache_.key(number, setting.sigma_y, mask_name, row.method);
        // Only rank 0 holds the cache; every rank learns from it whether to skip the cell.
        const auto cached = cache_.find(key);
        if (group_.broadcast_flag(cached.has_value())) {
          if (cached) {
            row.cells[mask_name] = cached->first;
            tiles.push_back(cached->second.to(prior_.device));
            cache_.count_reuse();
          }
          continue;
        }
        torch::Tensor restored;
        const auto cell = evaluation_.run(*solvers[e], problem_for, &restored);
        if (group_.is_root()) cache_.store(key, cell, restored[0]);
        row.cells[mask_name] = cell;
        tiles.push_back(restored[0]);
      }
      if (figure != nullptr && group_.is_root()) {
        figure->tiles.push_back(torch::stack(tiles).cpu());
        figure->rows.push_back(mask_name);
      }
    }
    return table;
  }

  /// Table 2's oracle starts for the first `count` test images: x0 + time eta.
  torch::Tensor oracle_start(double time) const {
    const auto& originals = evaluation_.originals();
    std::vector<uint64_t> seeds;
    for (int64_t i = 0; i < originals.size(0); ++i) {
      seeds.push_back(image_seed(arguments_.seed, SeedPurpose::kOracleStart, 0, 0.0, i));
    }
    return originals + time * per_image_noise(originals, seeds);
  }

 private:
  /// The problem of test images [first, first + count) under mask number `mask_index`.
  Problem problem(const std::shared_ptr<const Inpainting>& forward_operator, size_t mask_index,
                  const TableSetting& setting, int64_t first, int64_t count) const {
    const double sigma_y = setting.sigma_y;
    Problem problem;
    problem.forward_operator = forward_operator;
    std::vector<uint64_t> noise_seeds;
    for (int64_t i = first; i < first + count; ++i) {
      noise_seeds.push_back(
          image_seed(arguments_.seed, SeedPurpose::kMeasurementNoise, mask_index, sigma_y, i));
      problem.sample_seeds.push_back(
          image_seed(arguments_.seed, SeedPurpose::kSolver, mask_index, sigma_y, i));
    }
    const auto clean =
        forward_operator->apply(evaluation_.originals().slice(0, first, first + count));
    problem.measurement =
        clean + sigma_y * forward_operator->mask() * per_image_noise(clean, noise_seeds);
    problem.sigma_y = sigma_y;
    problem.image_shape = evaluation_.image_shape();
    if (evaluation_.labels().defined()) {
      problem.labels = evaluation_.labels().slice(0, first, first + count);
    }
    if (setting.start_image.defined()) {
      problem.start_image = setting.start_image.slice(0, first, first + count);
    }
    return problem;
  }

  const BenchArguments& arguments_;
  const Prior& prior_;
  const distributed::ProcessGroup& group_;
  Evaluation evaluation_;
  CellCache cache_;
};

/// Table 1's and 2's rows: MAP-GA's four variants, then PGDM.
Methods noiseless_methods(const BenchArguments& arguments, std::optional<double> t_max) {
  SolverSettings settings;
  settings.time_steps = arguments.time_steps;
  settings.iterations = arguments.iterations;
  settings.steps = arguments.pgdm_steps;
  settings.t_max = t_max;
  Methods methods;
  for (const auto* name : {"map-ga-d-np", "map-ga-d", "map-ga-np", "map-ga", "pgdm"}) {
    methods.emplace_back(name, settings);
  }
  // Table 2's oracle start replaces the preset's own warm start: no row there.
  if (arguments.preset == "tuned" && !t_max) methods.emplace_back("map-ga-tuned", SolverSettings{});
  return methods;
}

/// Table 3's rows: MAP-GA-PGDM(D) and MAP-GA-PGDM (with their own 20 PGDM steps), PGDM.
Methods noisy_methods(const BenchArguments& arguments) {
  SolverSettings settings;
  settings.time_steps = arguments.time_steps;
  settings.iterations = arguments.iterations;
  SolverSettings pgdm;
  pgdm.steps = arguments.pgdm_steps;
  Methods methods{{"map-ga-pgdm-d", settings}, {"map-ga-pgdm", settings}, {"pgdm", pgdm}};
  if (arguments.preset == "tuned") methods.emplace_back("map-ga-tuned", SolverSettings{});
  return methods;
}

void apply_size_defaults(BenchArguments& a) {
  if (a.images == 0) a.images = a.quick ? 6 : 50;
  if (a.time_steps == 0) a.time_steps = a.quick ? 8 : 20;
  if (a.iterations == 0) a.iterations = a.quick ? 4 : 10;
  if (a.pgdm_steps == 0) a.pgdm_steps = a.quick ? 40 : 100;
  for (const double sigma : a.sigmas) {
    require(std::isfinite(sigma) && sigma > 0.0, "--sigmas {}: expected values > 0", sigma);
  }
}

}  // namespace

int run_bench(BenchArguments arguments) {
  apply_size_defaults(arguments);
  const auto start = std::chrono::steady_clock::now();
  const auto folder = std::filesystem::path(arguments.out);
  // One process, or one rank of WORLD_SIZE (torchrun's variables): each rank solves its
  // block of the images; rank 0 reads and writes the outputs.
  const auto group = distributed::ProcessGroup::from_environment();
  if (group.is_root()) check_output_path("--out", (folder / "results.json").string(), {});
  if (!group.is_root()) arguments.quiet = true;
  if (group.size() > 1) {
    const auto shard = group.shard(arguments.images);
    fmt::print(stderr, "bench: rank {} of {}, test images {}-{}\n", group.rank(), group.size(),
               shard.begin, shard.end - 1);
  }
  const auto prior = load_prior(arguments.prior);
  Bench bench(arguments, prior, group);
  bench.check_prior();
  group.barrier();  // every rank has loaded its models and data: fail early, not after solving
  std::vector<Table> tables;
  Figures figures;
  for (const int number : arguments.tables) {
    if (number == 1) {
      tables.push_back(bench.run_table(1, "noiseless inpainting", {},
                                       noiseless_methods(arguments, std::nullopt),
                                       &figures["figure_noiseless.png"]));
    } else if (number == 2) {
      constexpr double kOracleTime = 0.5;
      tables.push_back(bench.run_table(
          2, "noiseless inpainting, oracle start x0 + 0.5 eta at tau = 0.5",
          {0.0, bench.oracle_start(kOracleTime)}, noiseless_methods(arguments, kOracleTime),
          &figures["figure_oracle.png"]));
    } else {
      for (const double sigma : arguments.sigmas) {
        const auto name = fmt::format("figure_noisy_sigma{}.png", sigma);
        tables.push_back(bench.run_table(3, fmt::format("noisy inpainting, σ_y = {}", sigma),
                                         {sigma, {}}, noisy_methods(arguments), &figures[name]));
      }
    }
  }

  if (!group.is_root()) {
    group.barrier();  // returns once rank 0 has written the results (or fails with it)
    return 0;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  write_results(
      arguments, tables, figures,
      {prior.description, bench.evaluation().source(), group.size(), seconds, bench.reused_cells(),
       bench.evaluation().has_frechet(), bench.evaluation().has_lpips()});
  group.barrier();
  return 0;
}

}  // namespace mapinverse::cli
