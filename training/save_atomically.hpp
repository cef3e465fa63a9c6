#pragma once

#include <filesystem>
#include <functional>
#include <string>

namespace mapinverse::examples {

/// Writes through `write` to a temporary file and renames it over `path`, so an
/// interrupted run never leaves a half-written file behind.
inline void save_atomically(const std::filesystem::path& path,
                            const std::function<void(const std::string&)>& write) {
  const auto temporary = path.string() + ".tmp";
  write(temporary);
  std::filesystem::rename(temporary, path);
}

}  // namespace mapinverse::examples
