#pragma once

// Finished cells of an interrupted bench run, in <out>/cells.json: rerunning the same
// command skips them. A cell's key holds every setting that changes its numbers.

#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "bench_arguments.hpp"
#include "bench_evaluation.hpp"

namespace mapinverse::cli {

class CellCache {
 public:
  /// A cache that is not `active` (ranks other than 0) holds nothing. `prior` names the
  /// prior and the contents of its files.
  CellCache(const BenchArguments& arguments, const std::string& prior,
            std::vector<int64_t> image_shape, bool active);

  std::string key(int table, double sigma_y, const std::string& mask,
                  const std::string& method) const;

  /// The cell and the first image's restoration, if this run or an earlier one made it.
  std::optional<std::pair<Cell, torch::Tensor>> find(const std::string& key) const;

  /// Adds the cell and rewrites cells.json.
  void store(const std::string& key, const Cell& cell, const torch::Tensor& first_image);

  size_t reused() const { return reused_; }
  void count_reuse() { ++reused_; }

 private:
  std::string path_;
  std::string settings_;
  std::vector<int64_t> image_shape_;
  nlohmann::json cells_ = nlohmann::json::object();
  size_t reused_ = 0;
};

}  // namespace mapinverse::cli
