#pragma once

// Reading images and model files, and checking output paths (files.cpp).

#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace mapinverse::cli {

/// FNV-1a of a file's bytes, in hex: tells two versions of a model file apart.
std::string fingerprint(const std::string& path);

/// The Fashion-MNIST test images with these indices, [N,1,28,28] in [-1, 1]. `flag` is
/// the option the indices came from (--fmnist-test, --fmnist-range), named in errors.
torch::Tensor fashion_mnist_test_images(const std::vector<int64_t>& indices,
                                        const std::string& data_directory, const std::string& flag);

/// The image file `path` (given as `flag`) in [-1, 1], [C, H, W]; at most
/// kMaxImagePixels pixels.
torch::Tensor read_image(const std::string& flag, const std::string& path);

/// Checks a path the program is about to write (given as `flag`): its folder exists or can
/// be made and is writable, it is none of `inputs`, and it is not an existing read-only
/// file (one without any write permission bit: refused even for root, who could replace
/// it). Throws std::invalid_argument naming the flag and the path otherwise.
void check_output_path(const std::string& flag, const std::string& output,
                       const std::vector<std::string>& inputs);

/// True when `path` (a file or folder) has no write permission bit at all.
bool is_read_only(const std::string& path);

}  // namespace mapinverse::cli
