#include <torch/torch.h>

#include "mapinverse/io/png.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>
#include <png.h>

#include "mapinverse/core/error.hpp"
#include "mapinverse/core/tensor_checks.hpp"
#include "mapinverse/io/atomic_write.hpp"

namespace mapinverse {
namespace {

struct FileCloser {
  void operator()(std::FILE* file) const {
    if (file != nullptr) std::fclose(file);
  }
};
using FilePointer = std::unique_ptr<std::FILE, FileCloser>;

[[noreturn]] void png_error_handler(png_structp png, png_const_charp message) {
  auto* error = static_cast<std::string*>(png_get_error_ptr(png));
  *error = message;
  png_longjmp(png, 1);
}

void png_warning_handler(png_structp /*png*/, png_const_charp /*message*/) {}

// libpng reports errors by longjmp: everything that owns resources lives outside
// the function that calls setjmp, and no C++ object with a destructor is created
// between setjmp and the libpng calls.
bool decode_png(std::FILE* file, std::string& error, png_uint_32& width, png_uint_32& height,
                int& channels, int& bit_depth, std::vector<png_byte>& pixels, int64_t max_pixels) {
  png_structp png =
      png_create_read_struct(PNG_LIBPNG_VER_STRING, &error, png_error_handler, png_warning_handler);
  if (png == nullptr) {
    error = "out of memory";
    return false;
  }
  png_infop info = png_create_info_struct(png);
  std::vector<png_bytep> rows;
  if (info == nullptr || setjmp(png_jmpbuf(png))) {
    png_destroy_read_struct(&png, info != nullptr ? &info : nullptr, nullptr);
    if (error.empty()) error = "libpng failed";
    return false;
  }
  png_init_io(png, file);
  png_read_info(png, info);
  width = png_get_image_width(png, info);
  height = png_get_image_height(png, info);
  bit_depth = png_get_bit_depth(png, info);
  const int color_type = png_get_color_type(png, info);
  if (bit_depth == 16) {
    error = "16-bit PNG files are not supported; convert the image to 8 bits per channel";
    png_destroy_read_struct(&png, &info, nullptr);
    return false;
  }
  if (static_cast<int64_t>(width) * static_cast<int64_t>(height) > max_pixels) {
    error = fmt::format("image of {}x{} pixels exceeds the limit of {} pixels", width, height,
                        max_pixels);
    png_destroy_read_struct(&png, &info, nullptr);
    return false;
  }
  if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
  if ((color_type & PNG_COLOR_MASK_ALPHA) != 0 || png_get_valid(png, info, PNG_INFO_tRNS) != 0) {
    png_set_strip_alpha(png);
  }
  png_read_update_info(png, info);
  channels = png_get_channels(png, info);
  const size_t row_bytes = png_get_rowbytes(png, info);
  pixels.resize(row_bytes * height);
  rows.resize(height);
  for (png_uint_32 r = 0; r < height; ++r) rows[r] = pixels.data() + r * row_bytes;
  png_read_image(png, rows.data());
  png_read_end(png, nullptr);
  png_destroy_read_struct(&png, &info, nullptr);
  return true;
}

bool encode_png(std::FILE* file, std::string& error, png_uint_32 width, png_uint_32 height,
                int channels, std::vector<png_byte>& pixels) {
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &error, png_error_handler,
                                            png_warning_handler);
  if (png == nullptr) {
    error = "out of memory";
    return false;
  }
  png_infop info = png_create_info_struct(png);
  std::vector<png_bytep> rows(height);
  if (info == nullptr || setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, info != nullptr ? &info : nullptr);
    if (error.empty()) error = "libpng failed";
    return false;
  }
  png_init_io(png, file);
  png_set_IHDR(png, info, width, height, 8,
               channels == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  const size_t row_bytes = static_cast<size_t>(width) * static_cast<size_t>(channels);
  for (png_uint_32 r = 0; r < height; ++r) rows[r] = pixels.data() + r * row_bytes;
  png_write_info(png, info);
  png_write_image(png, rows.data());
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  return true;
}

}  // namespace

torch::Tensor read_png(const std::string& path, int64_t max_pixels) {
  FilePointer file(std::fopen(path.c_str(), "rb"));
  if (!file) {
    throw std::runtime_error(
        fmt::format("read_png(): cannot open '{}': {}", path, std::strerror(errno)));
  }
  png_byte signature[8] = {};
  if (std::fread(signature, 1, sizeof signature, file.get()) != sizeof signature ||
      png_sig_cmp(signature, 0, sizeof signature) != 0) {
    throw std::runtime_error(fmt::format("read_png(): '{}' is not a PNG file", path));
  }
  std::rewind(file.get());
  std::string error;
  png_uint_32 width = 0;
  png_uint_32 height = 0;
  int channels = 0;
  int bit_depth = 0;
  std::vector<png_byte> pixels;
  if (!decode_png(file.get(), error, width, height, channels, bit_depth, pixels, max_pixels)) {
    const bool is_limit = bit_depth == 16 || error.find("exceeds the limit") != std::string::npos;
    const auto message = fmt::format("read_png(): cannot read '{}': {}", path, error);
    if (is_limit) throw std::invalid_argument(message);
    throw std::runtime_error(message);
  }
  const int64_t c = channels;
  auto image = torch::from_blob(pixels.data(),
                                {static_cast<int64_t>(height), static_cast<int64_t>(width), c},
                                torch::kUInt8)
                   .permute({2, 0, 1})
                   .to(torch::kFloat32)
                   .div(255.0)
                   .contiguous();
  return image;
}

void write_png(const std::string& path, const torch::Tensor& image) {
  check_defined(image, "write_png()", "image");
  auto chw = image.dim() == 2 ? image.unsqueeze(0) : image;
  require(chw.dim() == 3 && (chw.size(0) == 1 || chw.size(0) == 3),
          "write_png(): expected image of shape [C,H,W] with C = 1 or 3, or [H,W], got {}",
          shape_string(image));
  require(chw.size(1) > 0 && chw.size(2) > 0, "write_png(): expected a non-empty image, got {}",
          shape_string(image));
  check_finite(chw, "write_png()", "image");
  auto bytes = chw.detach()
                   .to(torch::kCPU, torch::kFloat32)
                   .clamp(0.0, 1.0)
                   .mul(255.0)
                   .round()
                   .to(torch::kUInt8)
                   .permute({1, 2, 0})
                   .contiguous();
  std::vector<png_byte> pixels(bytes.data_ptr<uint8_t>(),
                               bytes.data_ptr<uint8_t>() + bytes.numel());

  write_atomically(
      path,
      [&](const std::string& temporary) {
        FilePointer file(std::fopen(temporary.c_str(), "wb"));
        if (!file) {
          throw std::runtime_error(
              fmt::format("write_png(): cannot write '{}': {}", path, std::strerror(errno)));
        }
        std::string error;
        const bool encoded = encode_png(file.get(), error, static_cast<png_uint_32>(chw.size(2)),
                                        static_cast<png_uint_32>(chw.size(1)),
                                        static_cast<int>(chw.size(0)), pixels);
        const bool closed = std::fclose(file.release()) == 0;
        if (!encoded || !closed) {
          throw std::runtime_error(fmt::format("write_png(): cannot write '{}': {}", path,
                                               error.empty() ? std::strerror(errno) : error));
        }
      },
      "write_png()");
}

torch::Tensor make_grid(const torch::Tensor& images, int64_t columns, int64_t pad,
                        double background) {
  require(images.defined() && images.dim() == 4,
          "make_grid(): expected images of shape [N,C,H,W], got {}", shape_string(images));
  require(columns >= 1, "make_grid(): columns = {}. Violated constraint: columns >= 1", columns);
  require(pad >= 0, "make_grid(): pad = {}. Violated constraint: pad >= 0", pad);
  const int64_t count = images.size(0);
  const int64_t channels = images.size(1);
  const int64_t height = images.size(2);
  const int64_t width = images.size(3);
  const int64_t rows = (count + columns - 1) / columns;
  auto grid = torch::full({channels, rows * (height + pad) + pad, columns * (width + pad) + pad},
                          background, images.options());
  for (int64_t i = 0; i < count; ++i) {
    const int64_t top = pad + (i / columns) * (height + pad);
    const int64_t left = pad + (i % columns) * (width + pad);
    grid.narrow(1, top, height).narrow(2, left, width).copy_(images[i]);
  }
  return grid;
}

at::Tensor to_unit_range(const at::Tensor& image) { return ((image + 1.0) * 0.5).clamp(0.0, 1.0); }

}  // namespace mapinverse
