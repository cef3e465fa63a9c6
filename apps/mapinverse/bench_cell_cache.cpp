#include "bench_cell_cache.hpp"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>

#include "mapinverse/io/atomic_write.hpp"

namespace mapinverse::cli {

namespace {

/// Unmeasured metrics (NaN) are stored as null.
nlohmann::json number_or_null(double value) {
  return std::isnan(value) ? nlohmann::json() : nlohmann::json(value);
}

double number_or_nan(const nlohmann::json& value) {
  return value.is_number() ? value.get<double>() : std::nan("");
}

}  // namespace

CellCache::CellCache(const BenchArguments& arguments, const std::string& prior,
                     std::vector<int64_t> image_shape, bool active)
    : path_((std::filesystem::path(arguments.out) / "cells.json").string()),
      settings_(fmt::format("images={} steps={}x{} pgdm={} seed={} prior={} input={} labels={} "
                            "features={} lpips={}",
                            arguments.images, arguments.time_steps, arguments.iterations,
                            arguments.pgdm_steps, arguments.seed, prior, arguments.input_dir,
                            arguments.labels_file, arguments.features, arguments.lpips)),
      image_shape_(std::move(image_shape)) {
  if (!active || !std::filesystem::exists(path_)) return;
  try {
    std::ifstream in(path_);
    cells_ = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& error) {
    throw std::invalid_argument(fmt::format(
        "{}: not a readable cell cache ({}); remove it to start afresh", path_, error.what()));
  }
}

std::string CellCache::key(int table, double sigma_y, const std::string& mask,
                           const std::string& method) const {
  return fmt::format("table={} sigma_y={} mask={} method={} {}", table, sigma_y, mask, method,
                     settings_);
}

std::optional<std::pair<Cell, torch::Tensor>> CellCache::find(const std::string& key) const {
  if (!cells_.contains(key)) return std::nullopt;
  const auto& j = cells_[key];
  Cell cell{j["psnr_db"],
            j["ssim"],
            number_or_nan(j["frechet_distance"]),
            number_or_nan(j.value("lpips", nlohmann::json())),
            j["nfe_per_image"],
            j["seconds"]};
  const auto tile = torch::tensor(j["first_image"].get<std::vector<float>>()).view(image_shape_);
  return std::pair{cell, tile};
}

void CellCache::store(const std::string& key, const Cell& cell, const torch::Tensor& first_image) {
  const auto flat = first_image.detach().cpu().to(torch::kFloat32).contiguous().view({-1});
  cells_[key] = {{"psnr_db", cell.psnr},
                 {"ssim", cell.ssim},
                 {"frechet_distance", number_or_null(cell.frechet)},
                 {"lpips", number_or_null(cell.lpips)},
                 {"nfe_per_image", cell.network_calls_per_image},
                 {"seconds", cell.seconds},
                 {"first_image", std::vector<float>(flat.data_ptr<float>(),
                                                    flat.data_ptr<float>() + flat.numel())}};
  std::filesystem::create_directories(std::filesystem::path(path_).parent_path());
  write_file_atomically(path_, cells_.dump() + "\n");
}

}  // namespace mapinverse::cli
