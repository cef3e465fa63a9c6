#pragma once

// Sharding work over processes with LibTorch's c10d process groups (Gloo), the engine
// that torch.distributed and torchrun use: the same rendezvous variables (MASTER_ADDR,
// MASTER_PORT, WORLD_SIZE, RANK) or a shared file store. The implementation lives in
// MapInverse::distributed (find_package(MapInverse COMPONENTS distributed)).

#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>

#include <fmt/format.h>

#include "mapinverse/core/tensor.hpp"

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
    require(world_size >= 1, "GroupOptions::world_size = {}. Violated constraint: world_size >= 1",
            world_size);
    require(rank >= 0 && rank < world_size,
            "GroupOptions::rank = {}. Violated constraint: 0 <= rank < world_size = {}", rank,
            world_size);
    require(master_port > 0 && master_port < 65536,
            "GroupOptions::master_port = {}. Violated constraint: 0 < port < 65536", master_port);
    require(timeout.count() > 0, "GroupOptions::timeout = {} ms. Violated constraint: > 0",
            timeout.count());
  }
};

/// The group described by the environment, as torchrun sets it: WORLD_SIZE (absent: one
/// process), RANK, MASTER_ADDR, MASTER_PORT; or MAPINVERSE_STORE_FILE for a file store;
/// GLOO_SOCKET_IFNAME; MAPINVERSE_DIST_TIMEOUT in seconds.
GroupOptions options_from_environment();

/// A contiguous block [begin, end) of `count` items: rank r of n gets floor(count / n)
/// items, plus one if r < count mod n. Blocks in rank order tile [0, count).
struct Shard {
  int64_t begin = 0;
  int64_t end = 0;
  int64_t size() const { return end - begin; }
};

Shard shard_of(int64_t count, int rank, int world_size);

/// A group of processes that share work. With one process every operation is local
/// and nothing is communicated, so the same program runs unchanged as 1 or N ranks.
/// Tensors travel through Gloo; they may live on any device and come back on it.
class ProcessGroup {
 public:
  /// One process, no communication.
  ProcessGroup() = default;

  /// Joins the group: blocks until every rank has joined or options.timeout has passed
  /// (then DistributedError). A world of one joins nothing.
  explicit ProcessGroup(const GroupOptions& options);

  static ProcessGroup from_environment() { return ProcessGroup(options_from_environment()); }

  int rank() const { return rank_; }
  int size() const { return size_; }
  bool is_root() const { return rank_ == 0; }

  /// This rank's block of `count` items.
  Shard shard(int64_t count) const { return shard_of(count, rank_, size_); }

  /// Every rank passes the rows of its shard of `count` items ([shard(count).size(), ...],
  /// same trailing shape and dtype everywhere); every rank receives all `count` rows in
  /// item order, on the device of `local`.
  at::Tensor gather_shards(const at::Tensor& local, int64_t count) const;

  /// `value` on `root`, copied to every rank (the tensor must have the same shape and
  /// dtype on every rank).
  at::Tensor broadcast(const at::Tensor& value, int root = 0) const;

  /// Root's flag, on every rank.
  bool broadcast_flag(bool flag) const;

  /// The largest `value` over ranks.
  double max(double value) const;

  /// Returns once every rank has called it.
  void barrier() const;

 private:
  struct Backend;  // the c10d process group, compiled in MapInverse::distributed

  int rank_ = 0;
  int size_ = 1;
  std::chrono::milliseconds timeout_ = std::chrono::minutes(10);
  std::shared_ptr<const Backend> backend_;
};

}  // namespace mapinverse::distributed
