#pragma once

// libFuzzer hands over bytes; the readers take paths. Each input is written to one
// file in /dev/shm (memory-backed) and the reader is called on it. Expected failures
// are exceptions; anything else (a crash, a sanitizer report, a hang) is a finding.

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <string>

namespace mapinverse::fuzzing {

inline const std::string& scratch_file(const char* suffix) {
  static const std::string path = "/dev/shm/mapinverse_fuzz_" + std::to_string(::getpid()) + suffix;
  return path;
}

template <typename Reader>
int read_bytes_as_file(const uint8_t* data, size_t size, const char* suffix, Reader&& read) {
  const auto& path = scratch_file(suffix);
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) return 0;
  std::fwrite(data, 1, size, file);
  std::fclose(file);
  try {
    read(path);
  } catch (const std::exception&) {
    // A clean refusal: what bad files should get.
  }
  return 0;
}

}  // namespace mapinverse::fuzzing
