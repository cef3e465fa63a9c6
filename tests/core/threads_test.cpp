#include <catch2/catch.hpp>
#include <torch/torch.h>

#include "mapinverse/core/threads.hpp"

TEST_CASE("set_thread_count sets LibTorch's thread count and rejects zero", "[core][threads]") {
  const int before = torch::get_num_threads();
  mapinverse::set_thread_count(2);
  CHECK(torch::get_num_threads() == 2);
  mapinverse::set_thread_count(1);
  CHECK(torch::get_num_threads() == 1);
  CHECK_THROWS_WITH(mapinverse::set_thread_count(0),
                    Catch::Contains("threads = 0") && Catch::Contains("threads >= 1"));
  mapinverse::set_thread_count(before);
}
