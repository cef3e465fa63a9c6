#pragma once

// bench's cells: one solver on the first N test images, solved in batches (sharded over
// the ranks), scored by PSNR, SSIM and the Frechet distance of classifier features.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "bench.hpp"
#include "mapinverse/distributed/process_group.hpp"
#include "mapinverse/models/classifier.hpp"
#include "mapinverse/solvers/problem.hpp"
#include "mapinverse/solvers/solver.hpp"

namespace mapinverse::cli {

/// One method on one mask: means over the images.
struct Cell {
  double psnr = 0.0;
  double ssim = 0.0;
  double frechet = 0.0;
  double network_calls_per_image = 0.0;
  double seconds = 0.0;
};

/// The problem of test images [first, first + count).
using ProblemFor = std::function<Problem(int64_t first, int64_t count)>;

class Evaluation {
 public:
  Evaluation(const BenchArguments& arguments, const torch::Device& device,
             const distributed::ProcessGroup& group);

  /// The first arguments.images test images, on the device.
  const torch::Tensor& originals() const { return originals_; }

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

  const BenchArguments& arguments_;
  const distributed::ProcessGroup& group_;
  mutable FashionClassifier classifier_;
  torch::Tensor test_features_;
  torch::Tensor originals_;
};

}  // namespace mapinverse::cli
