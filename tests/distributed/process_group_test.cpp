#include <chrono>
#include <cstdlib>
#include <optional>
#include <string>
#include <thread>

#include <unistd.h>

#include <catch2/catch.hpp>
#include <torch/torch.h>

#include "mapinverse/distributed/process_group.hpp"

using mapinverse::distributed::DistributedError;
using mapinverse::distributed::GroupOptions;
using mapinverse::distributed::ProcessGroup;
using mapinverse::distributed::shard_of;

namespace {

/// Sets environment variables for one scope and restores what was there.
class ScopedEnvironment {
 public:
  ScopedEnvironment(std::initializer_list<std::pair<const char*, const char*>> values) {
    for (const auto& [name, value] : values) {
      const char* old = std::getenv(name);
      saved_.emplace_back(name, old ? std::optional<std::string>(old) : std::nullopt);
      if (value) {
        setenv(name, value, 1);
      } else {
        unsetenv(name);
      }
    }
  }
  ~ScopedEnvironment() {
    for (const auto& [name, value] : saved_) {
      if (value) {
        setenv(name.c_str(), value->c_str(), 1);
      } else {
        unsetenv(name.c_str());
      }
    }
  }

 private:
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

int test_port() { return 20000 + static_cast<int>(getpid() % 20000); }

}  // namespace

TEST_CASE("shard_of tiles [0, count) in rank order with sizes differing by at most one",
          "[distributed]") {
  for (const int64_t count : {0, 1, 5, 7, 50, 10000}) {
    for (const int world : {1, 2, 3, 8}) {
      int64_t next = 0;
      int64_t smallest = count, largest = 0;
      for (int rank = 0; rank < world; ++rank) {
        const auto shard = shard_of(count, rank, world);
        CHECK(shard.begin == next);
        next = shard.end;
        smallest = std::min(smallest, shard.size());
        largest = std::max(largest, shard.size());
        if (rank == 0) CHECK(shard.size() == largest);
      }
      CHECK(next == count);
      CHECK(largest - smallest <= 1);
    }
  }
}

TEST_CASE("options_from_environment reads torchrun's variables and names bad ones",
          "[distributed]") {
  {
    ScopedEnvironment env{{"WORLD_SIZE", nullptr}, {"RANK", nullptr}};
    const auto options = mapinverse::distributed::options_from_environment();
    CHECK(options.world_size == 1);
    CHECK(options.rank == 0);
  }
  {
    ScopedEnvironment env{{"WORLD_SIZE", "4"},
                          {"RANK", "3"},
                          {"MASTER_ADDR", "10.0.0.7"},
                          {"MASTER_PORT", "29999"},
                          {"MAPINVERSE_STORE_FILE", nullptr},
                          {"MAPINVERSE_DIST_TIMEOUT", "42"},
                          {"GLOO_SOCKET_IFNAME", "eth1"}};
    const auto options = mapinverse::distributed::options_from_environment();
    CHECK(options.world_size == 4);
    CHECK(options.rank == 3);
    CHECK(options.master_address == "10.0.0.7");
    CHECK(options.master_port == 29999);
    CHECK(options.interface == "eth1");
    CHECK(options.timeout == std::chrono::seconds(42));
  }
  {
    ScopedEnvironment env{{"WORLD_SIZE", "2"}, {"RANK", "2"}};
    CHECK_THROWS_WITH(mapinverse::distributed::options_from_environment(),
                      Catch::Contains("RANK=2") && Catch::Contains("[0, 1]"));
  }
  {
    ScopedEnvironment env{{"WORLD_SIZE", "two"}};
    CHECK_THROWS_WITH(mapinverse::distributed::options_from_environment(),
                      Catch::Contains("WORLD_SIZE=two"));
  }
  {
    ScopedEnvironment env{{"WORLD_SIZE", "2"},
                          {"RANK", "0"},
                          {"MASTER_ADDR", nullptr},
                          {"MAPINVERSE_STORE_FILE", nullptr}};
    CHECK_THROWS_WITH(mapinverse::distributed::options_from_environment(),
                      Catch::Contains("MASTER_ADDR and MASTER_PORT"));
  }
  {
    ScopedEnvironment env{{"WORLD_SIZE", "2"}, {"RANK", nullptr}};
    CHECK_THROWS_WITH(mapinverse::distributed::options_from_environment(),
                      Catch::Contains("RANK is not set"));
  }
}

TEST_CASE("A one-process group communicates nothing", "[distributed]") {
  const ProcessGroup group;
  CHECK(group.size() == 1);
  CHECK(group.is_root());
  const auto rows = torch::arange(12, torch::kFloat64).view({4, 3});
  CHECK(torch::equal(group.gather_shards(rows, 4), rows));
  CHECK(group.broadcast_flag(true));
  CHECK(group.max(2.5) == 2.5);
  group.barrier();
  CHECK_THROWS_WITH(group.gather_shards(rows, 5), Catch::Contains("passed 4 rows"));
}

TEST_CASE("Two ranks on loopback gather uneven shards, broadcast and reduce", "[distributed]") {
  const int port = test_port();
  const int64_t count = 5;  // rank 0: items 0-2, rank 1: items 3-4
  std::vector<torch::Tensor> gathered(2);
  std::vector<double> maxima(2);
  std::vector<bool> flags(2);
  auto rank_body = [&](int rank) {
    GroupOptions options;
    options.rank = rank;
    options.world_size = 2;
    options.master_port = port;
    options.timeout = std::chrono::seconds(30);
    const ProcessGroup group(options);
    const auto shard = group.shard(count);
    // Item i's row is (i, 10 i): the gathered tensor must list the items in order.
    const auto items = torch::arange(shard.begin, shard.end, torch::kFloat64);
    gathered[rank] = group.gather_shards(torch::stack({items, 10 * items}, 1), count);
    maxima[rank] = group.max(rank == 0 ? 1.5 : 7.0);
    flags[rank] = group.broadcast_flag(rank == 0);
    group.barrier();
  };
  std::thread other(rank_body, 1);
  rank_body(0);
  other.join();
  const auto expected = torch::stack(
      {torch::arange(count, torch::kFloat64), 10 * torch::arange(count, torch::kFloat64)}, 1);
  for (int rank = 0; rank < 2; ++rank) {
    CHECK(torch::equal(gathered[rank], expected));
    CHECK(maxima[rank] == 7.0);
    CHECK(flags[rank]);  // rank 0's value everywhere
  }
}

TEST_CASE("A rank whose partner never joins fails with DistributedError after the timeout",
          "[distributed]") {
  GroupOptions options;
  options.rank = 0;
  options.world_size = 2;
  options.master_port = test_port() + 1;
  options.timeout = std::chrono::seconds(2);
  const auto start = std::chrono::steady_clock::now();
  CHECK_THROWS_AS(ProcessGroup(options), DistributedError);
  const double waited =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  CHECK(waited >= 1.5);
  CHECK(waited < 30.0);
}

TEST_CASE("GroupOptions are validated", "[distributed]") {
  GroupOptions options;
  options.world_size = 2;
  options.rank = 2;
  CHECK_THROWS_WITH(ProcessGroup(options), Catch::Contains("GroupOptions::rank = 2"));
  options.rank = 0;
  options.master_port = 70000;
  CHECK_THROWS_WITH(ProcessGroup(options), Catch::Contains("master_port = 70000"));
}
