#include "fuzz_file.hpp"
#include "mapinverse/io/idx.hpp"

// read_idx_images() and read_idx_labels() on the same bytes (gzip or plain).
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mapinverse::fuzzing::read_bytes_as_file(data, size, ".gz", [](const std::string& path) {
    const auto images = mapinverse::read_idx_images(path);
    if (images.dim() != 4) __builtin_trap();
  });
  return mapinverse::fuzzing::read_bytes_as_file(data, size, ".gz", [](const std::string& path) {
    const auto labels = mapinverse::read_idx_labels(path);
    if (labels.dim() != 1) __builtin_trap();
  });
}
