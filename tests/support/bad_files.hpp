#pragma once

// Files that are wrong in the ways users' files are: shared by the library's and the
// command-line tool's bad-input corpora.

#include <png.h>
#include <zlib.h>

#include <cstdint>
#include <fstream>
#include <functional>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "mapinverse/io/png.hpp"

namespace mapinverse::testing::bad_files {

inline std::vector<char> bytes_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

inline void write_bytes(const std::string& path, const std::vector<char>& bytes) {
  std::ofstream(path, std::ios::binary)
      .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline void append_chunk(std::vector<char>& out, const char* type,
                         const std::vector<unsigned char>& data) {
  const auto put32 = [&out](uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8)
      out.push_back(static_cast<char>((v >> shift) & 0xff));
  };
  put32(static_cast<uint32_t>(data.size()));
  std::vector<unsigned char> body(type, type + 4);
  body.insert(body.end(), data.begin(), data.end());
  out.insert(out.end(), body.begin(), body.end());
  put32(static_cast<uint32_t>(crc32(0L, body.data(), static_cast<uInt>(body.size()))));
}

/// A PNG signature and IHDR claiming width x height, with no pixel data.
inline void write_png_header(const std::string& path, uint32_t width, uint32_t height,
                             int bit_depth) {
  std::vector<char> out{'\x89', 'P', 'N', 'G', '\r', '\n', '\x1a', '\n'};
  std::vector<unsigned char> ihdr;
  for (const uint32_t v : {width, height}) {
    for (int shift = 24; shift >= 0; shift -= 8) ihdr.push_back((v >> shift) & 0xff);
  }
  ihdr.insert(ihdr.end(), {static_cast<unsigned char>(bit_depth), 0, 0, 0, 0});
  append_chunk(out, "IHDR", ihdr);
  append_chunk(out, "IDAT", {});  // the header is judged before any pixel is decoded
  append_chunk(out, "IEND", {});
  write_bytes(path, out);
}

/// A valid 8-bit grey PNG of the given levels (0..255), row-major.
inline void write_grey_png(const std::string& path, int width, int height,
                           const std::function<int(int, int)>& level) {
  auto image = torch::empty({1, height, width});
  for (int r = 0; r < height; ++r) {
    for (int c = 0; c < width; ++c) image[0][r][c] = level(r, c) / 255.0;
  }
  write_png(path, image);
}

/// libpng's writer on prepared rows; alone in its function because libpng reports errors
/// by longjmp (no local variable here changes after setjmp).
inline void encode_png_rows(const std::string& path, png_uint_32 width, png_uint_32 height,
                            int bit_depth, int color_type, bool interlaced,
                            std::vector<png_bytep>& rows) {
  std::vector<png_color> palette(256);
  for (int i = 0; i < 256; ++i) {
    palette[i] = {static_cast<png_byte>(i), static_cast<png_byte>(i), static_cast<png_byte>(i)};
  }
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) throw std::runtime_error("write_png_layout: cannot open " + path);
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(png);
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    std::fclose(file);
    throw std::runtime_error("write_png_layout: libpng failed on " + path);
  }
  png_init_io(png, file);
  png_set_IHDR(png, info, width, height, bit_depth, color_type,
               interlaced ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_PLTE(png, info, palette.data(), 256);
  png_write_info(png, info);
  png_write_image(png, rows.data());
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  std::fclose(file);
}

/// The layouts of PNG files that users have, beyond the 8-bit grey and RGB that
/// write_png() makes.
enum class PngLayout { kGreyAlpha, kPalette, kRgba, kOneBitGrey, kInterlacedGrey };

/// A PNG of `layout` whose grey level at (r, c) is level(r, c) (0..255; 1-bit files are
/// white where the level is >= 128). Palette files have 256 grey entries.
inline void write_png_layout(const std::string& path, int width, int height, PngLayout layout,
                             const std::function<int(int, int)>& level) {
  int color_type = PNG_COLOR_TYPE_GRAY;
  int bit_depth = 8;
  int bytes_per_pixel = 1;
  if (layout == PngLayout::kGreyAlpha) color_type = PNG_COLOR_TYPE_GRAY_ALPHA, bytes_per_pixel = 2;
  if (layout == PngLayout::kPalette) color_type = PNG_COLOR_TYPE_PALETTE;
  if (layout == PngLayout::kRgba) color_type = PNG_COLOR_TYPE_RGB_ALPHA, bytes_per_pixel = 4;
  if (layout == PngLayout::kOneBitGrey) bit_depth = 1;
  const size_t row_bytes = layout == PngLayout::kOneBitGrey
                               ? static_cast<size_t>((width + 7) / 8)
                               : static_cast<size_t>(width * bytes_per_pixel);
  std::vector<std::vector<png_byte>> rows(static_cast<size_t>(height),
                                          std::vector<png_byte>(row_bytes, 0));
  for (int r = 0; r < height; ++r) {
    for (int c = 0; c < width; ++c) {
      const auto value = static_cast<png_byte>(level(r, c));
      auto* pixel = rows[r].data();
      if (layout == PngLayout::kOneBitGrey) {
        if (value >= 128) pixel[c / 8] |= static_cast<png_byte>(0x80 >> (c % 8));
      } else {
        for (int k = 0; k < bytes_per_pixel; ++k) pixel[c * bytes_per_pixel + k] = value;
        if (bytes_per_pixel == 2 || bytes_per_pixel == 4) {
          pixel[c * bytes_per_pixel + bytes_per_pixel - 1] = 255;  // opaque
        }
      }
    }
  }
  std::vector<png_bytep> pointers;
  for (auto& row : rows) pointers.push_back(row.data());
  encode_png_rows(path, static_cast<png_uint_32>(width), static_cast<png_uint_32>(height),
                  bit_depth, color_type, layout == PngLayout::kInterlacedGrey, pointers);
}

}  // namespace mapinverse::testing::bad_files
