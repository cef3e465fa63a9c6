#include "bench_report.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "figure_text.hpp"
#include "mapinverse/io/atomic_write.hpp"
#include "mapinverse/io/png.hpp"

namespace mapinverse::cli {
namespace {

/// "12.3" or "-" for a metric that was not measured.
std::string metric(double value, int decimals) {
  return std::isnan(value) ? std::string("-") : fmt::format("{:.{}f}", value, decimals);
}

std::string format_table(const Table& table, const std::vector<std::string>& masks) {
  const bool noisy = table.rows.front().sigma_y.value_or(0.0) > 0.0;
  std::string text = fmt::format("### Table {}: {}\n\n| method |{}", table.number, table.title,
                                 noisy ? " σ_y |" : "");
  for (const auto& mask : masks) text += fmt::format(" {} PSNR / SSIM / FD / LPIPS |", mask);
  text += " NFE per image |\n|---|";
  if (noisy) text += "---|";
  for (size_t i = 0; i < masks.size(); ++i) text += "---|";
  text += "---|\n";
  for (const auto& row : table.rows) {
    text += fmt::format("| {} |", row.method);
    if (row.sigma_y.value_or(0.0) > 0.0) text += fmt::format(" {} |", *row.sigma_y);
    double calls = 0.0;
    for (const auto& mask : masks) {
      const auto& cell = row.cells.at(mask);
      text += fmt::format(" {:.2f} / {:.3f} / {} / {} |", cell.psnr, cell.ssim,
                          metric(cell.frechet, 1), metric(cell.lpips, 3));
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
      cells[mask] = {
          {"psnr_db", cell.psnr},
          {"ssim", cell.ssim},
          {"frechet_distance",
           std::isnan(cell.frechet) ? nlohmann::json() : nlohmann::json(cell.frechet)},
          {"lpips", std::isnan(cell.lpips) ? nlohmann::json() : nlohmann::json(cell.lpips)},
          {"nfe_per_image", cell.network_calls_per_image},
          {"seconds", cell.seconds}};
    }
    rows.push_back(
        {{"method", row.method}, {"sigma_y", row.sigma_y.value_or(0.0)}, {"masks", cells}});
  }
  return {{"table", table.number}, {"title", table.title}, {"rows", rows}};
}

/// The figure as one labelled PNG, each pixel drawn as a block of pixels so that tiles
/// are at least 84 pixels wide (28x28 tiles: 3x3 blocks; 64x64: 2x2).
void write_figure(const std::string& path, const Figure& figure) {
  const int64_t width = figure.tiles.front().size(3);
  const int64_t zoom = std::max<int64_t>(1, (84 + width - 1) / width);
  std::vector<torch::Tensor> rows;
  for (const auto& row : figure.tiles) {
    rows.push_back(to_unit_range(row.repeat_interleave(zoom, 2).repeat_interleave(zoom, 3)));
  }
  write_png(path, labelled_grid(rows, figure.columns, figure.rows));
}

}  // namespace

void write_results(const BenchArguments& arguments, const std::vector<Table>& tables,
                   const Figures& figures, const RunFacts& facts) {
  double solver_seconds = 0.0;  // over all cells, also those of earlier runs
  for (const auto& table : tables) {
    for (const auto& row : table.rows) {
      for (const auto& [mask, cell] : row.cells) solver_seconds += cell.seconds;
    }
  }
  std::string markdown = fmt::format(
      "{}, {}; MAP-GA {} x {}, PGDM {} steps, MAP-GA-PGDM's PGDM stage 20 steps; FD: {}; "
      "LPIPS: {}; {} LibTorch thread(s){}; solver time {:.0f} s; {:.0f} s in this run{}.\n\n",
      facts.images, facts.prior, arguments.time_steps, arguments.iterations, arguments.pgdm_steps,
      !facts.frechet               ? std::string("not measured (no --features)")
      : arguments.features.empty() ? std::string("the shipped classifier's features")
                                   : "features of " + arguments.features,
      facts.lpips ? arguments.lpips : std::string("not measured (no --lpips)"),
      at::get_num_threads(),
      facts.ranks > 1 ? fmt::format(" in each of {} ranks", facts.ranks) : "", solver_seconds,
      facts.seconds,
      facts.reused_cells > 0
          ? fmt::format(" ({} cells taken from an earlier run's cells.json)", facts.reused_cells)
          : "");
  nlohmann::json document{{"images", arguments.images},
                          {"image_source", facts.images},
                          {"features", arguments.features},
                          {"lpips_network", arguments.lpips},
                          {"map_ga_time_steps", arguments.time_steps},
                          {"map_ga_iterations", arguments.iterations},
                          {"pgdm_steps", arguments.pgdm_steps},
                          {"threads", at::get_num_threads()},
                          {"ranks", facts.ranks},
                          {"seconds", facts.seconds},
                          {"solver_seconds", solver_seconds},
                          {"prior", facts.prior},
                          {"tables", nlohmann::json::array()}};
  for (const auto& table : tables) {
    markdown += format_table(table, arguments.masks);
    document["tables"].push_back(to_json(table));
  }
  const auto folder = std::filesystem::path(arguments.out);
  std::filesystem::create_directories(folder);
  for (const auto& [name, figure] : figures) {
    if (!figure.tiles.empty()) write_figure((folder / name).string(), figure);
  }
  write_file_atomically((folder / "tables.md").string(), markdown);
  write_file_atomically((folder / "results.json").string(), document.dump(2) + "\n");
  fmt::print("{}", markdown);
  fmt::print(
      "wrote {}/results.json, tables.md and figures (labelled; rows: masks; columns: truth, "
      "measurement, then the methods in table order)\n",
      folder.string());
}

}  // namespace mapinverse::cli
