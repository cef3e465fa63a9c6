// Quality per network call: PSNR of Fashion-MNIST test images restored under box50 and
// half, against the number of network evaluations (forwards + VJPs) per image, for
// MAP-GA over the seed's (num_time_steps, num_iter) ablation set and for PGDM and DPS
// over their step counts. Prints a table, writes JSON and a plot PNG (one panel per
// mask; x: NFE per image on a log scale, y: PSNR).
//
//   benchmark_quality_per_nfe [--images 8] [--threads 1] [--json FILE] [--plot FILE]
//                             [--quick]

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <cmath>
#include <iostream>
#include <map>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <torch/torch.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "mapinverse/core/threads.hpp"
#include "figure_text.hpp"
#include "mapinverse/mapinverse.hpp"

using namespace mapinverse;

namespace {

struct Settings {
  int64_t images = 8;
  int threads = 1;
  bool quick = false;
  std::vector<std::string> masks{"box50", "half"};
  std::string json_path;
  std::string plot_path;
};

struct Point {
  std::string family;  // MAP-GA, PGDM or DPS
  std::string setting;
  double nfe_per_image = 0.0;
  double psnr = 0.0;
  double ssim = 0.0;
  double seconds = 0.0;
};

/// The seed's ablation set (paper §5): every pair has n x k = 1000 iterations.
std::vector<std::pair<int64_t, int64_t>> map_ga_budgets(bool quick) {
  if (quick) return {{5, 4}, {10, 2}, {20, 1}};
  return {{20, 50}, {50, 20}, {100, 10}, {200, 5}, {250, 4}, {500, 2}, {1000, 1}};
}

std::vector<int64_t> pgdm_steps(bool quick) {
  if (quick) return {10, 20};
  return {20, 50, 100, 200, 500};
}

std::vector<int64_t> dps_steps(bool quick) {
  if (quick) return {10, 20};
  return {50, 100, 200, 500, 1000};
}

Point measure(const std::string& mask, const std::string& family, const std::string& setting,
              const Solver& solver, const Problem& problem, const torch::Tensor& originals) {
  const auto start = std::chrono::steady_clock::now();
  const auto summary = solver.solve(problem);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const auto estimate = summary.estimate.clamp(-1.0, 1.0);
  Point point{family,
              setting,
              static_cast<double>(summary.network_evaluations()),
              psnr(estimate, originals).mean().item<double>(),
              ssim(estimate, originals).mean().item<double>(),
              seconds};
  fmt::print("| {} | {} | {} | {:.0f} | {:.2f} | {:.3f} | {:.1f} |\n", mask, family, setting,
             point.nfe_per_image, point.psnr, point.ssim, seconds);
  std::fflush(stdout);
  return point;
}

std::vector<Point> run_mask(const Settings& settings, const PriorModels& models,
                            const std::string& mask, const torch::Tensor& originals) {
  Problem problem;
  problem.forward_operator =
      std::make_shared<Inpainting>(paper_mask(parse_paper_mask(mask), 28, 28));
  problem.measurement = problem.forward_operator->apply(originals);
  problem.image_shape = {1, 28, 28};
  for (int64_t i = 0; i < originals.size(0); ++i) problem.sample_seeds.push_back(1000 + i);

  std::vector<Point> points;
  const auto add = [&](const char* family, const char* name, const std::string& setting,
                       const SolverSettings& settings) {
    points.push_back(
        measure(mask, family, setting, *make_solver(name, models, settings), problem, originals));
  };
  for (const auto& [steps, iterations] : map_ga_budgets(settings.quick)) {
    SolverSettings budget;
    budget.time_steps = steps;
    budget.iterations = iterations;
    add("MAP-GA", "map-ga", fmt::format("({}, {})", steps, iterations), budget);
  }
  for (const auto& [family, name, step_counts] :
       {std::tuple{"PGDM", "pgdm", pgdm_steps(settings.quick)},
        std::tuple{"DPS", "dps", dps_steps(settings.quick)}}) {
    for (const auto steps : step_counts) {
      SolverSettings budget;
      budget.steps = steps;
      add(family, name, fmt::format("{} steps", steps), budget);
    }
  }
  return points;
}

// ---- A small raster plot: axes, log-x grid, one polyline with markers per family. ----

struct Canvas {
  int64_t width;
  int64_t height;
  torch::Tensor pixels;  // [3, H, W] in [0, 1]

  Canvas(int64_t w, int64_t h) : width(w), height(h), pixels(torch::ones({3, h, w})) {}

  void dot(int64_t x, int64_t y, const std::array<float, 3>& colour, int64_t radius = 0) {
    for (int64_t dy = -radius; dy <= radius; ++dy) {
      for (int64_t dx = -radius; dx <= radius; ++dx) {
        const int64_t px = x + dx;
        const int64_t py = y + dy;
        if (px < 0 || py < 0 || px >= width || py >= height) continue;
        for (int64_t c = 0; c < 3; ++c) pixels[c][py][px] = colour[static_cast<size_t>(c)];
      }
    }
  }

  /// `text` in the tool's 5x7 bitmap font (cli::render_text) with the top-left corner of
  /// its glyphs at (x, y).
  void text(int64_t x, int64_t y, const std::string& text, const std::array<float, 3>& colour) {
    const auto ink = cli::render_text(text)[0];
    const auto pixels = ink.accessor<float, 2>();
    for (int64_t row = 1; row < ink.size(0); ++row) {  // row 0 is the space above
      for (int64_t column = 0; column < ink.size(1); ++column) {
        if (pixels[row][column] > 0.5F) dot(x + column, y + row - 1, colour);
      }
    }
  }

  static int64_t text_width(const std::string& text) {
    return 6 * static_cast<int64_t>(text.size());
  }

  void line(double x0, double y0, double x1, double y1, const std::array<float, 3>& colour,
            int64_t radius = 0) {
    const auto steps = static_cast<int64_t>(std::max(std::abs(x1 - x0), std::abs(y1 - y0))) + 1;
    for (int64_t i = 0; i <= steps; ++i) {
      const double f = static_cast<double>(i) / static_cast<double>(steps);
      dot(std::lround(x0 + f * (x1 - x0)), std::lround(y0 + f * (y1 - y0)), colour, radius);
    }
  }
};

/// One panel per mask: x = log10(NFE), y = PSNR; MAP-GA blue, PGDM orange, DPS green.
/// Grid lines at each power of ten (x) and every 2 dB (y); panels share the y range.
void write_plot(const std::string& path, const std::map<std::string, std::vector<Point>>& panels) {
  constexpr int64_t kPanel = 360;
  constexpr int64_t kMargin = 30;
  constexpr int64_t kLeftMargin = 50;    // y tick values and the y label
  constexpr int64_t kBottomMargin = 45;  // x tick values, the x label and the legend
  double low = 1e9, high = -1e9, nfe_low = 1e9, nfe_high = 1.0;
  for (const auto& [mask, points] : panels) {
    for (const auto& p : points) {
      low = std::min(low, p.psnr);
      high = std::max(high, p.psnr);
      nfe_low = std::min(nfe_low, p.nfe_per_image);
      nfe_high = std::max(nfe_high, p.nfe_per_image);
    }
  }
  low = std::floor(low / 2.0) * 2.0;
  high = std::ceil(high / 2.0) * 2.0 + 1e-9;
  const double x_low = std::floor(std::log10(nfe_low));
  const double x_high = std::ceil(std::log10(nfe_high));
  Canvas canvas(static_cast<int64_t>(panels.size()) * (kPanel + kLeftMargin) + kMargin,
                kPanel + kMargin + kBottomMargin + 14);
  const std::map<std::string, std::array<float, 3>> colours{{"MAP-GA", {0.12F, 0.35F, 0.75F}},
                                                            {"PGDM", {0.90F, 0.45F, 0.05F}},
                                                            {"DPS", {0.15F, 0.6F, 0.2F}}};
  const std::array<float, 3> grid{0.85F, 0.85F, 0.85F};
  const std::array<float, 3> axis{0.2F, 0.2F, 0.2F};
  int64_t panel = 0;
  for (const auto& [mask, points] : panels) {
    const double left = kLeftMargin + static_cast<double>(panel) * (kPanel + kLeftMargin);
    const double top = kMargin;
    const auto x_of = [&](double nfe) {
      return left + (std::log10(nfe) - x_low) / (x_high - x_low) * kPanel;
    };
    const auto y_of = [&](double value) { return top + (high - value) / (high - low) * kPanel; };
    for (double decade = x_low; decade <= x_high + 1e-9; decade += 1.0) {
      const double x = x_of(std::pow(10.0, decade));
      canvas.line(x, top, x, top + kPanel, grid);
      const auto label = fmt::format("{:.0f}", std::pow(10.0, decade));
      canvas.text(std::lround(x) - Canvas::text_width(label) / 2, std::lround(top) + kPanel + 5,
                  label, axis);
    }
    for (double value = low; value <= high; value += 2.0) {
      canvas.line(left, y_of(value), left + kPanel, y_of(value), grid);
      const auto label = fmt::format("{:.0f}", value);
      canvas.text(std::lround(left) - Canvas::text_width(label) - 4, std::lround(y_of(value)) - 3,
                  label, axis);
    }
    auto title = mask;
    std::transform(title.begin(), title.end(), title.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    canvas.text(std::lround(left) + kPanel / 2 - Canvas::text_width(title) / 2,
                std::lround(top) - 12, title, axis);
    const std::string x_label = "NFE PER IMAGE";
    canvas.text(std::lround(left) + kPanel / 2 - Canvas::text_width(x_label) / 2,
                std::lround(top) + kPanel + 17, x_label, axis);
    canvas.text(std::lround(left) - 44, std::lround(top) - 12, "PSNR DB", axis);
    canvas.line(left, top + kPanel, left + kPanel, top + kPanel, axis);
    canvas.line(left, top, left, top + kPanel, axis);
    for (const auto& [family, colour] : colours) {
      std::vector<Point> series;
      for (const auto& p : points) {
        if (p.family == family) series.push_back(p);
      }
      std::sort(series.begin(), series.end(),
                [](const Point& a, const Point& b) { return a.nfe_per_image < b.nfe_per_image; });
      for (size_t i = 0; i < series.size(); ++i) {
        const double x = x_of(series[i].nfe_per_image);
        const double y = y_of(series[i].psnr);
        canvas.dot(std::lround(x), std::lround(y), colour, 3);
        if (i > 0) {
          canvas.line(x_of(series[i - 1].nfe_per_image), y_of(series[i - 1].psnr), x, y, colour, 1);
        }
      }
    }
    ++panel;
  }
  int64_t x = kLeftMargin;  // the legend
  for (const auto& [family, colour] : colours) {
    canvas.line(static_cast<double>(x), kMargin + kPanel + 36.0, x + 16.0, kMargin + kPanel + 36.0,
                colour, 1);
    canvas.dot(x + 8, kMargin + kPanel + 36, colour, 3);
    canvas.text(x + 22, kMargin + kPanel + 33, family, axis);
    x += 40 + Canvas::text_width(family);
  }
  write_png(path, canvas.pixels);
}

}  // namespace

int main(int argc, char** argv) {
  Settings settings;
  CLI::App app{"PSNR against network calls per image for MAP-GA, PGDM and DPS"};
  app.add_option("--images", settings.images, "Fashion-MNIST test images")
      ->check(CLI::PositiveNumber);
  app.add_option("--threads", settings.threads, "LibTorch intra-op threads")
      ->check(CLI::PositiveNumber);
  std::vector<std::string> mask_names;
  for (const auto kind : all_paper_masks()) mask_names.push_back(to_string(kind));
  app.add_option("--masks", settings.masks, "masks")->check(CLI::IsMember(mask_names));
  app.add_flag("--quick", settings.quick, "tiny budgets, to check the program");
  app.add_option("--json", settings.json_path, "write the points as JSON");
  app.add_option("--plot", settings.plot_path, "write the plot as PNG");
  CLI11_PARSE(app, argc, argv);
  try {
    mapinverse::set_thread_count(settings.threads);
    const PriorModels models{load_unet_denoiser(shipped_model_path(kDenoiserModelFile)),
                             load_unet_consistency(shipped_model_path(kConsistencyModelFile))};
    const auto originals = read_fashion_mnist(kFashionMnistDirectory, FashionMnistSplit::kTest)
                               .images.slice(0, 0, settings.images);
    fmt::print("{} test images, noiseless, {} LibTorch thread(s)\n\n", settings.images,
               settings.threads);
    fmt::print(
        "| operator | solver | setting | NFE per image | PSNR | SSIM | seconds |\n"
        "|---|---|---|---:|---:|---:|---:|\n");
    std::map<std::string, std::vector<Point>> panels;
    for (const auto& mask : settings.masks) {
      panels[mask] = run_mask(settings, models, mask, originals);
    }
    if (!settings.plot_path.empty()) write_plot(settings.plot_path, panels);
    if (!settings.json_path.empty()) {
      nlohmann::json document = nlohmann::json::array();
      for (const auto& [mask, points] : panels) {
        for (const auto& p : points) {
          document.push_back({{"mask", mask},
                              {"solver", p.family},
                              {"setting", p.setting},
                              {"nfe_per_image", p.nfe_per_image},
                              {"psnr_db", p.psnr},
                              {"ssim", p.ssim},
                              {"seconds", p.seconds}});
        }
      }
      write_file_atomically(settings.json_path, document.dump(2) + "\n");
    }
  } catch (const std::exception& error) {
    std::cerr << "benchmark_quality_per_nfe: " << error.what() << '\n';
    return 1;
  }
  return 0;
}
