#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "mapinverse/core/tensor.hpp"
#include "mapinverse/core/error.hpp"

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

/// The observation mask (1 = observed) of a paper mask on a height x width image,
/// [1,1,H,W] float32 on the CPU. Height and width must be >= 4 so that every mask
/// observes and hides at least one pixel.
at::Tensor paper_mask(PaperMask kind, int64_t height, int64_t width);

/// A mask observing each pixel independently with probability `keep_probability`
/// (0 < p <= 1), [1,1,H,W] float32 on the CPU; the same seed gives the same mask.
/// Throws std::invalid_argument when the draw observes no pixel at all.
at::Tensor random_mask(int64_t height, int64_t width, double keep_probability, uint64_t seed);

/// Reads an inpainting mask from a PNG file (grey or colour, 8 bits per channel, read
/// by read_png(), which also drops alpha and rejects 16-bit files). A pixel is
/// observed when its level (the mean of its channels, in [0, 1]) is above 0.5;
/// levels strictly between 0.2 and 0.8 are rejected as non-binary, since a mask
/// saved with anti-aliasing or as a coloured overlay is most likely not what the
/// user meant. Returns [1,1,H,W] float32 on the CPU, 1 = observed (white = observed).
at::Tensor read_mask_png(const std::string& path);

}  // namespace mapinverse
