// The solver x problem matrix: every registered solver at its defaults on every image
// problem (the paper's masks, random masks, a mask PNG, pooling, blur) at three noise
// levels, next to the operator's non-learned restoration, and on Gaussian-mixture
// problems with exact posteriors; then the bar each cell must clear.
//
//   benchmark_problem_matrix [--reduced] [--out DIR] [--images FIRST:COUNT] [--solvers ...]
//                            [--fresh] [--check]
//
// Cells are appended to DIR/results.jsonl as they finish; a run on a folder that already
// holds results for the same settings skips the cells it has (resume after a stop).
// DIR/tables.md is written at the end. --check exits 1 if a cell misses the bar and is not
// listed, with its reason, in the known-failures file.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "cells.hpp"
#include "mapinverse/core/threads.hpp"
#include "mapinverse/io/atomic_write.hpp"
#include "mapinverse/io/idx.hpp"
#include "mapinverse/models/pretrained.hpp"
#include "report.hpp"

using namespace mapinverse;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

struct Settings {
  bool reduced = false;
  bool check = false;
  bool fresh = false;
  std::string out = "problem_matrix";
  std::string images = "300:20";
  std::string data = kFashionMnistDirectory;
  std::string mask_png = MAPINVERSE_MATRIX_MASK_PNG;
  std::vector<std::string> solvers;
  std::vector<std::string> problems;
  std::vector<double> noise_levels{0.0, 0.05, 0.1};
  bool mixtures = true;
  bool image_problems = true;
  std::string known_failures = MAPINVERSE_MATRIX_KNOWN_FAILURES;
  int threads = 2;
  double margin_db = 3.0;
};

std::pair<int64_t, int64_t> parse_range(const std::string& text) {
  const auto colon = text.find(':');
  require(colon != std::string::npos, "--images: expected FIRST:COUNT, got '{}'", text);
  return {std::stoll(text.substr(0, colon)), std::stoll(text.substr(colon + 1))};
}

// The results file: its first line records the settings; a resumed run must match them.
class ResultLog {
 public:
  ResultLog(const fs::path& path, const json& settings) : path_(path) {
    if (fs::exists(path)) {
      std::ifstream in(path);
      std::string line;
      std::getline(in, line);
      require(json::parse(line) == settings,
              "{} holds results for other settings ({}); choose another --out or remove it",
              path.string(), line);
      while (std::getline(in, line)) {
        if (!line.empty()) records_.push_back(json::parse(line));
      }
    } else {
      fs::create_directories(path.parent_path());
      append(settings, false);
    }
  }

  const json* find(const json& key) const {
    for (const auto& record : records_) {
      bool same = true;
      for (const auto& [field, value] : key.items())
        same = same && record.value(field, json()) == value;
      if (same) return &record;
    }
    return nullptr;
  }

  void add(const json& record) { append(record, true); }
  const std::vector<json>& records() const { return records_; }

 private:
  void append(const json& record, bool keep) {
    std::ofstream out(path_, std::ios::app);
    out << record.dump() << "\n";
    out.flush();
    require(out.good(), "cannot append to {}", path_.string());
    if (keep) records_.push_back(record);
  }

  fs::path path_;
  std::vector<json> records_;
};

// "21.37 dB", or the status of a cell that has no PSNR.
std::string outcome(const json& record) {
  if (record.at("status") == "ok" && record.contains("psnr")) {
    return fmt::format("{:.2f} dB", record.at("psnr").get<double>());
  }
  return record.at("status").get<std::string>();
}

// `base` with the fields of `extra` added.
json with(json base, const json& extra) {
  base.update(extra);
  return base;
}

// Runs `make()` for `key` unless the log has it, then logs key + result.
template <class Make>
void cell(ResultLog& log, const json& key, Make&& make) {
  if (log.find(key) != nullptr) return;
  const auto start = std::chrono::steady_clock::now();
  json record = make();
  record.update(key);
  log.add(record);
  fmt::print("{} {} {}: {} ({:.0f} s)\n", key.value("problem", ""), key.value("sigma_y", 0.0),
             key.value("solver", "baseline"), outcome(record),
             std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  std::fflush(stdout);
}

// Refuses --problems names the matrix does not have and noise levels that are not
// sigma_y >= 0, before anything is written.
void check_arguments(const Settings& settings) {
  for (const double sigma_y : settings.noise_levels) {
    require(std::isfinite(sigma_y) && sigma_y >= 0.0, "--noise: expected sigma_y >= 0, got {}",
            sigma_y);
  }
  const auto problems = matrix::image_problems(settings.mask_png, settings.reduced);
  for (const auto& name : settings.problems) {
    const bool known = std::any_of(problems.begin(), problems.end(),
                                   [&](const matrix::ImageProblem& p) { return p.name == name; });
    require(known, "--problems: unknown problem '{}'{}", name,
            settings.reduced ? " (the reduced matrix has random-30 and blur-1)" : "");
  }
}

void run_images(const Settings& settings, const std::vector<std::string>& solvers, ResultLog& log) {
  const auto [first, count] = parse_range(settings.images);
  const auto test = read_fashion_mnist(settings.data, FashionMnistSplit::kTest);
  const auto truth = test.images.slice(0, first, first + count);
  const PriorModels models{load_unet_denoiser(shipped_model_path(kDenoiserModelFile)),
                           load_unet_consistency(shipped_model_path(kConsistencyModelFile))};
  for (const auto& problem : matrix::image_problems(settings.mask_png, settings.reduced)) {
    const auto& wanted = settings.problems;
    if (!wanted.empty() && std::find(wanted.begin(), wanted.end(), problem.name) == wanted.end()) {
      continue;
    }
    for (const double sigma_y : settings.noise_levels) {
      const matrix::ImageCase image_case{&problem, sigma_y, truth, 1234};
      const json where{{"problem", problem.name}, {"sigma_y", sigma_y}};
      cell(log, with({{"kind", "baseline"}}, where),
           [&] { return matrix::run_image_baseline(image_case); });
      for (const auto& solver : solvers) {
        cell(log, with({{"kind", "image"}, {"solver", solver}}, where),
             [&] { return matrix::run_image_cell(solver, models, image_case); });
      }
    }
  }
}

void run_mixtures(const Settings& settings, const std::vector<std::string>& solvers,
                  ResultLog& log) {
  constexpr int64_t kDraws = 2000;
  const int64_t samples = settings.reduced ? 200 : 500;
  for (const auto& problem : matrix::mixture_problems(settings.reduced)) {
    torch::Tensor exact;
    const auto reference = matrix::mixture_reference(problem, kDraws, exact);
    cell(log, {{"kind", "mixture_reference"}, {"problem", problem.name}},
         [&] { return reference; });
    for (const auto& solver : solvers) {
      cell(log, {{"kind", "mixture"}, {"problem", problem.name}, {"solver", solver}},
           [&] { return matrix::run_mixture_cell(solver, problem, exact, samples); });
    }
  }
}

// The registered solvers that have cells in `records`, in the registry's order.
std::vector<std::string> solvers_in(const std::vector<json>& records) {
  std::vector<std::string> present;
  for (const auto& name : solver_names()) {
    const bool found = std::any_of(records.begin(), records.end(), [&](const json& record) {
      return record.value("solver", std::string()) == name;
    });
    if (found) present.push_back(name);
  }
  return present;
}

}  // namespace

int main(int argc, char** argv) {
  Settings settings;
  CLI::App app{"Every registered solver at its defaults on every problem, against baselines"};
  app.add_flag("--reduced", settings.reduced,
               "4 images, 2 image problems, sigma_y 0 and 0.1, one mixture problem (the test)");
  app.add_flag("--check", settings.check,
               "exit 1 if a cell misses the bar and is not among the known failures");
  app.add_flag("--fresh", settings.fresh,
               "start DIR/results.jsonl anew, dropping the results it holds (default: resume)");
  app.add_option("--out", settings.out, "folder for results.jsonl and tables.md")
      ->capture_default_str();
  app.add_option("--images", settings.images, "Fashion-MNIST test images FIRST:COUNT")
      ->capture_default_str();
  app.add_option("--data", settings.data, "Fashion-MNIST folder")->capture_default_str();
  app.add_option("--solvers", settings.solvers, "only these solvers (default: every one)");
  app.add_option("--problems", settings.problems, "only these image problems (default: all)");
  app.add_option("--noise", settings.noise_levels, "the sigma_y of the image problems")
      ->capture_default_str();
  app.add_flag("!--no-mixtures", settings.mixtures, "leave out the Gaussian-mixture problems");
  app.add_flag("!--no-images", settings.image_problems, "leave out the image problems");
  app.add_option("--known-failures", settings.known_failures,
                 "cells that miss the bar for a stated reason (docs/problem-matrix.md)")
      ->capture_default_str();
  app.add_option("--threads", settings.threads, "LibTorch intra-op threads")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  try {
    if (settings.reduced && app.count("--images") == 0) settings.images = "300:4";
    set_thread_count(settings.threads);
    const auto solvers = settings.solvers.empty() ? solver_names() : settings.solvers;
    for (const auto& solver : solvers) {
      require(is_solver_name(solver), "--solvers: unknown solver '{}'; expected one of {}", solver,
              fmt::join(solver_names(), ", "));
    }
    // Runs with other --solvers may share the folder: each adds its solvers' cells.
    const json recorded{
        {"kind", "settings"}, {"images", settings.images}, {"reduced", settings.reduced}};
    check_arguments(settings);
    const auto known = matrix::read_known_failures(settings.known_failures);
    const auto results = fs::path(settings.out) / "results.jsonl";
    if (settings.fresh) fs::remove(results);
    ResultLog log(results, recorded);
    fmt::print("problem matrix: images {}, {} solvers, {} threads{}\n", settings.images,
               solvers.size(), settings.threads, settings.reduced ? " (reduced)" : "");
    if (settings.image_problems) run_images(settings, solvers, log);
    if (settings.mixtures) run_mixtures(settings, solvers, log);
    const auto failures = matrix::check_bar(log.records(), solver_names(), settings.margin_db);
    const auto unexplained = matrix::unexplained(failures, known);
    write_file_atomically(
        (fs::path(settings.out) / "tables.md").string(),
        matrix::markdown_tables(log.records(), solvers_in(log.records()), failures, known));
    fmt::print(
        "problem matrix: {} cells, {} below the bar, {} of them not among the known "
        "failures ({})\n",
        log.records().size(), failures.size(), unexplained.size(), settings.known_failures);
    for (const auto& failure : failures) {
      const bool listed = known.count(failure.cell) > 0;
      fmt::print("  {}{}: {}\n", listed ? "(known) " : "", failure.cell, failure.reason);
    }
    return settings.check && !unexplained.empty() ? 1 : 0;
  } catch (const std::exception& error) {
    fmt::print(stderr, "benchmark_problem_matrix: {}\n", error.what());
    return 2;
  }
}
