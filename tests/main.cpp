#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#include <torch/torch.h>
#include "mapinverse/core/threads.hpp"

int main(int argc, char* argv[]) {
  // Tests are small; one thread keeps them deterministic and avoids
  // oversubscribing the machine when CTest runs several at once.
  mapinverse::set_thread_count(1);
  return Catch::Session().run(argc, argv);
}
