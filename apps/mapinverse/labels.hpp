#pragma once

// Image folders and their labels files (labels.cpp).

#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace mapinverse::cli {

/// The PNG files of a folder, in name order, as [N, C, H, W] in [-1, 1], and their stems.
struct ImageFolder {
  torch::Tensor images;
  std::vector<std::string> names;
};
/// Throws std::invalid_argument naming `flag` when the folder has no PNG or sizes differ.
ImageFolder read_image_folder(const std::string& folder, const std::string& flag);

/// Reads a labels file: one "NAME LABEL" line per image (separated by spaces, tabs or a
/// comma; '#' starts a comment); NAME is a file name, with or without its folder and
/// extension. Returns the label of each of `names` (file stems), in their order; throws
/// std::invalid_argument naming the file and line for anything else or a missing name.
std::vector<int64_t> read_labels_file(const std::string& path,
                                      const std::vector<std::string>& names);

}  // namespace mapinverse::cli
