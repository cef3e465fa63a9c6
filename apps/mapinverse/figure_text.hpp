#pragma once

// Labelled figure grids: a small built-in 5x7 bitmap font (capitals, digits and a few
// signs; lower case is drawn in capitals) to name the rows and columns of the PNG grids
// the tool writes, without a font library.

#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace mapinverse::cli {

/// `text` drawn at `scale` pixels per font pixel: [1, 9 * scale, 6 * scale * length]
/// float32, 1 where ink, 0 elsewhere (one pixel of space between characters and a row
/// above and below). Characters the font lacks are drawn as '?'.
torch::Tensor render_text(const std::string& text, int64_t scale = 1);

/// Tiles `rows` (each [columns, C, H, W] in [0, 1], C = 1 or 3) into one [3, ., .]
/// picture with white space between tiles, `column_labels` above each column and
/// `row_labels` left of each row, in black. Label lists may be shorter than the grid.
torch::Tensor labelled_grid(const std::vector<torch::Tensor>& rows,
                            const std::vector<std::string>& column_labels,
                            const std::vector<std::string>& row_labels);

}  // namespace mapinverse::cli
