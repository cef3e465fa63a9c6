// The PNG layouts users' files come in, beyond the 8-bit grey and RGB files the library
// writes: each must read as the same picture.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include "mapinverse/io/png.hpp"
#include "support/bad_files.hpp"
#include "support/temporary_directory.hpp"

using namespace mapinverse::testing::bad_files;

TEST_CASE("read_png reads grey+alpha, palette, RGBA, 1-bit and interlaced files alike",
          "[io][png]") {
  const mapinverse::testing::TemporaryDirectory folder("png_layouts");
  const auto level = [](int r, int c) { return (r * 9 + c * 5) % 256; };
  // 29 x 27: neither side a multiple of 8 (1-bit rows end mid-byte) and every Adam7 pass
  // of the interlaced file is non-empty.
  const int width = 29, height = 27;
  write_grey_png(folder.file("plain.png"), width, height, level);
  const auto plain = mapinverse::read_png(folder.file("plain.png"));
  REQUIRE(plain.sizes() == torch::IntArrayRef({1, height, width}));

  const auto read_layout = [&](const char* name, PngLayout layout) {
    write_png_layout(folder.file(name), width, height, layout, level);
    return mapinverse::read_png(folder.file(name));
  };
  CHECK(torch::equal(read_layout("grey_alpha.png", PngLayout::kGreyAlpha), plain));
  CHECK(torch::equal(read_layout("interlaced.png", PngLayout::kInterlacedGrey), plain));
  const auto colour = plain.expand({3, height, width});
  CHECK(torch::equal(read_layout("palette.png", PngLayout::kPalette), colour));
  CHECK(torch::equal(read_layout("rgba.png", PngLayout::kRgba), colour));
  const auto one_bit = read_layout("one_bit.png", PngLayout::kOneBitGrey);
  CHECK(torch::equal(one_bit, (plain >= 128.0 / 255.0 - 1e-6).to(torch::kFloat)));
}
