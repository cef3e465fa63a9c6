#pragma once

#include <cstdint>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "mapinverse/core/tensor.hpp"
#include "mapinverse/core/error.hpp"

namespace mapinverse {

/// A CPU generator seeded with `seed`. All randomness in the library is drawn on
/// the CPU from such a generator and then moved to the target device, so a seed
/// gives the same numbers on every device.
at::Generator make_generator(uint64_t seed);

/// SplitMix64's finaliser: spreads structured seeds (a base seed combined with a step or
/// an image index) into well-separated generator seeds.
inline uint64_t mix_seed(uint64_t value) {
  value += 0x9e3779b97f4a7c15ULL;
  value = (value ^ (value >> 30)) * 0xbf58476d1ce4e5b9ULL;
  value = (value ^ (value >> 27)) * 0x94d049bb133111ebULL;
  return value ^ (value >> 31);
}

/// Standard normal noise with the shape, dtype and device of `like`.
at::Tensor randn_like(const at::Tensor& like, at::Generator& generator);

/// Standard normal noise of the given shape and options.
at::Tensor randn(at::IntArrayRef sizes, const at::TensorOptions& options, at::Generator& generator);

/// Where a solver's noise comes from: either one generator for the whole batch, or one
/// generator per sample, so that each sample's result depends on its own seed only and
/// not on which other samples share its batch (needed to shard a data set over
/// processes with results that do not depend on the number of processes).
class NoiseSource {
 public:
  /// One generator for the batch: the draws of make_generator(seed).
  explicit NoiseSource(uint64_t seed) : generators_{make_generator(seed)}, per_sample_(false) {}

  /// One generator per sample; every draw must then have seeds.size() samples.
  explicit NoiseSource(const std::vector<uint64_t>& sample_seeds) : per_sample_(true) {
    require(!sample_seeds.empty(), "NoiseSource: expected at least one sample seed");
    generators_.reserve(sample_seeds.size());
    for (const auto seed : sample_seeds) generators_.push_back(make_generator(seed));
  }

  /// Standard normal noise shaped [B, ...] with these options.
  at::Tensor randn(at::IntArrayRef sizes, const at::TensorOptions& options);

  /// Standard normal noise with the shape, dtype and device of `like`.
  at::Tensor randn_like(const at::Tensor& like) {
    return randn(like.sizes(), at::TensorOptions().dtype(like.scalar_type()).device(like.device()));
  }

  bool per_sample() const { return per_sample_; }

 private:
  std::vector<at::Generator> generators_;
  bool per_sample_;
};

}  // namespace mapinverse
