#pragma once

#include <cstdint>
#include <string>
#include "mapinverse/core/tensor.hpp"

namespace mapinverse {

/// Reads an 8-bit greyscale, grey+alpha, RGB or RGBA PNG. Returns [C, H, W] float32
/// in [0, 1] with C = 1 (grey) or 3 (colour); alpha is dropped. 16-bit files and
/// images larger than `max_pixels` are rejected with std::invalid_argument; a missing,
/// truncated or non-PNG file raises std::runtime_error naming the file.
at::Tensor read_png(const std::string& path, int64_t max_pixels = int64_t{1} << 26);

/// Writes `image` ([C, H, W] or [H, W], C = 1 or 3, values in [0, 1], clamped) as an
/// 8-bit PNG. Writes to a temporary file next to `path` and renames it into place, so
/// a failed write never leaves a partial file.
void write_png(const std::string& path, const at::Tensor& image);

/// Maps an image in [-1, 1] (the library's convention) to [0, 1].
at::Tensor to_unit_range(const at::Tensor& image);

/// Tiles `images` [N, C, H, W] into one [C, rows*(H+pad)+pad, columns*(W+pad)+pad] image
/// with `pad` pixels of `background` between tiles, row by row.
at::Tensor make_grid(const at::Tensor& images, int64_t columns, int64_t pad = 2,
                     double background = 1.0);

}  // namespace mapinverse
