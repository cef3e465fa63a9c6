#include "report.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <stdexcept>
#include <map>
#include <set>

#include <fmt/format.h>

using nlohmann::json;

namespace matrix {
namespace {

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

// Records of one kind, by (problem, sigma_y) and then solver.
using CellMap = std::map<std::pair<std::string, double>, std::map<std::string, json>>;

CellMap cells_of(const std::vector<json>& records, const std::string& kind) {
  CellMap cells;
  for (const auto& record : records) {
    if (record.at("kind") != kind) continue;
    const auto key =
        std::make_pair(record.at("problem").get<std::string>(), record.value("sigma_y", 0.0));
    cells[key][record.value("solver", std::string("baseline"))] = record;
  }
  return cells;
}

bool names_another_solver(const std::string& message, const std::string& solver,
                          const std::vector<std::string>& solvers) {
  const auto text = lower(message);
  if (text.find('\n') != std::string::npos) return false;
  return std::any_of(solvers.begin(), solvers.end(), [&](const std::string& other) {
    return other != solver && text.find(other) != std::string::npos;
  });
}

void check_image_cell(const std::string& name, const std::map<std::string, json>& cell,
                      const std::vector<std::string>& solvers, double margin_db,
                      std::vector<BarFailure>& failures) {
  const auto baseline = cell.find("baseline");
  if (baseline == cell.end() || baseline->second.at("status") != "ok") {
    failures.push_back({name, "no baseline"});
    return;
  }
  const double floor = baseline->second.at("psnr").get<double>();
  double best = -1e300;
  for (const auto& [solver, record] : cell) {
    if (solver != "baseline" && record.at("status") == "ok") {
      best = std::max(best, record.at("psnr").get<double>());
    }
  }
  for (const auto& [solver, record] : cell) {
    if (solver == "baseline") continue;
    const auto where = fmt::format("{} / {}", name, solver);
    const auto status = record.at("status").get<std::string>();
    if (status == "failed") {
      failures.push_back({where, "failed: " + record.at("message").get<std::string>()});
    } else if (status == "refused") {
      if (!names_another_solver(record.at("message"), solver, solvers)) {
        failures.push_back({where, "refuses without naming a solver to use"});
      }
    } else {
      const double psnr = record.at("psnr").get<double>();
      if (psnr <= floor) {
        failures.push_back(
            {where, fmt::format("{:.2f} dB, not above the baseline's {:.2f}", psnr, floor)});
      } else if (psnr < best - margin_db) {
        failures.push_back({where, fmt::format("{:.2f} dB, more than {} dB below the best {:.2f}",
                                               psnr, margin_db, best)});
      }
    }
  }
}

}  // namespace

std::vector<BarFailure> check_bar(const std::vector<json>& records,
                                  const std::vector<std::string>& solvers, double margin_db) {
  std::vector<BarFailure> failures;
  const auto baselines = cells_of(records, "baseline");
  for (const auto& [key, cell] : cells_of(records, "image")) {
    auto merged = cell;
    const auto found = baselines.find(key);
    if (found != baselines.end()) merged["baseline"] = found->second.begin()->second;
    check_image_cell(fmt::format("{} σy={}", key.first, key.second), merged, solvers, margin_db,
                     failures);
  }
  const auto references = cells_of(records, "mixture_reference");
  for (const auto& [key, cell] : cells_of(records, "mixture")) {
    const auto reference = references.at(key).begin()->second;
    const double prior_distance = reference.at("prior_distance").get<double>();
    for (const auto& [solver, record] : cell) {
      const auto where = fmt::format("{} / {}", key.first, solver);
      if (record.at("status") == "failed") {
        failures.push_back({where, "failed: " + record.at("message").get<std::string>()});
      } else if (record.at("status") == "refused") {
        if (!names_another_solver(record.at("message"), solver, solvers)) {
          failures.push_back({where, "refuses without naming a solver to use"});
        }
      } else if (record.at("sliced_wasserstein").get<double>() >= prior_distance) {
        failures.push_back(
            {where, fmt::format("sliced Wasserstein {:.4f}, not below the prior's "
                                "{:.4f}",
                                record.at("sliced_wasserstein").get<double>(), prior_distance)});
      }
    }
  }
  return failures;
}

std::map<std::string, std::string> read_known_failures(const std::string& path) {
  std::ifstream in(path);
  if (!in.good()) throw std::invalid_argument("cannot read the known-failures file " + path);
  std::map<std::string, std::string> known;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const auto bar = line.find(" | ");
    if (bar == std::string::npos) {
      throw std::invalid_argument(
          fmt::format("{}: expected \"CELL | REASON\", got \"{}\"", path, line));
    }
    known[line.substr(0, bar)] = line.substr(bar + 3);
  }
  return known;
}

std::vector<BarFailure> unexplained(const std::vector<BarFailure>& failures,
                                    const std::map<std::string, std::string>& known) {
  std::vector<BarFailure> rest;
  for (const auto& failure : failures) {
    if (known.count(failure.cell) == 0) rest.push_back(failure);
  }
  return rest;
}

namespace {

std::string psnr_cell(const json& record) {
  if (record.at("status") == "ok") return fmt::format("{:.2f}", record.at("psnr").get<double>());
  return record.at("status") == "refused" ? "refused" : "**failed**";
}

void overview(std::string& text, const CellMap& images, const CellMap& baselines,
              const std::vector<std::string>& solvers) {
  std::set<double> levels;
  for (const auto& [key, cell] : images) levels.insert(key.second);
  for (const double sigma_y : levels) {
    text += fmt::format("\n### Mean PSNR (dB), σ_y = {}\n\n| problem | baseline |", sigma_y);
    for (const auto& solver : solvers) text += fmt::format(" {} |", solver);
    text += "\n|---|---|";
    for (size_t i = 0; i < solvers.size(); ++i) text += "---|";
    text += "\n";
    for (const auto& [key, cell] : images) {
      if (key.second != sigma_y) continue;
      const auto base = baselines.find(key);
      text += fmt::format("| {} | {} |", key.first,
                          base == baselines.end() ? "—" : psnr_cell(base->second.begin()->second));
      for (const auto& solver : solvers) {
        const auto found = cell.find(solver);
        text += fmt::format(" {} |", found == cell.end() ? "—" : psnr_cell(found->second));
      }
      text += "\n";
    }
  }
}

void details(std::string& text, const CellMap& images, const CellMap& baselines) {
  text += "\n## Every cell\n\nPSNR (dB) / SSIM / network calls per image / seconds per image.\n";
  for (const auto& [key, cell] : images) {
    text += fmt::format("\n**{} σ_y = {}**", key.first, key.second);
    const auto base = baselines.find(key);
    if (base != baselines.end() && base->second.begin()->second.at("status") == "ok") {
      const auto& b = base->second.begin()->second;
      text += fmt::format(" — baseline ({}): {:.2f} / {:.3f}", b.at("method").get<std::string>(),
                          b.at("psnr").get<double>(), b.at("ssim").get<double>());
    }
    text += "\n\n| solver | PSNR | SSIM | calls | s/image |\n|---|---|---|---|---|\n";
    for (const auto& [solver, record] : cell) {
      if (record.at("status") != "ok") {
        text += fmt::format("| {} | {} | | | |\n", solver, psnr_cell(record));
        continue;
      }
      text += fmt::format("| {} | {:.2f} | {:.3f} | {} | {:.3f} |\n", solver,
                          record.at("psnr").get<double>(), record.at("ssim").get<double>(),
                          record.at("calls_per_image").get<int64_t>(),
                          record.at("seconds_per_image").get<double>());
    }
  }
}

void mixtures(std::string& text, const CellMap& cells, const CellMap& references) {
  if (cells.empty()) return;
  text +=
      "\n## Gaussian-mixture problems (exact posteriors)\n\nSliced Wasserstein distance "
      "(100 slices) between the solver's samples and exact posterior draws; the floor is "
      "exact against exact, the baseline is the prior's distance.\n";
  for (const auto& [key, cell] : cells) {
    const auto& reference = references.at(key).begin()->second;
    text += fmt::format(
        "\n**{}** — floor {:.4f}, prior {:.4f}\n\n| solver | SW | calls per sample "
        "| s |\n|---|---|---|---|\n",
        key.first, reference.at("floor").get<double>(),
        reference.at("prior_distance").get<double>());
    for (const auto& [solver, record] : cell) {
      if (record.at("status") != "ok") {
        text += fmt::format("| {} | {} | | |\n", solver, record.at("status").get<std::string>());
        continue;
      }
      text += fmt::format(
          "| {} | {:.4f} | {} | {:.2f} |\n", solver, record.at("sliced_wasserstein").get<double>(),
          record.at("calls_per_sample").get<int64_t>(), record.at("seconds").get<double>());
    }
  }
}

void refusals(std::string& text, const std::vector<json>& records) {
  std::map<std::string, std::set<std::string>> messages;
  for (const auto& record : records) {
    if (record.value("status", "") == "refused") {
      messages[record.at("solver").get<std::string>()].insert(record.at("message"));
    }
  }
  if (messages.empty()) return;
  text += "\n## Refusals\n\n";
  for (const auto& [solver, texts] : messages) {
    for (const auto& message : texts) text += fmt::format("- {}: \"{}\"\n", solver, message);
  }
}

}  // namespace

std::string markdown_tables(const std::vector<json>& records,
                            const std::vector<std::string>& solvers,
                            const std::vector<BarFailure>& failures,
                            const std::map<std::string, std::string>& known) {
  const auto images = cells_of(records, "image");
  const auto baselines = cells_of(records, "baseline");
  std::string text = "# Solver × problem matrix\n";
  overview(text, images, baselines, solvers);
  text += "\n## The bar\n\n";
  if (failures.empty()) text += "Every cell clears it.\n";
  for (const auto& failure : failures) {
    const auto reason = known.find(failure.cell);
    text += fmt::format("- {}: {}{}\n", failure.cell, failure.reason,
                        reason == known.end() ? " — **not explained**"
                                              : fmt::format(" — known: {}", reason->second));
  }
  mixtures(text, cells_of(records, "mixture"), cells_of(records, "mixture_reference"));
  refusals(text, records);
  details(text, images, baselines);
  return text;
}

}  // namespace matrix
