// The tool's input and output files: Fashion-MNIST test images, PNG inputs, and the
// checks that keep an output from replacing something the user has.

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "limits.hpp"
#include "mapinverse/mapinverse.hpp"
#include "setup.hpp"

namespace mapinverse::cli {

torch::Tensor fashion_mnist_test_images(const std::vector<int64_t>& indices,
                                        const std::string& data_directory,
                                        const std::string& flag) {
  set_activity(fmt::format("reading the Fashion-MNIST test set from {}", data_directory));
  const auto test = naming_flag("--data", data_directory, [&] {
    return read_fashion_mnist(data_directory, FashionMnistSplit::kTest);
  });
  const int64_t available = test.images.size(0);
  for (const auto index : indices) {
    require(index >= 0 && index < available,
            "{}: image {} is not in the test set: expected indices in [0, {})", flag, index,
            available);
  }
  return test.images.index_select(0, torch::tensor(indices, torch::kLong));
}

torch::Tensor read_image(const std::string& flag, const std::string& path) {
  set_activity(fmt::format("reading {}", path));
  return naming_flag(flag, path, [&] { return read_png(path, kMaxImagePixels) * 2.0 - 1.0; });
}

std::string fingerprint(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  uint64_t hash = 1469598103934665603ULL;  // FNV-1a, 64 bits
  char buffer[1 << 16];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    for (std::streamsize i = 0; i < in.gcount(); ++i) {
      hash = (hash ^ static_cast<unsigned char>(buffer[i])) * 1099511628211ULL;
    }
  }
  return fmt::format("{:016x}", hash);
}

bool is_read_only(const std::string& path) {
  namespace fs = std::filesystem;
  constexpr auto write_bits =
      fs::perms::owner_write | fs::perms::group_write | fs::perms::others_write;
  std::error_code error;
  const auto status = fs::status(path, error);
  return !error && (status.permissions() & write_bits) == fs::perms::none;
}

void check_output_path(const std::string& flag, const std::string& output,
                       const std::vector<std::string>& inputs) {
  namespace fs = std::filesystem;
  require(!output.empty(), "{}: expected an output path, got an empty one", flag);
  for (const auto& input : inputs) {
    if (input.empty() || !fs::exists(input) || !fs::exists(output)) continue;
    require(!fs::equivalent(input, output),
            "{} {}: this is the input file {}: refusing to overwrite it", flag, output, input);
  }
  require(!fs::is_directory(output), "{} {}: is a directory, expected a file path", flag, output);
  require(!fs::exists(output) || !is_read_only(output),
          "{} {}: the file exists and is read-only: refusing to replace it", flag, output);
  auto folder = fs::path(output).parent_path();
  if (folder.empty()) folder = ".";
  std::error_code error;
  fs::create_directories(folder, error);
  require(fs::is_directory(folder), "{} {}: cannot create the folder {}", flag, output,
          folder.string());
  require(::access(folder.c_str(), W_OK) == 0 && !is_read_only(folder.string()),
          "{} {}: the folder {} is not writable", flag, output, folder.string());
}

}  // namespace mapinverse::cli
