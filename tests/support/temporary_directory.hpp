#pragma once

#include <unistd.h>

#include <filesystem>
#include <string>
#include <system_error>

namespace mapinverse::testing {

/// A fresh directory under the system's temporary directory, named after `label` and this
/// process (test runs may overlap), removed with everything in it on destruction.
class TemporaryDirectory {
 public:
  explicit TemporaryDirectory(const std::string& label)
      : path_(std::filesystem::temp_directory_path() /
              ("mapinverse_" + label + "_" + std::to_string(::getpid()))) {
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TemporaryDirectory() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TemporaryDirectory(const TemporaryDirectory&) = delete;
  TemporaryDirectory& operator=(const TemporaryDirectory&) = delete;

  /// The directory itself.
  const std::filesystem::path& path() const { return path_; }
  /// The path of the file `name` inside the directory.
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace mapinverse::testing
