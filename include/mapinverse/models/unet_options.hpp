#pragma once

#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "mapinverse/core/error.hpp"

namespace mapinverse {

/// Shape of the project's native U-Net (a small relative of the DDPM/EDM U-Nets of
/// Ho et al. 2020 and Karras et al. 2022). The defaults give ~0.74M parameters,
/// resolutions 28 -> 14 -> 7 for Fashion-MNIST with 24 -> 48 -> 72 channels: narrow
/// where the images are large, so that a training step fits a 2-core CPU.
struct UNetOptions {
  /// Image channels in and out.
  int64_t in_channels = 1;
  /// Channels at the finest resolution; level l has base_channels * channel_multipliers[l].
  int64_t base_channels = 24;
  /// One entry per resolution; each level after the first halves height and width.
  std::vector<int64_t> channel_multipliers = {1, 2, 3};
  /// Residual blocks per level on the way down (the way up has the same number).
  int64_t blocks_per_level = 1;
  /// Width of the noise (and label) embedding added into every residual block.
  int64_t embedding_dim = 128;
  /// Sin/cos pairs of the Fourier embedding of the scalar noise input c_noise.
  int64_t fourier_features = 32;
  /// Angular frequencies of the Fourier embedding, geometrically spaced in
  /// [min, max]; the defaults resolve c_noise = ln(sigma)/4 over sigma in [0.002, 80].
  double min_frequency = 1.0;
  double max_frequency = 100.0;
  /// Groups of every GroupNorm; must divide every level's channel count.
  int64_t num_groups = 8;
  /// Number of classes for a class-conditional model; 0 means unconditional.
  int64_t num_classes = 0;

  UNetOptions& set_in_channels(int64_t value) {
    in_channels = value;
    return *this;
  }
  UNetOptions& set_base_channels(int64_t value) {
    base_channels = value;
    return *this;
  }
  UNetOptions& set_channel_multipliers(std::vector<int64_t> value) {
    channel_multipliers = std::move(value);
    return *this;
  }
  UNetOptions& set_blocks_per_level(int64_t value) {
    blocks_per_level = value;
    return *this;
  }
  UNetOptions& set_embedding_dim(int64_t value) {
    embedding_dim = value;
    return *this;
  }
  UNetOptions& set_fourier_features(int64_t value) {
    fourier_features = value;
    return *this;
  }
  UNetOptions& set_frequencies(double min, double max) {
    min_frequency = min;
    max_frequency = max;
    return *this;
  }
  UNetOptions& set_num_groups(int64_t value) {
    num_groups = value;
    return *this;
  }
  UNetOptions& set_num_classes(int64_t value) {
    num_classes = value;
    return *this;
  }

  /// Channels of level l.
  int64_t channels(size_t level) const { return base_channels * channel_multipliers.at(level); }

  void validate() const {
    require(in_channels >= 1,
            "UNetOptions::in_channels = {}. Violated constraint: in_channels >= 1", in_channels);
    require(num_groups >= 1, "UNetOptions::num_groups = {}. Violated constraint: num_groups >= 1",
            num_groups);
    require(base_channels >= 1 && base_channels % num_groups == 0,
            "UNetOptions::base_channels = {}. Violated constraint: base_channels >= 1 "
            "and a multiple of num_groups = {}",
            base_channels, num_groups);
    require(!channel_multipliers.empty(),
            "UNetOptions::channel_multipliers = []. Violated constraint: at least one level");
    for (auto multiplier : channel_multipliers) {
      require(multiplier >= 1,
              "UNetOptions::channel_multipliers = [{}]. Violated constraint: every "
              "multiplier >= 1",
              fmt::join(channel_multipliers, ","));
    }
    require(blocks_per_level >= 1,
            "UNetOptions::blocks_per_level = {}. Violated constraint: blocks_per_level >= 1",
            blocks_per_level);
    require(embedding_dim >= 1,
            "UNetOptions::embedding_dim = {}. Violated constraint: embedding_dim >= 1",
            embedding_dim);
    require(fourier_features >= 1,
            "UNetOptions::fourier_features = {}. Violated constraint: fourier_features >= 1",
            fourier_features);
    require(std::isfinite(min_frequency) && min_frequency > 0.0,
            "UNetOptions::min_frequency = {}. Violated constraint: min_frequency > 0",
            min_frequency);
    require(std::isfinite(max_frequency) && max_frequency >= min_frequency,
            "UNetOptions::max_frequency = {}. Violated constraint: max_frequency >= "
            "min_frequency = {}",
            max_frequency, min_frequency);
    require(num_classes >= 0,
            "UNetOptions::num_classes = {}. Violated constraint: num_classes >= 0", num_classes);
  }
};

}  // namespace mapinverse
