#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

// torch before Catch: glog, pulled in by torch, defines its own CHECK.
#include <torch/torch.h>
#include <catch2/catch.hpp>
#include <zlib.h>

#include "mapinverse/io/idx.hpp"
#include "support/temporary_directory.hpp"

namespace {

namespace fs = std::filesystem;
using mapinverse::FashionMnistSplit;
using mapinverse::testing::TemporaryDirectory;

void append_big_endian(std::vector<uint8_t>& bytes, uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8)
    bytes.push_back(static_cast<uint8_t>(value >> shift));
}

std::vector<uint8_t> idx_bytes(uint32_t magic, const std::vector<uint32_t>& dims,
                               const std::vector<uint8_t>& payload) {
  std::vector<uint8_t> bytes;
  append_big_endian(bytes, magic);
  for (auto d : dims) append_big_endian(bytes, d);
  bytes.insert(bytes.end(), payload.begin(), payload.end());
  return bytes;
}

std::string write_gz(const fs::path& path, const std::vector<uint8_t>& bytes) {
  gzFile file = gzopen(path.string().c_str(), "wb");
  REQUIRE(file != nullptr);
  REQUIRE(gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size())) ==
          static_cast<int>(bytes.size()));
  REQUIRE(gzclose(file) == Z_OK);
  return path.string();
}

/// Two 2x3 images with pixel values 0, 51, ..., 255 and beyond.
const std::vector<uint8_t> kPixels = {0, 51, 102, 153, 204, 255, 255, 0, 0, 0, 0, 128};

}  // namespace

TEST_CASE("read_idx_images decodes an IDX3 file to [-1, 1]", "[io][idx]") {
  const TemporaryDirectory dir("idx_images");
  const auto path = write_gz(dir.path() / "images.gz", idx_bytes(0x803, {2, 2, 3}, kPixels));
  const auto images = mapinverse::read_idx_images(path);
  REQUIRE(images.sizes() == torch::IntArrayRef({2, 1, 2, 3}));
  REQUIRE(images.scalar_type() == torch::kFloat32);
  const auto expected =
      torch::tensor(std::vector<float>(kPixels.begin(), kPixels.end())).view({2, 1, 2, 3}) / 127.5 -
      1.0;
  CHECK(torch::allclose(images, expected, 0.0, 1e-6));
  CHECK(images[0][0][0][0].item<float>() == -1.0f);
  CHECK(images[0][0][1][2].item<float>() == 1.0f);
}

TEST_CASE("read_idx_labels decodes an IDX1 file to int64", "[io][idx]") {
  const TemporaryDirectory dir("idx_labels");
  const auto path = write_gz(dir.path() / "labels.gz", idx_bytes(0x801, {4}, {7, 0, 9, 3}));
  const auto labels = mapinverse::read_idx_labels(path);
  REQUIRE(labels.scalar_type() == torch::kInt64);
  CHECK(torch::equal(labels, torch::tensor({7, 0, 9, 3}, torch::kInt64)));
}

TEST_CASE("IDX readers reject malformed files with messages naming the file", "[io][idx]") {
  const TemporaryDirectory dir("idx_malformed");
  using Catch::Matchers::Contains;

  SECTION("wrong magic number") {
    const auto path =
        write_gz(dir.path() / "labels_as_images.gz", idx_bytes(0x801, {4}, {1, 2, 3, 4}));
    CHECK_THROWS_WITH(mapinverse::read_idx_images(path), Contains("labels_as_images.gz") &&
                                                             Contains("magic number 0x00000801") &&
                                                             Contains("expected 0x00000803"));
  }
  SECTION("truncated payload") {
    auto bytes = idx_bytes(0x803, {2, 2, 3}, kPixels);
    bytes.resize(bytes.size() - 5);
    const auto path = write_gz(dir.path() / "short.gz", bytes);
    CHECK_THROWS_WITH(mapinverse::read_idx_images(path), Contains("short.gz") &&
                                                             Contains("truncated") &&
                                                             Contains("expected 12 bytes"));
  }
  SECTION("truncated header") {
    const auto path = write_gz(dir.path() / "header.gz", {0, 0, 8, 3, 0, 0});
    CHECK_THROWS_WITH(mapinverse::read_idx_images(path),
                      Contains("header.gz") && Contains("truncated") && Contains("image count"));
  }
  SECTION("data beyond the declared size") {
    const auto path = write_gz(dir.path() / "long.gz", idx_bytes(0x801, {2}, {1, 2, 3}));
    CHECK_THROWS_WITH(mapinverse::read_idx_labels(path),
                      Contains("long.gz") && Contains("beyond the 2 bytes"));
  }
  SECTION("zero-sized images") {
    const auto path = write_gz(dir.path() / "empty_rows.gz", idx_bytes(0x803, {1, 0, 3}, {}));
    CHECK_THROWS_WITH(mapinverse::read_idx_images(path),
                      Contains("empty_rows.gz") && Contains("invalid dimensions 1x0x3"));
  }
  SECTION("missing file") {
    CHECK_THROWS_WITH(mapinverse::read_idx_labels((dir.path() / "absent.gz").string()),
                      Contains("absent.gz") && Contains("cannot find"));
  }
}

TEST_CASE("read_fashion_mnist points at the Debian package when files are missing", "[io][idx]") {
  const TemporaryDirectory dir("idx_no_dataset");
  using Catch::Matchers::Contains;
  CHECK_THROWS_WITH(mapinverse::read_fashion_mnist(dir.path().string(), FashionMnistSplit::kTest),
                    Contains("t10k-images-idx3-ubyte.gz") && Contains("dataset-fashion-mnist") &&
                        Contains(mapinverse::kFashionMnistDirectory));
}

TEST_CASE("read_fashion_mnist checks that images and labels agree", "[io][idx]") {
  const TemporaryDirectory dir("idx_mismatch");
  write_gz(dir.path() / "train-images-idx3-ubyte.gz", idx_bytes(0x803, {2, 2, 3}, kPixels));
  write_gz(dir.path() / "train-labels-idx1-ubyte.gz", idx_bytes(0x801, {3}, {1, 2, 3}));
  CHECK_THROWS_WITH(
      mapinverse::read_fashion_mnist(dir.path().string(), FashionMnistSplit::kTrain),
      Catch::Matchers::Contains("holds 2 images") && Catch::Matchers::Contains("holds 3 labels"));

  write_gz(dir.path() / "train-labels-idx1-ubyte.gz", idx_bytes(0x801, {2}, {4, 5}));
  const auto dataset =
      mapinverse::read_fashion_mnist(dir.path().string(), FashionMnistSplit::kTrain);
  CHECK(dataset.images.size(0) == 2);
  CHECK(torch::equal(dataset.labels, torch::tensor({4, 5}, torch::kInt64)));
}

TEST_CASE("read_fashion_mnist reads the installed test split", "[io][idx][data]") {
  if (!fs::exists(fs::path(mapinverse::kFashionMnistDirectory) / "t10k-images-idx3-ubyte.gz")) {
    WARN("Fashion-MNIST is not installed (Debian package dataset-fashion-mnist); skipped");
    return;
  }
  const auto dataset =
      mapinverse::read_fashion_mnist(mapinverse::kFashionMnistDirectory, FashionMnistSplit::kTest);
  REQUIRE(dataset.images.sizes() == torch::IntArrayRef({10000, 1, 28, 28}));
  REQUIRE(dataset.labels.sizes() == torch::IntArrayRef({10000}));
  CHECK(dataset.images.min().item<float>() == -1.0f);
  CHECK(dataset.images.max().item<float>() == 1.0f);
  CHECK(dataset.labels.min().item<int64_t>() == 0);
  CHECK(dataset.labels.max().item<int64_t>() == 9);
  // The test split is balanced: 1000 images of each class.
  CHECK(torch::equal(torch::bincount(dataset.labels), torch::full({10}, 1000, torch::kInt64)));
}
