// The exactness tests on an accelerator: MAPINVERSE_TEST_DEVICE names the device
// (default cuda). Without one the whole executable reports itself skipped (exit code 77,
// which CTest shows as "Skipped") and says why.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <cstdlib>
#include <iostream>

#include "device/test_device.hpp"
#include "mapinverse/core/threads.hpp"

int main(int argc, char* argv[]) {
  const auto device = mapinverse::testing::test_device();
  if (!device) {
    std::cout << "SKIPPED: no CUDA device (torch::cuda::is_available() is false on this "
                 "machine); these tests run on a GPU machine through scripts/device-check.sh, "
                 "or here with MAPINVERSE_TEST_DEVICE=cpu\n";
    return 77;
  }
  mapinverse::set_thread_count(1);
  std::cout << "device tests on " << device->str() << "\n";
  return Catch::Session().run(argc, argv);
}
