#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "setup.hpp"

namespace mapinverse::cli {

/// The seed paper's Tables 1-3 on Fashion-MNIST test images or a folder of images
/// (e.g. ImageNet-64 validation images with their class labels).
struct BenchArguments {
  bool quick = false;
  int64_t images = 0;      // 0: 6 with --quick, 50 otherwise
  int64_t time_steps = 0;  // MAP-GA outer steps; 0: 8 with --quick, 20 otherwise
  int64_t iterations = 0;  // MAP-GA inner iterations; 0: 4 with --quick, 10 otherwise
  int64_t pgdm_steps = 0;  // PGDM reverse steps; 0: 40 with --quick, 100 otherwise
  int64_t batch = 50;      // images solved together
  std::vector<int> tables{1, 2, 3};
  std::vector<double> sigmas{0.05, 0.1, 0.2};
  std::vector<std::string> masks = paper_mask_names();
  uint64_t seed = 0;
  std::string out = "out/bench";
  std::string data = "/usr/share/datasets/fashion-mnist";
  std::string classifier;  // empty: the shipped one
  /// A folder of PNG images instead of Fashion-MNIST (the first `images` are restored;
  /// all of them are the reference set of the Frechet distance), and its labels file.
  std::string input_dir;
  std::string labels_file;
  /// TorchScript feature network for the Frechet distance, forward(x [B,C,H,W] in
  /// [-1, 1]) -> [B, D] (e.g. the user's Inception: FID); empty: the shipped
  /// Fashion-MNIST classifier, or no Frechet distance for --input-dir.
  std::string features;
  /// TorchScript LPIPS network, forward(x, y in [-1, 1]) -> [B] (or [B,1,1,1]); optional.
  std::string lpips;
  bool quiet = false;
  /// "tuned": Tables 1 and 3 get a row for the map-ga-tuned preset.
  std::string preset;
  PriorArguments prior;

  void add_to(CLI::App& app);
};

}  // namespace mapinverse::cli
