#pragma once

// bench's cells: one solver on the first N images, solved in batches (sharded over the
// ranks), scored by PSNR, SSIM, the Frechet distance of features (the shipped classifier's
// or the user's network's) and, with the user's network, LPIPS.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <torch/script.h>
#include <torch/torch.h>

#include "bench_arguments.hpp"
#include "mapinverse/distributed/process_group.hpp"
#include "mapinverse/models/classifier.hpp"
#include "mapinverse/solvers/problem.hpp"
#include "mapinverse/solvers/solver.hpp"

namespace mapinverse::cli {

/// One method on one mask: means over the images.
struct Cell {
  double psnr = 0.0;
  double ssim = 0.0;
  double frechet = 0.0;  // NaN when no feature network
  double lpips = 0.0;    // NaN when no LPIPS network
  double network_calls_per_image = 0.0;
  double seconds = 0.0;
};

/// The problem of test images [first, first + count).
using ProblemFor = std::function<Problem(int64_t first, int64_t count)>;

class Evaluation {
 public:
  Evaluation(const BenchArguments& arguments, const torch::Device& device,
             const distributed::ProcessGroup& group);

  /// The first arguments.images images, on the device.
  const torch::Tensor& originals() const { return originals_; }
  /// Their class labels [N] int64 on the device; undefined without a labels file.
  const torch::Tensor& labels() const { return labels_; }
  /// [C, H, W] of the images.
  std::vector<int64_t> image_shape() const { return originals_.sizes().slice(1).vec(); }
  /// What the images are, for the report.
  const std::string& source() const { return source_; }
  bool has_frechet() const { return has_features_; }
  bool has_lpips() const { return lpips_.has_value(); }

  /// Solves this rank's shard of the images with `solver` in batches, scores them, and
  /// gathers every image's scores and restoration from all ranks (in image order), so
  /// the cell's means and Frechet distance are the same for any number of ranks.
  /// `restored` receives every restoration.
  Cell run(const Solver& solver, const ProblemFor& problem_for, torch::Tensor* restored) const;

 private:
  torch::Tensor score(const std::vector<torch::Tensor>& parts,
                      const std::vector<double>& calls_per_image,
                      const distributed::Shard& shard) const;
  torch::Tensor features(const torch::Tensor& images) const;
  torch::Tensor lpips(const torch::Tensor& estimate, const torch::Tensor& originals) const;
  int64_t feature_dimension() const { return test_features_.size(1); }

  const BenchArguments& arguments_;
  const distributed::ProcessGroup& group_;
  mutable FashionClassifier classifier_{nullptr};
  mutable std::optional<torch::jit::Module> feature_network_;
  mutable std::optional<torch::jit::Module> lpips_;
  bool has_features_ = false;
  torch::Tensor test_features_;
  torch::Tensor originals_;
  torch::Tensor labels_;
  std::string source_;
};

}  // namespace mapinverse::cli
