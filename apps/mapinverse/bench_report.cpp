#include "bench_report.hpp"

#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "mapinverse/io/atomic_write.hpp"
#include "mapinverse/io/png.hpp"

namespace mapinverse::cli {
namespace {

std::string format_table(const Table& table, const std::vector<std::string>& masks) {
  const bool noisy = table.rows.front().sigma_y.value_or(0.0) > 0.0;
  std::string text = fmt::format("### Table {}: {}\n\n| method |{}", table.number, table.title,
                                 noisy ? " σ_y |" : "");
  for (const auto& mask : masks) text += fmt::format(" {} PSNR / SSIM / FD |", mask);
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
    rows.push_back(
        {{"method", row.method}, {"sigma_y", row.sigma_y.value_or(0.0)}, {"masks", cells}});
  }
  return {{"table", table.number}, {"title", table.title}, {"rows", rows}};
}

/// Rows of tiles as one PNG, each pixel drawn as a 3x3 block so 28x28 tiles stay legible.
void write_figure(const std::string& path, const std::vector<torch::Tensor>& rows) {
  constexpr int64_t kZoom = 3;
  const auto tiles = torch::cat(rows).repeat_interleave(kZoom, 2).repeat_interleave(kZoom, 3);
  write_png(path, make_grid(to_unit_range(tiles), rows.front().size(0), 4));
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
      "Fashion-MNIST test images 0-{}, {}; MAP-GA {} x {}, PGDM {} steps, MAP-GA-PGDM's PGDM "
      "stage 20 steps; {} LibTorch thread(s){}; solver time {:.0f} s; {:.0f} s in this run{}.\n\n",
      arguments.images - 1, facts.prior, arguments.time_steps, arguments.iterations,
      arguments.pgdm_steps, at::get_num_threads(),
      facts.ranks > 1 ? fmt::format(" in each of {} ranks", facts.ranks) : "", solver_seconds,
      facts.seconds,
      facts.reused_cells > 0
          ? fmt::format(" ({} cells taken from an earlier run's cells.json)", facts.reused_cells)
          : "");
  nlohmann::json document{{"images", arguments.images},
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
  for (const auto& [name, rows] : figures) write_figure((folder / name).string(), rows);
  write_file_atomically((folder / "tables.md").string(), markdown);
  write_file_atomically((folder / "results.json").string(), document.dump(2) + "\n");
  fmt::print("{}", markdown);
  fmt::print(
      "wrote {}/results.json, tables.md and figures (rows: masks; columns: original, "
      "masked, then the methods in table order)\n",
      folder.string());
}

}  // namespace mapinverse::cli
