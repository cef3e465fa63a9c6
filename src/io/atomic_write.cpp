#include "mapinverse/io/atomic_write.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <system_error>

#include <fmt/format.h>

namespace mapinverse {
namespace {

[[noreturn]] void fail(std::string_view where, const std::string& path, const std::string& reason) {
  throw std::runtime_error(
      fmt::format("{}{}cannot write '{}': {}", where, where.empty() ? "" : ": ", path, reason));
}

}  // namespace

std::string temporary_path(const std::string& path) { return path + std::string(kTemporarySuffix); }

void write_atomically(const std::string& path,
                      const std::function<void(const std::string& temporary)>& write,
                      std::string_view where) {
  const auto temporary = temporary_path(path);
  std::error_code ignored;
  std::filesystem::remove_all(temporary, ignored);
  try {
    write(temporary);
  } catch (...) {
    std::filesystem::remove_all(temporary, ignored);
    throw;
  }
  std::error_code error;
  std::filesystem::rename(temporary, path, error);
  if (error) {
    std::filesystem::remove_all(temporary, ignored);
    fail(where, path, error.message());
  }
}

void write_file_atomically(const std::string& path, std::string_view contents,
                           std::string_view where) {
  write_atomically(
      path,
      [&](const std::string& temporary) {
        std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
        if (!out) fail(where, path, std::strerror(errno));
        out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
        out.close();
        if (!out) fail(where, path, "the write did not complete");
      },
      where);
}

}  // namespace mapinverse
