#include "figure_text.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <map>

namespace mapinverse::cli {
namespace {

using Glyph = std::array<const char*, 7>;  // 7 rows of 5 columns, '#' = ink

// clang-format off
const std::map<char, Glyph>& font() {
  static const std::map<char, Glyph> glyphs{
      {'A', {" ### ", "#   #", "#   #", "#####", "#   #", "#   #", "#   #"}},
      {'B', {"#### ", "#   #", "#   #", "#### ", "#   #", "#   #", "#### "}},
      {'C', {" ### ", "#   #", "#    ", "#    ", "#    ", "#   #", " ### "}},
      {'D', {"#### ", "#   #", "#   #", "#   #", "#   #", "#   #", "#### "}},
      {'E', {"#####", "#    ", "#    ", "#### ", "#    ", "#    ", "#####"}},
      {'F', {"#####", "#    ", "#    ", "#### ", "#    ", "#    ", "#    "}},
      {'G', {" ### ", "#   #", "#    ", "# ###", "#   #", "#   #", " ####"}},
      {'H', {"#   #", "#   #", "#   #", "#####", "#   #", "#   #", "#   #"}},
      {'I', {" ### ", "  #  ", "  #  ", "  #  ", "  #  ", "  #  ", " ### "}},
      {'J', {"  ###", "   # ", "   # ", "   # ", "   # ", "#  # ", " ##  "}},
      {'K', {"#   #", "#  # ", "# #  ", "##   ", "# #  ", "#  # ", "#   #"}},
      {'L', {"#    ", "#    ", "#    ", "#    ", "#    ", "#    ", "#####"}},
      {'M', {"#   #", "## ##", "# # #", "# # #", "#   #", "#   #", "#   #"}},
      {'N', {"#   #", "##  #", "# # #", "#  ##", "#   #", "#   #", "#   #"}},
      {'O', {" ### ", "#   #", "#   #", "#   #", "#   #", "#   #", " ### "}},
      {'P', {"#### ", "#   #", "#   #", "#### ", "#    ", "#    ", "#    "}},
      {'Q', {" ### ", "#   #", "#   #", "#   #", "# # #", "#  # ", " ## #"}},
      {'R', {"#### ", "#   #", "#   #", "#### ", "# #  ", "#  # ", "#   #"}},
      {'S', {" ####", "#    ", "#    ", " ### ", "    #", "    #", "#### "}},
      {'T', {"#####", "  #  ", "  #  ", "  #  ", "  #  ", "  #  ", "  #  "}},
      {'U', {"#   #", "#   #", "#   #", "#   #", "#   #", "#   #", " ### "}},
      {'V', {"#   #", "#   #", "#   #", "#   #", "#   #", " # # ", "  #  "}},
      {'W', {"#   #", "#   #", "#   #", "# # #", "# # #", "## ##", "#   #"}},
      {'X', {"#   #", "#   #", " # # ", "  #  ", " # # ", "#   #", "#   #"}},
      {'Y', {"#   #", "#   #", " # # ", "  #  ", "  #  ", "  #  ", "  #  "}},
      {'Z', {"#####", "    #", "   # ", "  #  ", " #   ", "#    ", "#####"}},
      {'0', {" ### ", "#   #", "#  ##", "# # #", "##  #", "#   #", " ### "}},
      {'1', {"  #  ", " ##  ", "  #  ", "  #  ", "  #  ", "  #  ", " ### "}},
      {'2', {" ### ", "#   #", "    #", "   # ", "  #  ", " #   ", "#####"}},
      {'3', {"#### ", "    #", "    #", " ### ", "    #", "    #", "#### "}},
      {'4', {"   # ", "  ## ", " # # ", "#  # ", "#####", "   # ", "   # "}},
      {'5', {"#####", "#    ", "#### ", "    #", "    #", "#   #", " ### "}},
      {'6', {" ### ", "#    ", "#    ", "#### ", "#   #", "#   #", " ### "}},
      {'7', {"#####", "    #", "   # ", "  #  ", " #   ", " #   ", " #   "}},
      {'8', {" ### ", "#   #", "#   #", " ### ", "#   #", "#   #", " ### "}},
      {'9', {" ### ", "#   #", "#   #", " ####", "    #", "    #", " ### "}},
      {' ', {"     ", "     ", "     ", "     ", "     ", "     ", "     "}},
      {'-', {"     ", "     ", "     ", " ### ", "     ", "     ", "     "}},
      {'_', {"     ", "     ", "     ", "     ", "     ", "     ", "#####"}},
      {'.', {"     ", "     ", "     ", "     ", "     ", " ##  ", " ##  "}},
      {',', {"     ", "     ", "     ", "     ", " ##  ", "  #  ", " #   "}},
      {':', {"     ", " ##  ", " ##  ", "     ", " ##  ", " ##  ", "     "}},
      {'=', {"     ", "     ", "#####", "     ", "#####", "     ", "     "}},
      {'(', {"   # ", "  #  ", " #   ", " #   ", " #   ", "  #  ", "   # "}},
      {')', {" #   ", "  #  ", "   # ", "   # ", "   # ", "  #  ", " #   "}},
      {'/', {"    #", "    #", "   # ", "  #  ", " #   ", "#    ", "#    "}},
      {'+', {"     ", "  #  ", "  #  ", "#####", "  #  ", "  #  ", "     "}},
      {'?', {" ### ", "#   #", "    #", "   # ", "  #  ", "     ", "  #  "}},
  };
  return glyphs;
}
// clang-format on

constexpr int64_t kCell = 6, kLine = 9;  // pixels per character and per line, unscaled
constexpr int64_t kGap = 4;              // white space between tiles

}  // namespace

torch::Tensor render_text(const std::string& text, int64_t scale) {
  auto ink = torch::zeros({kLine, kCell * static_cast<int64_t>(text.size())});
  auto pixels = ink.accessor<float, 2>();
  for (size_t i = 0; i < text.size(); ++i) {
    const char upper = static_cast<char>(std::toupper(static_cast<unsigned char>(text[i])));
    const auto found = font().find(upper);
    const auto& glyph = found != font().end() ? found->second : font().at('?');
    for (int64_t row = 0; row < 7; ++row) {
      for (int64_t column = 0; column < 5; ++column) {
        if (glyph[row][column] == '#') pixels[row + 1][kCell * i + column] = 1.0F;
      }
    }
  }
  return ink.repeat_interleave(scale, 0).repeat_interleave(scale, 1).unsqueeze(0);
}

namespace {

/// Paints `text` in black into `canvas` [3, H, W] (white), centred in the box of width
/// `width` starting at (top, left); text wider than the box is cut at its right edge.
void paint(torch::Tensor& canvas, const std::string& text, int64_t top, int64_t left, int64_t width,
           int64_t scale) {
  if (text.empty()) return;
  auto ink = render_text(text, scale);
  const int64_t shown = std::min(ink.size(2), width);
  ink = ink.slice(2, 0, shown);
  const int64_t start = left + (width - shown) / 2;
  auto box = canvas.slice(1, top, top + ink.size(1)).slice(2, start, start + shown);
  box.mul_(1 - ink);
}

}  // namespace

torch::Tensor labelled_grid(const std::vector<torch::Tensor>& rows,
                            const std::vector<std::string>& column_labels,
                            const std::vector<std::string>& row_labels) {
  const auto& first = rows.front();
  const int64_t columns = first.size(0), height = first.size(2), width = first.size(3);
  const int64_t scale = width >= 168 ? 2 : 1;  // 14 characters per column at least
  size_t longest_row_label = 0;
  for (const auto& label : row_labels)
    longest_row_label = std::max(longest_row_label, label.size());
  const int64_t left = kGap + kCell * scale * static_cast<int64_t>(longest_row_label);
  const int64_t top = kGap + (column_labels.empty() ? 0 : kLine * scale);
  const int64_t count = static_cast<int64_t>(rows.size());
  auto canvas = torch::ones({3, top + count * (height + kGap), left + columns * (width + kGap)});
  for (int64_t r = 0; r < count; ++r) {
    const auto tiles = rows[r].to(torch::kFloat32).cpu().expand({-1, 3, -1, -1});
    const int64_t y = top + r * (height + kGap);
    for (int64_t c = 0; c < columns; ++c) {
      const int64_t x = left + kGap + c * (width + kGap);
      canvas.slice(1, y, y + height).slice(2, x, x + width).copy_(tiles[c].clamp(0.0, 1.0));
    }
    if (r < static_cast<int64_t>(row_labels.size())) {
      paint(canvas, row_labels[r], y + (height - kLine * scale) / 2, 0, left, scale);
    }
  }
  for (int64_t c = 0; c < columns && c < static_cast<int64_t>(column_labels.size()); ++c) {
    paint(canvas, column_labels[c], kGap / 2, left + kGap + c * (width + kGap), width, scale);
  }
  return canvas;
}

}  // namespace mapinverse::cli
