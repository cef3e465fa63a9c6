#include "fuzz_file.hpp"
#include "mapinverse/io/png.hpp"

// read_png() with a 2^20-pixel limit, so the fuzzer explores decoding rather than
// allocating large images.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return mapinverse::fuzzing::read_bytes_as_file(data, size, ".png", [](const std::string& path) {
    const auto image = mapinverse::read_png(path, int64_t{1} << 20);
    if (image.dim() != 3 || (image.size(0) != 1 && image.size(0) != 3)) __builtin_trap();
  });
}
