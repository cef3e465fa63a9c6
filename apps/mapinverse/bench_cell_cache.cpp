#include "bench_cell_cache.hpp"

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>

#include "mapinverse/io/atomic_write.hpp"

namespace mapinverse::cli {

CellCache::CellCache(const BenchArguments& arguments, const std::string& prior, bool active)
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

std::string CellCache::key(int table, double sigma_y, const std::string& mask,
                           const std::string& method) const {
  return fmt::format("table={} sigma_y={} mask={} method={} {}", table, sigma_y, mask, method,
                     settings_);
}

std::optional<std::pair<Cell, torch::Tensor>> CellCache::find(const std::string& key) const {
  if (!cells_.contains(key)) return std::nullopt;
  const auto& j = cells_[key];
  Cell cell{j["psnr_db"], j["ssim"], j["frechet_distance"], j["nfe_per_image"], j["seconds"]};
  const auto tile = torch::tensor(j["first_image"].get<std::vector<float>>()).view({1, 28, 28});
  return std::pair{cell, tile};
}

void CellCache::store(const std::string& key, const Cell& cell, const torch::Tensor& first_image) {
  const auto flat = first_image.detach().cpu().to(torch::kFloat32).contiguous().view({-1});
  cells_[key] = {{"psnr_db", cell.psnr},
                 {"ssim", cell.ssim},
                 {"frechet_distance", cell.frechet},
                 {"nfe_per_image", cell.network_calls_per_image},
                 {"seconds", cell.seconds},
                 {"first_image", std::vector<float>(flat.data_ptr<float>(),
                                                    flat.data_ptr<float>() + flat.numel())}};
  std::filesystem::create_directories(std::filesystem::path(path_).parent_path());
  write_file_atomically(path_, cells_.dump() + "\n");
}

}  // namespace mapinverse::cli
