#pragma once

#include <string>
#include "mapinverse/core/tensor.hpp"

namespace mapinverse {

/// Where Debian's `dataset-fashion-mnist` package installs the four IDX files.
inline constexpr const char* kFashionMnistDirectory = "/usr/share/datasets/fashion-mnist";

/// Which half of Fashion-MNIST to read: 60000 training or 10000 test images.
enum class FashionMnistSplit { kTrain, kTest };

/// Images and labels of an IDX data set (LeCun's MNIST file format).
struct IdxDataset {
  /// [N, 1, H, W] float32, pixel values scaled from {0..255} to [-1, 1] (docs/design.md §2).
  at::Tensor images;
  /// [N] int64 class labels.
  at::Tensor labels;
};

/// Reads a gzip-compressed IDX3 image file (magic 0x00000803: count, rows, columns,
/// then unsigned bytes). Returns [N, 1, rows, columns] float32 in [-1, 1].
/// Throws std::runtime_error naming the file and what is wrong with it.
at::Tensor read_idx_images(const std::string& path);

/// Reads a gzip-compressed IDX1 label file (magic 0x00000801: count, then unsigned
/// bytes). Returns [N] int64. Throws std::runtime_error naming the file and the problem.
at::Tensor read_idx_labels(const std::string& path);

/// Reads one split of Fashion-MNIST from `directory` (the four files
/// {train,t10k}-{images-idx3,labels-idx1}-ubyte.gz) and checks that the image and
/// label counts agree. A missing file raises an error that points at the Debian
/// package `dataset-fashion-mnist`.
IdxDataset read_fashion_mnist(const std::string& directory = kFashionMnistDirectory,
                              FashionMnistSplit split = FashionMnistSplit::kTrain);

}  // namespace mapinverse
