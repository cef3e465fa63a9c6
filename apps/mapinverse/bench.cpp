// mapinverse bench: the seed paper's Tables 1-3 (§5) on Fashion-MNIST test images.
//   Table 1: noiseless inpainting, MAP-GA and its three variants against PGDM.
//   Table 2: the same with the oracle start z = x0 + 0.5 eta, tau_n = 0.5.
//   Table 3: noisy inpainting, MAP-GA-PGDM and MAP-GA-PGDM(D) against PGDM.
// Each cell: PSNR, SSIM and the Frechet distance of the restorations' classifier
// features to the test set's (the paper reports FID and LPIPS on ImageNet 64).

#include "bench.hpp"

#include <chrono>
#include <cmath>
#include <functional>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "mapinverse/distributed/process_group.hpp"
#include "mapinverse/mapinverse.hpp"

namespace mapinverse::cli {

void BenchArguments::add_to(CLI::App& app) {
  app.add_flag("--quick", quick, "the small size: 6 images, MAP-GA 8x4, PGDM 40 steps");
  app.add_option("--images", images, "test images (the first N); default 6 quick, 50 full")
      ->check(CLI::Range(int64_t{2}, int64_t{10000}));
  app.add_option("--time-steps", time_steps, "MAP-GA time steps (default 8 quick, 20 full)")
      ->check(CLI::PositiveNumber);
  app.add_option("--iterations", iterations, "MAP-GA iterations per step (default 4 quick, 10 full)")
      ->check(CLI::PositiveNumber);
  app.add_option("--pgdm-steps", pgdm_steps, "PGDM steps (default 40 quick, 100 full)")
      ->check(CLI::PositiveNumber);
  app.add_option("--batch", batch, "images solved together")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--tables", tables, "which tables (1, 2, 3)")
      ->check(CLI::IsMember({1, 2, 3}))
      ->capture_default_str();
  app.add_option("--sigmas", sigmas, "Table 3 noise levels")->capture_default_str();
  app.add_option("--masks", masks, "masks")
      ->check(CLI::IsMember({"box50", "half", "expand", "box25", "sr2x", "alllines"}))
      ->capture_default_str();
  app.add_option("--seed", seed, "seed of the noise and the solvers")->capture_default_str();
  app.add_option("--out", out, "folder for results.json, tables.md and the figures")
      ->capture_default_str();
  app.add_option("--data", data, "Fashion-MNIST folder")->capture_default_str();
  app.add_option("--classifier", classifier, "classifier weights for the FD (default: shipped)");
  app.add_flag("--quiet", quiet, "no progress bars");
  prior.add_to(app);
}

namespace {

struct Cell {
  double psnr = 0.0;
  double ssim = 0.0;
  double frechet = 0.0;
  double network_calls_per_image = 0.0;
  double seconds = 0.0;
};

struct Row {
  std::string method;
  std::optional<double> sigma_y;
  std::map<std::string, Cell> cells;  // by mask
};

struct Table {
  int number = 0;
  std::string title;
  std::vector<Row> rows;
};

/// A solver as it appears in a table; `solver_for(first, count)` gives the solver of a
/// batch of images (solvers with an oracle start differ per batch).
struct Entry {
  std::string method;
  std::function<std::shared_ptr<const Solver>(int64_t, int64_t)> solver_for;
};

Entry fixed_entry(std::shared_ptr<const Solver> solver) {
  auto name = solver->name();
  return {name, [solver](int64_t, int64_t) { return solver; }};
}

class Evaluation {
 public:
  Evaluation(const BenchArguments& arguments, const torch::Device& device,
             const distributed::ProcessGroup& group)
      : arguments_(arguments),
        group_(group),
        classifier_(load_classifier(arguments.classifier.empty()
                                        ? shipped_model_path(kClassifierModelFile).string()
                                        : arguments.classifier,
                                    device)) {
    const auto test = read_fashion_mnist(arguments.data, FashionMnistSplit::kTest);
    test_features_ = features(test.images.to(device));
    originals_ = test.images.slice(0, 0, arguments.images).to(device);
  }

  const torch::Tensor& originals() const { return originals_; }

  /// Solves this rank's shard of the images with `entry` in batches, scores them, and
  /// gathers every image's scores and restoration from all ranks (in image order), so
  /// the cell's means and Frechet distance are the same for any number of ranks.
  Cell run(const Entry& entry, const std::function<Problem(int64_t, int64_t)>& problem_for,
           torch::Tensor* restored) const {
    const auto shard = group_.shard(arguments_.images);
    std::vector<torch::Tensor> parts;
    std::vector<double> calls_per_image;
    const auto start = std::chrono::steady_clock::now();
    for (int64_t first = shard.begin; first < shard.end; first += arguments_.batch) {
      const int64_t count = std::min(arguments_.batch, shard.end - first);
      std::vector<IterationCallback> callbacks;
      if (!arguments_.quiet) {
        callbacks.push_back(progress_bar(fmt::format("  {} [{}-{}]", entry.method, first,
                                                     first + count - 1)));
      }
      const auto summary = entry.solver_for(first, count)->solve(problem_for(first, count), callbacks);
      calls_per_image.insert(calls_per_image.end(), count,
                             static_cast<double>(summary.network_evaluations()));
      parts.push_back(summary.estimate.detach().clamp(-1.0, 1.0).to(torch::kFloat64));
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const auto rows = group_.gather_shards(score(parts, calls_per_image, shard), arguments_.images);
    Cell cell;
    cell.seconds = group_.max(seconds);  // the cell is done when its slowest rank is
    cell.psnr = rows.select(1, kPsnrColumn).mean().item<double>();
    cell.ssim = rows.select(1, kSsimColumn).mean().item<double>();
    cell.network_calls_per_image = rows.select(1, kCallsColumn).mean().item<double>();
    cell.frechet = frechet_distance(rows.slice(1, kFeatureColumn, kImageColumn), test_features_);
    *restored = rows.slice(1, kImageColumn).view({-1, 1, 28, 28}).to(originals_.options());
    return cell;
  }

 private:
  // One row per image: PSNR, SSIM, network calls, classifier features, the restoration.
  static constexpr int64_t kPsnrColumn = 0, kSsimColumn = 1, kCallsColumn = 2, kFeatureColumn = 3;
  static constexpr int64_t kImageColumn = kFeatureColumn + FashionClassifierImpl::kFeatureDimension;

  torch::Tensor score(const std::vector<torch::Tensor>& parts,
                      const std::vector<double>& calls_per_image,
                      const distributed::Shard& shard) const {
    if (parts.empty()) return torch::empty({0, kImageColumn + 28 * 28}, torch::kFloat64);
    const auto estimate = torch::cat(parts);
    const auto originals = originals_.slice(0, shard.begin, shard.end).to(torch::kFloat64);
    return torch::cat({psnr(estimate, originals).cpu().unsqueeze(1),
                       ssim(estimate, originals).cpu().unsqueeze(1),
                       torch::tensor(calls_per_image, torch::kFloat64).unsqueeze(1),
                       features(estimate), estimate.cpu().flatten(1)},
                      1);
  }

  torch::Tensor features(const torch::Tensor& images) const {
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> parts;
    for (int64_t i = 0; i < images.size(0); i += 1000) {
      parts.push_back(classifier_->features(images.slice(0, i, i + 1000).to(torch::kFloat32)));
    }
    return torch::cat(parts).to(torch::kFloat64).cpu();
  }

  const BenchArguments& arguments_;
  const distributed::ProcessGroup& group_;
  mutable FashionClassifier classifier_;
  torch::Tensor test_features_;
  torch::Tensor originals_;
};

MapGa::Options map_ga_options(const BenchArguments& arguments, bool use_prior,
                              ConsistencySource source) {
  MapGa::Options options;
  options.num_time_steps = arguments.time_steps;
  options.num_iter = arguments.iterations;
  options.use_prior = use_prior;
  options.consistency_source = source;
  return options;
}

/// MAP-GA's four variants (Table 1's rows), optionally with the oracle start (one
/// image per test image; each batch's solver starts from its slice).
std::vector<Entry> map_ga_entries(const BenchArguments& arguments, const PriorModels& models,
                                  const torch::Tensor& start_image, double start_time) {
  std::vector<Entry> entries;
  for (const auto source : {ConsistencySource::kDenoiser, ConsistencySource::kConsistencyModel}) {
    for (const bool use_prior : {false, true}) {
      const auto options = map_ga_options(arguments, use_prior, source);
      const auto name = MapGa(models, options).name();
      if (!start_image.defined()) {
        entries.push_back(fixed_entry(std::make_shared<MapGa>(models, options)));
        continue;
      }
      entries.push_back({name, [=](int64_t first, int64_t count) {
                           auto oracle = options;
                           oracle.start_image = start_image.slice(0, first, first + count);
                           oracle.t_max = start_time;
                           return std::make_shared<const MapGa>(models, oracle);
                         }});
    }
  }
  return entries;
}

Entry pgdm_entry(const BenchArguments& arguments, const PriorModels& models,
                 const torch::Tensor& start_image, double start_time) {
  Pgdm::Options options;
  options.schedule.num_steps = arguments.pgdm_steps;
  if (!start_image.defined()) return fixed_entry(std::make_shared<Pgdm>(models, options));
  return {"PGDM", [=](int64_t first, int64_t count) {
            auto oracle = options;
            oracle.start_image = start_image.slice(0, first, first + count);
            oracle.schedule.t_max = start_time;
            return std::make_shared<const Pgdm>(models, oracle);
          }};
}

std::vector<Entry> noisy_entries(const BenchArguments& arguments, const PriorModels& models) {
  std::vector<Entry> entries;
  for (const auto source : {ConsistencySource::kDenoiser, ConsistencySource::kConsistencyModel}) {
    MapGaPgdm::Options options;
    options.num_time_steps = arguments.time_steps;
    options.num_iter = arguments.iterations;
    options.consistency_source = source;
    entries.push_back(fixed_entry(std::make_shared<MapGaPgdm>(models, options)));
  }
  entries.push_back(pgdm_entry(arguments, models, torch::Tensor(), 0.0));
  return entries;
}

/// Finished cells of an interrupted run, in <out>/cells.json: rerunning the same command
/// skips them. A cell's key holds every setting that changes its numbers.
class CellCache {
 public:
  /// A cache that is not `active` (ranks other than 0) holds nothing.
  CellCache(const BenchArguments& arguments, const std::string& prior, bool active)
      : path_((std::filesystem::path(arguments.out) / "cells.json").string()),
        settings_(fmt::format("images={} steps={}x{} pgdm={} seed={} prior={}", arguments.images,
                              arguments.time_steps, arguments.iterations, arguments.pgdm_steps,
                              arguments.seed, prior)) {
    if (!active || !std::filesystem::exists(path_)) return;
    try {
      std::ifstream in(path_);
      cells_ = nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception& error) {
      throw std::invalid_argument(fmt::format(
          "{}: not a readable cell cache ({}); remove it to start afresh", path_, error.what()));
    }
  }

  std::string key(int table, double sigma_y, const std::string& mask,
                  const std::string& method) const {
    return fmt::format("table={} sigma_y={} mask={} method={} {}", table, sigma_y, mask, method,
                       settings_);
  }

  /// The cell and the first image's restoration, if this run or an earlier one made it.
  std::optional<std::pair<Cell, torch::Tensor>> find(const std::string& key) const {
    if (!cells_.contains(key)) return std::nullopt;
    const auto& j = cells_[key];
    Cell cell{j["psnr_db"], j["ssim"], j["frechet_distance"], j["nfe_per_image"], j["seconds"]};
    const auto tile = torch::tensor(j["first_image"].get<std::vector<float>>()).view({1, 28, 28});
    return std::pair{cell, tile};
  }

  void store(const std::string& key, const Cell& cell, const torch::Tensor& first_image) {
    const auto flat = first_image.detach().cpu().to(torch::kFloat32).contiguous().view({-1});
    cells_[key] = {{"psnr_db", cell.psnr},
                   {"ssim", cell.ssim},
                   {"frechet_distance", cell.frechet},
                   {"nfe_per_image", cell.network_calls_per_image},
                   {"seconds", cell.seconds},
                   {"first_image", std::vector<float>(flat.data_ptr<float>(),
                                                      flat.data_ptr<float>() + flat.numel())}};
    std::filesystem::create_directories(std::filesystem::path(path_).parent_path());
    write_text_atomically(path_, cells_.dump() + "\n");
  }

  size_t reused() const { return reused_; }
  void count_reuse() { ++reused_; }

 private:
  std::string path_;
  std::string settings_;
  nlohmann::json cells_ = nlohmann::json::object();
  size_t reused_ = 0;
};

/// What a seed is for; each image has its own seed per purpose and setting, so results
/// do not depend on how the images are batched or sharded.
enum class SeedPurpose : uint64_t { kMeasurementNoise = 1, kSolver = 2, kOracleStart = 3 };

uint64_t image_seed(uint64_t seed, SeedPurpose purpose, size_t mask_index, double sigma_y,
                    int64_t image) {
  return derive_seed(seed, {static_cast<uint64_t>(purpose), static_cast<uint64_t>(mask_index),
                            static_cast<uint64_t>(std::llround(sigma_y * 1e6)),
                            static_cast<uint64_t>(image)});
}

/// Standard normal noise shaped like `like` [N, ...], sample i drawn from seeds[i].
torch::Tensor per_image_noise(const torch::Tensor& like, const std::vector<uint64_t>& seeds) {
  NoiseSource noise(seeds);
  return noise.randn_like(like);
}

class Bench {
 public:
  Bench(const BenchArguments& arguments, const Prior& prior, const distributed::ProcessGroup& group)
      : arguments_(arguments),
        prior_(prior),
        group_(group),
        evaluation_(arguments, prior.device, group),
        cache_(arguments, prior.description + " " + prior.fingerprint, group.is_root()) {}

  size_t reused_cells() const { return cache_.reused(); }

  /// One table over every mask; `figure_row` collects the first image's restorations.
  Table run_table(int number, const std::string& title, double sigma_y,
                  const std::vector<Entry>& entries, std::vector<torch::Tensor>* figure) {
    Table table{number, title, {}};
    for (const auto& entry : entries) table.rows.push_back({entry.method, sigma_y, {}});
    for (size_t m = 0; m < arguments_.masks.size(); ++m) {
      const auto& mask_name = arguments_.masks[m];
      const auto mask = paper_mask(parse_paper_mask(mask_name), 28, 28).to(prior_.device);
      const auto forward_operator = std::make_shared<Inpainting>(mask);
      const auto problem_for = [&](int64_t first, int64_t count) {
        Problem problem;
        problem.forward_operator = forward_operator;
        const auto originals = evaluation_.originals().slice(0, first, first + count);
        std::vector<uint64_t> noise_seeds;
        for (int64_t i = first; i < first + count; ++i) {
          noise_seeds.push_back(image_seed(arguments_.seed, SeedPurpose::kMeasurementNoise, m, sigma_y, i));
          problem.sample_seeds.push_back(image_seed(arguments_.seed, SeedPurpose::kSolver, m, sigma_y, i));
        }
        const auto clean = forward_operator->apply(originals);
        problem.measurement = clean + sigma_y * mask * per_image_noise(clean, noise_seeds);
        problem.sigma_y = sigma_y;
        problem.image_shape = {1, 28, 28};
        return problem;
      };
      const auto originals = evaluation_.originals();
      std::vector<torch::Tensor> tiles{originals[0], problem_for(0, 1).measurement[0] +
                                                         (1 - mask[0]) * -0.4};
      if (!arguments_.quiet) fmt::print(stderr, "Table {} ({}), mask {}\n", number, title, mask_name);
      for (size_t e = 0; e < entries.size(); ++e) {
        const auto key = cache_.key(number, sigma_y, mask_name, entries[e].method);
        // Only rank 0 holds the cache; every rank learns from it whether to skip the cell.
        const auto cached = cache_.find(key);
        if (group_.broadcast_flag(cached.has_value())) {
          if (cached) {
            table.rows[e].cells[mask_name] = cached->first;
            tiles.push_back(cached->second.to(prior_.device));
            cache_.count_reuse();
          }
          continue;
        }
        torch::Tensor restored;
        const auto cell = evaluation_.run(entries[e], problem_for, &restored);
        if (group_.is_root()) cache_.store(key, cell, restored[0]);
        table.rows[e].cells[mask_name] = cell;
        tiles.push_back(restored[0]);
      }
      if (figure != nullptr && group_.is_root()) figure->push_back(torch::stack(tiles).cpu());
    }
    return table;
  }

  /// Table 2's oracle starts for the first `count` test images: x0 + 0.5 eta.
  torch::Tensor oracle_start(double time) const {
    const auto& originals = evaluation_.originals();
    std::vector<uint64_t> seeds;
    for (int64_t i = 0; i < originals.size(0); ++i) {
      seeds.push_back(image_seed(arguments_.seed, SeedPurpose::kOracleStart, 0, 0.0, i));
    }
    return originals + time * per_image_noise(originals, seeds);
  }

 private:
  const BenchArguments& arguments_;
  const Prior& prior_;
  const distributed::ProcessGroup& group_;
  Evaluation evaluation_;
  CellCache cache_;
};

std::string format_table(const Table& table, const std::vector<std::string>& masks) {
  std::string text = fmt::format("### Table {}: {}\n\n| method |{}", table.number, table.title,
                                 table.rows.front().sigma_y.value_or(0.0) > 0.0 ? " σ_y |" : "");
  for (const auto& mask : masks) text += fmt::format(" {} PSNR / SSIM / FD |", mask);
  text += " NFE per image |\n|---|";
  if (table.rows.front().sigma_y.value_or(0.0) > 0.0) text += "---|";
  for (size_t i = 0; i < masks.size(); ++i) text += "---|";
  text += "---|\n";
  for (const auto& row : table.rows) {
    text += fmt::format("| {} |", row.method);
    if (row.sigma_y.value_or(0.0) > 0.0) text += fmt::format(" {} |", *row.sigma_y);
    double calls = 0.0;
    for (const auto& mask : masks) {
      const auto& cell = row.cells.at(mask);
      text += fmt::format(" {:.2f} / {:.3f} / {:.1f} |", cell.psnr, cell.ssim, cell.frechet);
      calls = cell.network_calls_per_image;
    }
    text += fmt::format(" {:.0f} |\n", calls);
  }
  return text + "\n";
}

nlohmann::json to_json(const Table& table) {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& row : table.rows) {
    nlohmann::json cells;
    for (const auto& [mask, cell] : row.cells) {
      cells[mask] = {{"psnr_db", cell.psnr},
                     {"ssim", cell.ssim},
                     {"frechet_distance", cell.frechet},
                     {"nfe_per_image", cell.network_calls_per_image},
                     {"seconds", cell.seconds}};
    }
    rows.push_back({{"method", row.method}, {"sigma_y", row.sigma_y.value_or(0.0)}, {"masks", cells}});
  }
  return {{"table", table.number}, {"title", table.title}, {"rows", rows}};
}

/// Rows of tiles as one PNG, each pixel drawn as a 3x3 block so 28x28 tiles stay legible.
void write_figure(const std::string& path, const std::vector<torch::Tensor>& rows) {
  constexpr int64_t kZoom = 3;
  const auto tiles = torch::cat(rows).repeat_interleave(kZoom, 2).repeat_interleave(kZoom, 3);
  write_png(path, make_grid(to_unit_range(tiles), rows.front().size(0), 4));
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
  if (group.is_root()) check_output_path((folder / "results.json").string(), {});
  if (!group.is_root()) arguments.quiet = true;
  if (group.size() > 1) {
    const auto shard = group.shard(arguments.images);
    fmt::print(stderr, "bench: rank {} of {}, test images {}-{}\n", group.rank(), group.size(),
               shard.begin, shard.end - 1);
  }
  const auto prior = load_prior(arguments.prior);
  require(prior.image_shape == std::vector<int64_t>{1, 28, 28},
                  "bench: runs on Fashion-MNIST and needs a prior of 1x28x28 images");

  Bench bench(arguments, prior, group);
  group.barrier();  // every rank has loaded its models and data: fail early, not after solving
  std::vector<Table> tables;
  std::map<std::string, std::vector<torch::Tensor>> figures;
  for (const int number : arguments.tables) {
    if (number == 1) {
      auto entries = map_ga_entries(arguments, prior.models, torch::Tensor(), 0.0);
      entries.push_back(pgdm_entry(arguments, prior.models, torch::Tensor(), 0.0));
      tables.push_back(bench.run_table(1, "noiseless inpainting", 0.0, entries,
                                       &figures["figure_noiseless.png"]));
    } else if (number == 2) {
      constexpr double kOracleTime = 0.5;
      const auto start_image = bench.oracle_start(kOracleTime);
      auto entries = map_ga_entries(arguments, prior.models, start_image, kOracleTime);
      entries.push_back(pgdm_entry(arguments, prior.models, start_image, kOracleTime));
      tables.push_back(bench.run_table(
          2, "noiseless inpainting, oracle start x0 + 0.5 eta at tau = 0.5", 0.0, entries,
          &figures["figure_oracle.png"]));
    } else {
      for (const double sigma : arguments.sigmas) {
        const auto name = fmt::format("figure_noisy_sigma{}.png", sigma);
        tables.push_back(bench.run_table(3, fmt::format("noisy inpainting, σ_y = {}", sigma), sigma,
                                         noisy_entries(arguments, prior.models), &figures[name]));
      }
    }
  }

  if (!group.is_root()) {
    group.barrier();  // returns once rank 0 has written the results (or fails with it)
    return 0;
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  double solver_seconds = 0.0;  // over all cells, also those of earlier runs
  for (const auto& table : tables) {
    for (const auto& row : table.rows) {
      for (const auto& [mask, cell] : row.cells) solver_seconds += cell.seconds;
    }
  }
  std::string markdown = fmt::format(
      "Fashion-MNIST test images 0-{}, {}; MAP-GA {} x {}, PGDM {} steps, MAP-GA-PGDM's PGDM "
      "stage 20 steps; {} LibTorch thread(s){}; solver time {:.0f} s; {:.0f} s in this run{}.\n\n",
      arguments.images - 1, prior.description, arguments.time_steps, arguments.iterations,
      arguments.pgdm_steps, at::get_num_threads(),
      group.size() > 1 ? fmt::format(" in each of {} ranks", group.size()) : "", solver_seconds,
      seconds,
      bench.reused_cells() > 0
          ? fmt::format(" ({} cells taken from an earlier run's cells.json)", bench.reused_cells())
          : "");
  nlohmann::json document{{"images", arguments.images},
                          {"map_ga_time_steps", arguments.time_steps},
                          {"map_ga_iterations", arguments.iterations},
                          {"pgdm_steps", arguments.pgdm_steps},
                          {"threads", at::get_num_threads()},
                          {"ranks", group.size()},
                          {"seconds", seconds},
                          {"solver_seconds", solver_seconds},
                          {"prior", prior.description},
                          {"tables", nlohmann::json::array()}};
  for (const auto& table : tables) {
    markdown += format_table(table, arguments.masks);
    document["tables"].push_back(to_json(table));
  }
  std::filesystem::create_directories(folder);
  for (const auto& [name, rows] : figures) write_figure((folder / name).string(), rows);
  write_text_atomically((folder / "tables.md").string(), markdown);
  write_text_atomically((folder / "results.json").string(), document.dump(2) + "\n");
  fmt::print("{}", markdown);
  fmt::print("wrote {}/results.json, tables.md and figures (rows: masks; columns: original, "
             "masked, then the methods in table order)\n",
             folder.string());
  group.barrier();
  return 0;
}

}  // namespace mapinverse::cli
