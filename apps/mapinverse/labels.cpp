// Class labels for class-conditional priors (--class-label, labels files) and folders of
// images (--input-dir).

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <fmt/format.h>

#include "mapinverse/core/tensor_checks.hpp"
#include "mapinverse/io/png.hpp"
#include "limits.hpp"
#include "setup.hpp"

namespace mapinverse::cli {

torch::Tensor Prior::labels_for(const std::vector<int64_t>& labels, int64_t count,
                                const std::string& flag) const {
  if (!takes_labels) {
    require(labels.empty(), "{}: the prior is unconditional and takes no class labels", flag);
    return {};
  }
  require(!labels.empty(),
          "the prior is class-conditional{}: give --class-label N (one label for all images, "
          "or one per image) or, with --input-dir, --labels FILE",
          num_classes > 0 ? fmt::format(" ({} classes)", num_classes) : std::string());
  require(labels.size() == 1 || static_cast<int64_t>(labels.size()) == count,
          "{}: {} labels for {} images; expected one label or one per image", flag, labels.size(),
          count);
  for (const auto label : labels) {
    require(label >= 0 && (num_classes == 0 || label < num_classes),
            "{} {}: expected a class label in [0, {})", flag, label,
            num_classes > 0 ? fmt::format("{}", num_classes) : std::string("number of classes"));
  }
  auto tensor = torch::tensor(labels, torch::kLong);
  if (labels.size() == 1) tensor = tensor.expand({count}).contiguous();
  return tensor.to(device);
}

namespace {

/// "NAME LABEL", "NAME,LABEL" or "NAME\tLABEL" -> (stem of NAME, LABEL).
std::pair<std::string, int64_t> parse_labels_line(std::string line, const std::string& path,
                                                  int number) {
  for (auto& character : line) {
    if (character == ',' || character == '\t' || character == '\r') character = ' ';
  }
  std::istringstream fields(line);
  std::string name, label_text, rest;
  fields >> name >> label_text >> rest;
  size_t end = 0;
  long long label = -1;
  try {
    label = std::stoll(label_text, &end);
  } catch (const std::exception&) {
    end = 0;
  }
  require(!name.empty() && end == label_text.size() && end > 0 && label >= 0 && rest.empty(),
          "--labels {} line {}: expected \"NAME LABEL\" with a whole-number label >= 0, got "
          "\"{}\"",
          path, number, line);
  return {std::filesystem::path(name).stem().string(), label};
}

}  // namespace

std::vector<int64_t> read_labels_file(const std::string& path,
                                      const std::vector<std::string>& names) {
  std::ifstream in(path);
  require(in.good(), "--labels {}: cannot read the file", path);
  std::map<std::string, int64_t> by_name;
  int number = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    const auto comment = line.find('#');
    if (comment != std::string::npos) line.erase(comment);
    if (line.find_first_not_of(" \t\r,") == std::string::npos) continue;
    const auto [name, label] = parse_labels_line(line, path, number);
    const auto [place, inserted] = by_name.emplace(name, label);
    require(inserted || place->second == label, "--labels {} line {}: {} has two labels, {} and {}",
            path, number, name, place->second, label);
  }
  std::vector<int64_t> labels;
  for (const auto& name : names) {
    const auto found = by_name.find(name);
    require(found != by_name.end(), "--labels {}: no label for the image {}", path, name);
    labels.push_back(found->second);
  }
  return labels;
}

namespace {

/// The folder's PNG files (extension .png in any case; hidden files, such as the "._x.png"
/// that macOS leaves, and sub-folders skipped), sorted by name. Two files whose outputs
/// would share a name are refused.
std::vector<std::filesystem::path> png_files(const std::string& folder, const std::string& flag) {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(folder)) {
    auto extension = entry.path().extension().string();
    std::transform(extension.begin(), extension.end(), extension.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    const bool hidden = entry.path().filename().string().rfind('.', 0) == 0;
    if (entry.is_regular_file() && extension == ".png" && !hidden) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  require(!files.empty(), "{} {}: no .png files in it", flag, folder);
  std::map<std::string, std::filesystem::path> by_stem;
  for (const auto& file : files) {
    const auto [other, added] = by_stem.emplace(file.stem().string(), file);
    require(added, "{} {}: {} and {} would both be restored as {}.png; rename one", flag, folder,
            other->second.filename().string(), file.filename().string(), file.stem().string());
  }
  return files;
}

}  // namespace

ImageFolder read_image_folder(const std::string& folder, const std::string& flag) {
  const auto files = png_files(folder, flag);
  ImageFolder result;
  std::vector<torch::Tensor> images;
  for (const auto& file : files) {
    images.push_back(read_image(flag, file.string()));
    require(images.back().sizes() == images.front().sizes(),
            "{}: {} is {}, but {} is {}: all images must have one size", flag, file.string(),
            shape_string(images.back()), files.front().string(), shape_string(images.front()));
    const auto total = static_cast<int64_t>(files.size()) * images.front().numel();
    require(total <= kMaxInputValues,
            "{} {}: {} images of {} values are {} values; the limit is {} (restore the folder "
            "in parts)",
            flag, folder, files.size(), shape_string(images.front()), total, kMaxInputValues);
    result.names.push_back(file.stem().string());
  }
  result.images = torch::stack(images);
  return result;
}

}  // namespace mapinverse::cli
