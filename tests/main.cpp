#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#include <torch/torch.h>

int main(int argc, char* argv[]) {
  // Tests are small; one thread keeps them deterministic and avoids
  // oversubscribing the machine when CTest runs several at once.
  torch::set_num_threads(1);
  return Catch::Session().run(argc, argv);
}
