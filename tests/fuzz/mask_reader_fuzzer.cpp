#include "fuzz_file.hpp"
#include "mapinverse/operators/masks.hpp"

// read_mask_png(): PNG decoding plus the binary-mask checks.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return mapinverse::fuzzing::read_bytes_as_file(data, size, ".png", [](const std::string& path) {
    const auto mask = mapinverse::read_mask_png(path);
    if (mask.dim() != 4 || !((mask == 0) | (mask == 1)).all().item<bool>()) __builtin_trap();
  });
}
