#include <torch/torch.h>

#include "mapinverse/io/idx.hpp"

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>
#include <zlib.h>

namespace mapinverse {
namespace {

inline constexpr uint32_t kImagesMagic = 0x00000803;
inline constexpr uint32_t kLabelsMagic = 0x00000801;
/// Guards against absurd headers before allocating: far above any IDX data set in use.
inline constexpr int64_t kMaxElements = int64_t{1} << 32;

struct GzCloser {
  void operator()(gzFile file) const { gzclose(file); }
};
using GzFile = std::unique_ptr<gzFile_s, GzCloser>;

GzFile open_gz(const std::string& path, const char* where) {
  if (!std::filesystem::is_regular_file(path)) {
    throw std::runtime_error(fmt::format("{}: cannot find IDX file '{}'", where, path));
  }
  GzFile file(gzopen(path.c_str(), "rb"));
  if (!file) {
    throw std::runtime_error(fmt::format("{}: cannot open IDX file '{}'", where, path));
  }
  return file;
}

/// Reads exactly `size` bytes or throws, naming the file and what was being read.
void read_exact(gzFile file, void* buffer, size_t size, const std::string& path, const char* what,
                const char* where) {
  auto* bytes = static_cast<unsigned char*>(buffer);
  size_t done = 0;
  while (done < size) {
    // gzread takes an unsigned int count: read large payloads in chunks.
    const auto chunk = static_cast<unsigned>(std::min<size_t>(size - done, 1u << 30));
    const int got = gzread(file, bytes + done, chunk);
    if (got < 0) {
      int code = 0;
      const char* message = gzerror(file, &code);
      throw std::runtime_error(fmt::format(
          "{}: '{}' is not a valid gzip stream while reading {}: {}", where, path, what, message));
    }
    if (got == 0) {
      throw std::runtime_error(fmt::format("{}: '{}' is truncated: expected {} bytes of {}, got {}",
                                           where, path, size, what, done));
    }
    done += static_cast<size_t>(got);
  }
}

uint32_t read_big_endian(gzFile file, const std::string& path, const char* what,
                         const char* where) {
  std::array<unsigned char, 4> bytes{};
  read_exact(file, bytes.data(), bytes.size(), path, what, where);
  return (uint32_t{bytes[0]} << 24) | (uint32_t{bytes[1]} << 16) | (uint32_t{bytes[2]} << 8) |
         uint32_t{bytes[3]};
}

void check_magic(uint32_t magic, uint32_t expected, const std::string& path, const char* where) {
  if (magic != expected) {
    throw std::runtime_error(fmt::format("{}: '{}' has magic number 0x{:08x}, expected 0x{:08x}",
                                         where, path, magic, expected));
  }
}

/// Reads the payload and checks that nothing follows it: trailing bytes mean the
/// header's dimensions do not describe the file. The buffer grows with the data that
/// actually arrives (16 MiB at a time), so a header that declares more than the file
/// holds costs no more memory than the file's contents.
std::vector<uint8_t> read_payload(gzFile file, int64_t count, const std::string& path,
                                  const char* where) {
  constexpr size_t kChunk = size_t{1} << 24;
  const auto total = static_cast<size_t>(count);
  std::vector<uint8_t> data;
  while (data.size() < total) {
    const size_t done = data.size();
    const size_t step = std::min(kChunk, total - done);
    data.resize(done + step);
    const int got = gzread(file, data.data() + done, static_cast<unsigned>(step));
    if (got < 0) {
      int code = 0;
      throw std::runtime_error(
          fmt::format("{}: '{}' is not a valid gzip stream while reading "
                      "data: {}",
                      where, path, gzerror(file, &code)));
    }
    data.resize(done + static_cast<size_t>(got));
    if (got == 0) {
      throw std::runtime_error(fmt::format(
          "{}: '{}' is truncated: expected {} bytes of data, got {}", where, path, total, done));
    }
  }
  unsigned char extra = 0;
  if (gzread(file, &extra, 1) != 0) {
    throw std::runtime_error(fmt::format(
        "{}: '{}' has data beyond the {} bytes its header declares", where, path, count));
  }
  return data;
}

std::string missing_dataset_message(const std::string& directory, const std::string& file) {
  return fmt::format(
      "read_fashion_mnist(): cannot find '{}' in '{}'. Install the Debian package "
      "dataset-fashion-mnist (it provides {}) or pass the directory that holds the IDX files",
      file, directory, kFashionMnistDirectory);
}

}  // namespace

torch::Tensor read_idx_images(const std::string& path) {
  constexpr const char* where = "read_idx_images()";
  auto file = open_gz(path, where);
  check_magic(read_big_endian(file.get(), path, "the magic number", where), kImagesMagic, path,
              where);
  const int64_t count = read_big_endian(file.get(), path, "the image count", where);
  const int64_t rows = read_big_endian(file.get(), path, "the row count", where);
  const int64_t columns = read_big_endian(file.get(), path, "the column count", where);
  // Divisions rather than products, so that a corrupt header cannot overflow.
  if (rows == 0 || columns == 0 || rows > kMaxElements / columns ||
      count > kMaxElements / (rows * columns)) {
    throw std::runtime_error(fmt::format("{}: '{}' declares invalid dimensions {}x{}x{}", where,
                                         path, count, rows, columns));
  }
  auto data = read_payload(file.get(), count * rows * columns, path, where);
  auto bytes = torch::from_blob(data.data(), {count, 1, rows, columns}, torch::kUInt8);
  return bytes.to(torch::kFloat32).div_(127.5).sub_(1.0);
}

torch::Tensor read_idx_labels(const std::string& path) {
  constexpr const char* where = "read_idx_labels()";
  auto file = open_gz(path, where);
  check_magic(read_big_endian(file.get(), path, "the magic number", where), kLabelsMagic, path,
              where);
  const int64_t count = read_big_endian(file.get(), path, "the label count", where);
  auto data = read_payload(file.get(), count, path, where);
  return torch::from_blob(data.data(), {count}, torch::kUInt8).to(torch::kInt64);
}

IdxDataset read_fashion_mnist(const std::string& directory, FashionMnistSplit split) {
  const std::string prefix = split == FashionMnistSplit::kTrain ? "train" : "t10k";
  const std::string images_name = prefix + "-images-idx3-ubyte.gz";
  const std::string labels_name = prefix + "-labels-idx1-ubyte.gz";
  const auto root = std::filesystem::path(directory);
  for (const auto& name : {images_name, labels_name}) {
    if (!std::filesystem::is_regular_file(root / name)) {
      throw std::runtime_error(missing_dataset_message(directory, name));
    }
  }
  IdxDataset dataset{read_idx_images((root / images_name).string()),
                     read_idx_labels((root / labels_name).string())};
  if (dataset.images.size(0) != dataset.labels.size(0)) {
    throw std::runtime_error(
        fmt::format("read_fashion_mnist(): '{}' holds {} images but '{}' holds {} labels",
                    images_name, dataset.images.size(0), labels_name, dataset.labels.size(0)));
  }
  return dataset;
}

}  // namespace mapinverse
