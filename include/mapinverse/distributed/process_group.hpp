#pragma once

// Sharding work over processes with LibTorch's c10d process groups (Gloo), the engine
// that torch.distributed and torchrun use: the same rendezvous variables (MASTER_ADDR,
// MASTER_PORT, WORLD_SIZE, RANK) or a shared file store. Link MapInverse::distributed
// (defines USE_C10D_GLOO); without it only single-process groups can be made.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <torch/torch.h>
#ifdef USE_C10D_GLOO
#include <torch/csrc/distributed/c10d/FileStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif

#include "mapinverse/core/error.hpp"

namespace mapinverse::distributed {

/// Raised when a collective operation fails: another rank has failed, left, or not
/// answered within the timeout. The message names this rank and the operation.
class DistributedError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// How a process joins its group.
struct GroupOptions {
  /// This process's rank in [0, world_size).
  int rank = 0;
  /// Number of processes; 1 runs without any communication.
  int world_size = 1;
  /// Where rank 0 serves the TCP rendezvous store (torchrun's MASTER_ADDR/MASTER_PORT).
  std::string master_address = "127.0.0.1";
  int master_port = 29500;
  /// If set, rendezvous through this file (on a file system all ranks see) instead of TCP.
  std::string store_file;
  /// Network interface Gloo binds to (GLOO_SOCKET_IFNAME); empty: the address that
  /// reaches the master on loopback runs, else this machine's hostname.
  std::string interface;
  /// How long a rank waits for the others to join, and for any collective operation,
  /// before it gives up with DistributedError. A rank that exits closes its connections,
  /// and the others fail at their next collective without waiting this long.
  std::chrono::milliseconds timeout = std::chrono::minutes(10);

  void validate() const {
    detail::require(world_size >= 1, "GroupOptions::world_size = {}. Violated constraint: world_size >= 1",
                    world_size);
    detail::require(rank >= 0 && rank < world_size,
                    "GroupOptions::rank = {}. Violated constraint: 0 <= rank < world_size = {}", rank,
                    world_size);
    detail::require(master_port > 0 && master_port < 65536,
                    "GroupOptions::master_port = {}. Violated constraint: 0 < port < 65536", master_port);
    detail::require(timeout.count() > 0, "GroupOptions::timeout = {} ms. Violated constraint: > 0",
                    timeout.count());
  }
};

namespace detail {

inline std::optional<std::string> environment(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::string(value);
}

inline long long environment_integer(const char* name, long long low, long long high) {
  const auto text = *environment(name);
  size_t used = 0;
  long long value = 0;
  try {
    value = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  mapinverse::detail::require(used == text.size() && value >= low && value <= high,
                              "environment variable {}={}: expected an integer in [{}, {}]", name,
                              text, low, high);
  return value;
}

}  // namespace detail

/// The group described by the environment, as torchrun sets it: WORLD_SIZE (absent: one
/// process), RANK, MASTER_ADDR, MASTER_PORT; or MAPINVERSE_STORE_FILE for a file store;
/// GLOO_SOCKET_IFNAME; MAPINVERSE_DIST_TIMEOUT in seconds.
inline GroupOptions options_from_environment() {
  GroupOptions options;
  if (!detail::environment("WORLD_SIZE")) return options;
  options.world_size = static_cast<int>(detail::environment_integer("WORLD_SIZE", 1, 1 << 20));
  if (options.world_size == 1) return options;
  mapinverse::detail::require(detail::environment("RANK").has_value(),
                              "environment: WORLD_SIZE={} but RANK is not set", options.world_size);
  options.rank = static_cast<int>(detail::environment_integer("RANK", 0, options.world_size - 1));
  if (const auto file = detail::environment("MAPINVERSE_STORE_FILE")) {
    options.store_file = *file;
  } else {
    mapinverse::detail::require(
        detail::environment("MASTER_ADDR") && detail::environment("MASTER_PORT"),
        "environment: WORLD_SIZE={} needs MASTER_ADDR and MASTER_PORT (or MAPINVERSE_STORE_FILE)",
        options.world_size);
    options.master_address = *detail::environment("MASTER_ADDR");
    options.master_port = static_cast<int>(detail::environment_integer("MASTER_PORT", 1, 65535));
  }
  if (const auto interface = detail::environment("GLOO_SOCKET_IFNAME")) options.interface = *interface;
  if (detail::environment("MAPINVERSE_DIST_TIMEOUT")) {
    options.timeout = std::chrono::seconds(
        detail::environment_integer("MAPINVERSE_DIST_TIMEOUT", 1, 7 * 24 * 3600));
  }
  return options;
}

/// A contiguous block [begin, end) of `count` items: rank r of n gets floor(count / n)
/// items, plus one if r < count mod n. Blocks in rank order tile [0, count).
struct Shard {
  int64_t begin = 0;
  int64_t end = 0;
  int64_t size() const { return end - begin; }
};

inline Shard shard_of(int64_t count, int rank, int world_size) {
  const int64_t base = count / world_size;
  const int64_t extra = count % world_size;
  const int64_t begin = rank * base + std::min<int64_t>(rank, extra);
  return {begin, begin + base + (rank < extra ? 1 : 0)};
}

/// A group of processes that share work. With one process every operation is local
/// and nothing is communicated, so the same program runs unchanged as 1 or N ranks.
class ProcessGroup {
 public:
  /// One process, no communication.
  ProcessGroup() = default;

  explicit ProcessGroup(const GroupOptions& options)
      : rank_(options.rank), size_(options.world_size), timeout_(options.timeout) {
    options.validate();
    if (size_ == 1) return;
#ifndef USE_C10D_GLOO
    throw DistributedError(fmt::format(
        "rank {} of {}: this program was built without c10d's Gloo backend, so it runs as one "
        "process only (build with gloo's headers installed, Debian: libgloo-dev)",
        rank_, size_));
#else
    try {
      group_ = c10::make_intrusive<c10d::ProcessGroupGloo>(make_store(options), rank_, size_,
                                                           make_gloo_options(options));
    } catch (const std::exception& error) {
      throw DistributedError(fmt::format(
          "rank {} of {}: could not join the group through {} within {} s: {}", rank_, size_,
          options.store_file.empty()
              ? fmt::format("{}:{}", options.master_address, options.master_port)
              : options.store_file,
          timeout_.count() / 1000.0, first_line(error.what())));
    }
#endif
  }

  static ProcessGroup from_environment() { return ProcessGroup(options_from_environment()); }

  int rank() const { return rank_; }
  int size() const { return size_; }
  bool is_root() const { return rank_ == 0; }

  /// This rank's block of `count` items.
  Shard shard(int64_t count) const { return shard_of(count, rank_, size_); }

  /// Every rank passes the rows of its shard of `count` items ([shard(count).size(), ...],
  /// same trailing shape and dtype everywhere); every rank receives all `count` rows in
  /// item order, on the device of `local`.
  torch::Tensor gather_shards(const torch::Tensor& local, int64_t count) const {
    mapinverse::detail::require(local.dim() >= 1 && local.size(0) == shard(count).size(),
                                "gather_shards: rank {} passed {} rows, its shard of {} has {}",
                                rank_, local.dim() >= 1 ? local.size(0) : 0, count,
                                shard(count).size());
    if (size_ == 1) return local;
#ifdef USE_C10D_GLOO
    const int64_t rows = shard_of(count, 0, size_).size();  // rank 0's block is the largest
    auto sizes = local.sizes().vec();
    sizes[0] = rows;
    auto padded = torch::zeros(sizes, local.options().device(torch::kCPU));
    padded.slice(0, 0, local.size(0)).copy_(local.detach().cpu());
    std::vector<std::vector<at::Tensor>> outputs(1);
    for (int r = 0; r < size_; ++r) outputs[0].push_back(torch::empty_like(padded));
    std::vector<at::Tensor> inputs{padded};
    wait(group_->allgather(outputs, inputs), "gather_shards");
    std::vector<torch::Tensor> blocks;
    for (int r = 0; r < size_; ++r) {
      blocks.push_back(outputs[0][r].slice(0, 0, shard_of(count, r, size_).size()));
    }
    return torch::cat(blocks).to(local.device());
#else
    return local;
#endif
  }

  /// `value` on `root`, copied to every rank (the tensor must have the same shape and
  /// dtype on every rank).
  torch::Tensor broadcast(const torch::Tensor& value, int root = 0) const {
    if (size_ == 1) return value;
#ifdef USE_C10D_GLOO
    std::vector<at::Tensor> tensors{value.detach().cpu().contiguous().clone()};
    c10d::BroadcastOptions options;
    options.rootRank = root;
    wait(group_->broadcast(tensors, options), "broadcast");
    return tensors[0].to(value.device());
#else
    return value;
#endif
  }

  /// Root's flag, on every rank.
  bool broadcast_flag(bool flag) const {
    return broadcast(torch::tensor({flag ? 1 : 0}, torch::kInt64)).item<int64_t>() != 0;
  }

  /// The largest `value` over ranks.
  double max(double value) const {
    if (size_ == 1) return value;
#ifdef USE_C10D_GLOO
    std::vector<at::Tensor> tensors{torch::tensor({value}, torch::kFloat64)};
    c10d::AllreduceOptions options;
    options.reduceOp = c10d::ReduceOp::MAX;
    wait(group_->allreduce(tensors, options), "max");
    return tensors[0].item<double>();
#else
    return value;
#endif
  }

  /// Returns once every rank has called it.
  void barrier() const {
#ifdef USE_C10D_GLOO
    if (size_ == 1) return;
    wait(group_->barrier(), "barrier");
#endif
  }

 private:
#ifdef USE_C10D_GLOO
  static c10::intrusive_ptr<c10d::Store> make_store(const GroupOptions& options) {
    c10::intrusive_ptr<c10d::Store> store;
    if (!options.store_file.empty()) {
      store = c10::make_intrusive<c10d::FileStore>(options.store_file, options.world_size);
    } else {
      c10d::TCPStoreOptions tcp;
      tcp.port = static_cast<std::uint16_t>(options.master_port);
      tcp.isServer = options.rank == 0;
      tcp.numWorkers = static_cast<size_t>(options.world_size);
      tcp.waitWorkers = true;
      tcp.timeout = options.timeout;
      store = c10::make_intrusive<c10d::TCPStore>(options.master_address, tcp);
    }
    store->setTimeout(options.timeout);
    return store;
  }

  static c10::intrusive_ptr<c10d::ProcessGroupGloo::Options> make_gloo_options(
      const GroupOptions& options) {
    auto gloo = c10d::ProcessGroupGloo::Options::create(options.timeout);
    const bool loopback = options.master_address.rfind("127.", 0) == 0 ||
                          options.master_address == "localhost";
    if (!options.interface.empty()) {
      gloo->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(options.interface));
    } else if (loopback && options.store_file.empty()) {
      gloo->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
    } else {
      gloo->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    }
    gloo->threads = 2;
    return gloo;
  }

  void wait(const c10::intrusive_ptr<c10d::Work>& work, const char* operation) const {
    try {
      work->wait(timeout_);
    } catch (const std::exception& error) {
      throw DistributedError(fmt::format(
          "rank {} of {}: {} failed: another rank has failed, left, or not answered within {} s "
          "({})",
          rank_, size_, operation, timeout_.count() / 1000.0, first_line(error.what())));
    }
  }

#endif

  static std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

  int rank_ = 0;
  int size_ = 1;
  std::chrono::milliseconds timeout_ = std::chrono::minutes(10);
#ifdef USE_C10D_GLOO
  c10::intrusive_ptr<c10d::ProcessGroup> group_;
#endif
};

}  // namespace mapinverse::distributed
