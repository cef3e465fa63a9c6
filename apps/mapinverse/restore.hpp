#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>
#include <CLI/CLI.hpp>

#include "setup.hpp"

namespace mapinverse::cli {

struct RestoreArguments {
  std::string input;
  std::vector<int64_t> test_indices;
  /// Batch form: a folder of PNGs or a range FIRST:END of test images, restored into
  /// one PNG per image and report.json in output_dir (sharded over ranks if any).
  std::string input_dir;
  std::string test_range;
  std::string output_dir;
  int64_t batch = 16;
  bool measured = false;
  std::string output;
  std::string report;
  std::string measurement_output;
  double sigma_y = 0.0;
  uint64_t seed = 0;
  std::string data = "/usr/share/datasets/fashion-mnist";
  /// Class labels: one for all images or one per image (--class-label), or a labels
  /// file for --input-dir (--labels).
  std::vector<int64_t> class_labels;
  std::string labels_file;
  bool quiet = false;
  PriorArguments prior;
  OperatorArguments forward;
  SolverArguments solver;

  void add_to(CLI::App& app);
};

int run_restore(const RestoreArguments& arguments);
/// The batch form (--output-dir), in restore_batch.cpp.
int run_restore_batch(const RestoreArguments& arguments);

/// [C, H, W] of the images the measurements `images` [N, C, h, w] stand for: h x w times
/// `scale` (the down-sampling factor of a measured image, else 1); at most
/// kMaxImagePixels pixels, else std::invalid_argument naming --factor.
std::vector<int64_t> restored_shape(const torch::Tensor& images, int64_t scale);

/// Throws std::invalid_argument naming `option` (the flag and the value the user gave)
/// when `images` images of `shape` exceed kMaxBatchValues values.
void check_batch_size(int64_t images, const std::vector<int64_t>& shape, const std::string& option);

}  // namespace mapinverse::cli
