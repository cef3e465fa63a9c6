#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>

#include <fmt/format.h>
#include <torch/torch.h>

#include "mapinverse/core/error.hpp"
#include "mapinverse/core/random.hpp"
#include "mapinverse/io/png.hpp"

namespace mapinverse {

/// The six inpainting masks of the paper (§5, Fig. 1). Each name describes the
/// region that is MISSING; the factories return the observation mask
/// (1 = observed), ready for Inpainting. A "centred box of fraction f" spans
/// floor(f H) rows starting at floor((H - floor(f H)) / 2), likewise for columns.
enum class PaperMask {
  /// A centred box of half the image side is missing.
  kBox50,
  /// The right half is missing: columns >= floor(W / 2).
  kHalf,
  /// Only the centred box of a quarter of the side is observed (complement of box25).
  kExpand,
  /// A centred box of a quarter of the image side is missing.
  kBox25,
  /// 2x super-resolution: only pixels at (even row, even column) are observed.
  kSr2x,
  /// Alternate rows are missing: rows 0, 2, 4, ... are observed.
  kAllLines,
};

/// The six masks in the paper's table order.
inline constexpr std::array<PaperMask, 6> all_paper_masks() {
  return {PaperMask::kBox50, PaperMask::kHalf, PaperMask::kExpand,
          PaperMask::kBox25, PaperMask::kSr2x, PaperMask::kAllLines};
}

/// "box50", "half", "expand", "box25", "sr2x" or "alllines".
inline std::string to_string(PaperMask mask) {
  switch (mask) {
    case PaperMask::kBox50:
      return "box50";
    case PaperMask::kHalf:
      return "half";
    case PaperMask::kExpand:
      return "expand";
    case PaperMask::kBox25:
      return "box25";
    case PaperMask::kSr2x:
      return "sr2x";
    case PaperMask::kAllLines:
      return "alllines";
  }
  throw std::invalid_argument(
      fmt::format("to_string(): unknown PaperMask value {}", static_cast<int>(mask)));
}

/// The inverse of to_string(); throws std::invalid_argument listing the valid names.
inline PaperMask parse_paper_mask(std::string_view text) {
  for (const auto mask : all_paper_masks()) {
    if (text == to_string(mask)) return mask;
  }
  throw std::invalid_argument(fmt::format(
      "parse_paper_mask(): expected one of box50|half|expand|box25|sr2x|alllines, got '{}'", text));
}

namespace detail {

/// Rows (or columns) of a centred box of side floor(size / divisor).
inline torch::indexing::Slice centred_span(int64_t size, int64_t divisor) {
  const int64_t side = size / divisor;
  const int64_t start = (size - side) / 2;
  return torch::indexing::Slice(start, start + side);
}

}  // namespace detail

/// The observation mask (1 = observed) of a paper mask on a height x width image,
/// [1,1,H,W] float32 on the CPU. Height and width must be >= 4 so that every mask
/// observes and hides at least one pixel.
inline torch::Tensor paper_mask(PaperMask kind, int64_t height, int64_t width) {
  using torch::indexing::None;
  using torch::indexing::Slice;
  detail::require(height >= 4 && width >= 4,
                  "paper_mask(): expected height >= 4 and width >= 4, got {}x{}", height, width);
  const auto all = Slice();
  const auto every_other = Slice(0, None, 2);
  const auto box50 = std::array{detail::centred_span(height, 2), detail::centred_span(width, 2)};
  const auto box25 = std::array{detail::centred_span(height, 4), detail::centred_span(width, 4)};
  auto observed = torch::ones({1, 1, height, width}, torch::kFloat32);
  switch (kind) {
    case PaperMask::kBox50:
      observed.index_put_({all, all, box50[0], box50[1]}, 0.0);
      break;
    case PaperMask::kHalf:
      observed.index_put_({all, all, all, Slice(width / 2, None)}, 0.0);
      break;
    case PaperMask::kExpand:
      observed.zero_();
      observed.index_put_({all, all, box25[0], box25[1]}, 1.0);
      break;
    case PaperMask::kBox25:
      observed.index_put_({all, all, box25[0], box25[1]}, 0.0);
      break;
    case PaperMask::kSr2x:
      observed.zero_();
      observed.index_put_({all, all, every_other, every_other}, 1.0);
      break;
    case PaperMask::kAllLines:
      observed.zero_();
      observed.index_put_({all, all, every_other, all}, 1.0);
      break;
    default:
      throw std::invalid_argument(
          fmt::format("paper_mask(): unknown PaperMask value {}", static_cast<int>(kind)));
  }
  return observed;
}

/// A mask observing each pixel independently with probability `keep_probability`
/// (0 < p <= 1), [1,1,H,W] float32 on the CPU; the same seed gives the same mask.
/// Throws std::invalid_argument when the draw observes no pixel at all.
inline torch::Tensor random_mask(int64_t height, int64_t width, double keep_probability,
                                 uint64_t seed) {
  detail::require(height >= 1 && width >= 1,
                  "random_mask(): expected height >= 1 and width >= 1, got {}x{}", height, width);
  detail::require(
      std::isfinite(keep_probability) && keep_probability > 0.0 && keep_probability <= 1.0,
      "random_mask(): expected 0 < keep_probability <= 1, got {}", keep_probability);
  auto generator = make_generator(seed);
  const auto uniform = torch::rand({1, 1, height, width}, generator, torch::kFloat64);
  auto observed = (uniform < keep_probability).to(torch::kFloat32);
  detail::require(observed.sum().item<double>() > 0.0,
                  "random_mask(): no pixel of the {}x{} mask is observed with keep_probability = "
                  "{} and seed = {}; use another seed or a larger probability",
                  height, width, keep_probability, seed);
  return observed;
}

/// Reads an inpainting mask from a PNG file (grey or colour, 8 bits per channel, read
/// by read_png(), which also drops alpha and rejects 16-bit files). A pixel is
/// observed when its level (the mean of its channels, in [0, 1]) is above 0.5;
/// levels strictly between 0.2 and 0.8 are rejected as non-binary, since a mask
/// saved with anti-aliasing or as a coloured overlay is most likely not what the
/// user meant. Returns [1,1,H,W] float32 on the CPU, 1 = observed (white = observed).
inline torch::Tensor read_mask_png(const std::string& path) {
  const auto level = read_png(path).mean(0);
  const auto ambiguous = (level > 0.2) & (level < 0.8);
  if (ambiguous.any().item<bool>()) {
    const auto first = ambiguous.nonzero()[0];
    const int64_t row = first[0].item<int64_t>();
    const int64_t column = first[1].item<int64_t>();
    throw std::invalid_argument(fmt::format(
        "read_mask_png(): expected a binary mask in '{}' (levels <= 0.2 missing, >= 0.8 "
        "observed), got {} pixels in between, the first at row {}, column {} with level {:.3f}",
        path, ambiguous.sum().item<int64_t>(), row, column, level[row][column].item<double>()));
  }
  return (level > 0.5).to(torch::kFloat32).reshape({1, 1, level.size(0), level.size(1)});
}

}  // namespace mapinverse
