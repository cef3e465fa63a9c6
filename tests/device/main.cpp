// The exactness tests on an accelerator: MAPINVERSE_TEST_DEVICE names the device
// (default cuda). Without one the whole executable reports itself skipped (exit code 77,
// which CTest shows as "Skipped") and says why.
#include <torch/torch.h>

#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "device/test_device.hpp"
#include "mapinverse/core/threads.hpp"
#include "support/catch_session.hpp"

namespace {

/// --hold-gpu-memory MIB: takes all of the GPU's memory but about MIB MiB and holds it
/// until killed (out_of_memory_test.cpp). LibTorch's caching allocator is off, so that
/// the chunks given back go back to the device for other processes.
int hold_gpu_memory(int64_t leave_mib) {
  ::setenv("PYTORCH_NO_CUDA_MEMORY_CACHING", "1", 1);
  constexpr int64_t kChunkMib = 64;
  std::vector<torch::Tensor> chunks;
  try {
    for (;;) {
      chunks.push_back(
          torch::empty({kChunkMib << 20}, torch::dtype(torch::kUInt8).device(torch::kCUDA)));
    }
  } catch (const c10::Error&) {
    // The device is full.
  }
  for (int64_t freed = 0; freed < leave_mib && !chunks.empty(); freed += kChunkMib)
    chunks.pop_back();
  std::cout << "holding " << static_cast<int64_t>(chunks.size()) * kChunkMib << " MiB" << std::endl;
  for (;;) ::pause();
}

}  // namespace

int main(int argc, char* argv[]) {
  if (argc == 3 && std::string(argv[1]) == "--hold-gpu-memory") {
    return hold_gpu_memory(std::stoll(argv[2]));
  }
  const auto device = mapinverse::testing::test_device();
  if (!device) {
    std::cout << "SKIPPED: no CUDA device (torch::cuda::is_available() is false on this "
                 "machine); these tests run on a GPU machine through scripts/device-check.sh, "
                 "or here with MAPINVERSE_TEST_DEVICE=cpu\n";
    return 77;
  }
  mapinverse::set_thread_count(1);
  std::cout << "device tests on " << device->str() << "\n";
  return mapinverse::testing::run_catch_session(argc, argv);
}
