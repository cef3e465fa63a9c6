#pragma once

// Files that are wrong in the ways users' files are: shared by the library's and the
// command-line tool's bad-input corpora.

#include <zlib.h>

#include <cstdint>
#include <fstream>
#include <functional>
#include <iterator>
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

}  // namespace mapinverse::testing::bad_files
