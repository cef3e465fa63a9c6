#include "mapinverse/distributed/process_group.hpp"

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include "core/compat.hpp"  // c10d's headers, with MAPINVERSE_DISTRIBUTED_GLOO

namespace mapinverse::distributed {

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
  mapinverse::require(used == text.size() && value >= low && value <= high,
                      "environment variable {}={}: expected an integer in [{}, {}]", name, text,
                      low, high);
  return value;
}

}  // namespace detail

GroupOptions options_from_environment() {
  GroupOptions options;
  if (!detail::environment("WORLD_SIZE")) return options;
  options.world_size = static_cast<int>(detail::environment_integer("WORLD_SIZE", 1, 1 << 20));
  if (options.world_size == 1) return options;
  mapinverse::require(detail::environment("RANK").has_value(),
                      "environment: WORLD_SIZE={} but RANK is not set", options.world_size);
  options.rank = static_cast<int>(detail::environment_integer("RANK", 0, options.world_size - 1));
  if (const auto file = detail::environment("MAPINVERSE_STORE_FILE")) {
    options.store_file = *file;
  } else {
    mapinverse::require(
        detail::environment("MASTER_ADDR") && detail::environment("MASTER_PORT"),
        "environment: WORLD_SIZE={} needs MASTER_ADDR and MASTER_PORT (or MAPINVERSE_STORE_FILE)",
        options.world_size);
    options.master_address = *detail::environment("MASTER_ADDR");
    options.master_port = static_cast<int>(detail::environment_integer("MASTER_PORT", 1, 65535));
  }
  if (const auto interface = detail::environment("GLOO_SOCKET_IFNAME"))
    options.interface = *interface;
  if (detail::environment("MAPINVERSE_DIST_TIMEOUT")) {
    options.timeout = std::chrono::seconds(
        detail::environment_integer("MAPINVERSE_DIST_TIMEOUT", 1, 7 * 24 * 3600));
  }
  return options;
}

Shard shard_of(int64_t count, int rank, int world_size) {
  const int64_t base = count / world_size;
  const int64_t extra = count % world_size;
  const int64_t begin = rank * base + std::min<int64_t>(rank, extra);
  return {begin, begin + base + (rank < extra ? 1 : 0)};
}

namespace {

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

}  // namespace

#ifdef MAPINVERSE_DISTRIBUTED_GLOO

struct ProcessGroup::Backend {
  c10::intrusive_ptr<c10d::ProcessGroup> group;
  int rank;
  int size;
  std::chrono::milliseconds timeout;

  /// Where a tensor is communicated: on its device if the group has a backend there (CUDA
  /// through NCCL), else through the CPU (Gloo).
  torch::Device route(const torch::Tensor& tensor) const {
    return compat::communicates_on(*group, tensor.device()) ? tensor.device() : torch::kCPU;
  }

  void wait(const c10::intrusive_ptr<c10d::Work>& work, const char* operation) const {
    try {
      work->wait(timeout);
    } catch (const std::exception& error) {
      throw DistributedError(fmt::format(
          "rank {} of {}: {} failed: another rank has failed, left, or not answered within {} s "
          "({})",
          rank, size, operation, timeout.count() / 1000.0, first_line(error.what())));
    }
  }
};

namespace {

c10::intrusive_ptr<c10d::Store> make_store(const GroupOptions& options) {
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

c10::intrusive_ptr<c10d::ProcessGroupGloo::Options> make_gloo_options(const GroupOptions& options) {
  auto gloo = c10d::ProcessGroupGloo::Options::create(options.timeout);
  const bool loopback =
      options.master_address.rfind("127.", 0) == 0 || options.master_address == "localhost";
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

}  // namespace

ProcessGroup::ProcessGroup(const GroupOptions& options)
    : rank_(options.rank), size_(options.world_size), timeout_(options.timeout) {
  options.validate();
  if (size_ == 1) return;
  try {
    auto backend = std::make_shared<Backend>();
    backend->group =
        compat::make_process_group(make_store(options), rank_, size_, make_gloo_options(options));
    backend->rank = rank_;
    backend->size = size_;
    backend->timeout = timeout_;
    backend_ = std::move(backend);
  } catch (const std::exception& error) {
    throw DistributedError(fmt::format(
        "rank {} of {}: could not join the group through {} within {} s: {}", rank_, size_,
        options.store_file.empty()
            ? fmt::format("{}:{}", options.master_address, options.master_port)
            : options.store_file,
        timeout_.count() / 1000.0, first_line(error.what())));
  }
}

at::Tensor ProcessGroup::gather_shards(const at::Tensor& local, int64_t count) const {
  mapinverse::require(local.dim() >= 1 && local.size(0) == shard(count).size(),
                      "gather_shards: rank {} passed {} rows, its shard of {} has {}", rank_,
                      local.dim() >= 1 ? local.size(0) : 0, count, shard(count).size());
  if (size_ == 1) return local;
  const int64_t rows = shard_of(count, 0, size_).size();  // rank 0's block is the largest
  auto sizes = local.sizes().vec();
  sizes[0] = rows;
  auto padded = torch::zeros(sizes, local.options().device(backend_->route(local)));
  padded.slice(0, 0, local.size(0)).copy_(local.detach());
  std::vector<std::vector<at::Tensor>> outputs(1);
  for (int r = 0; r < size_; ++r) outputs[0].push_back(torch::empty_like(padded));
  std::vector<at::Tensor> inputs{padded};
  backend_->wait(backend_->group->allgather(outputs, inputs), "gather_shards");
  std::vector<torch::Tensor> blocks;
  for (int r = 0; r < size_; ++r) {
    blocks.push_back(outputs[0][r].slice(0, 0, shard_of(count, r, size_).size()));
  }
  return torch::cat(blocks).to(local.device());
}

at::Tensor ProcessGroup::broadcast(const at::Tensor& value, int root) const {
  if (size_ == 1) return value;
  std::vector<at::Tensor> tensors{value.detach().to(backend_->route(value)).contiguous().clone()};
  c10d::BroadcastOptions options;
  options.rootRank = root;
  backend_->wait(backend_->group->broadcast(tensors, options), "broadcast");
  return tensors[0].to(value.device());
}

double ProcessGroup::max(double value) const {
  if (size_ == 1) return value;
  std::vector<at::Tensor> tensors{torch::tensor({value}, torch::kFloat64)};
  c10d::AllreduceOptions options;
  options.reduceOp = c10d::ReduceOp::MAX;
  backend_->wait(backend_->group->allreduce(tensors, options), "max");
  return tensors[0].item<double>();
}

void ProcessGroup::barrier() const {
  if (size_ == 1) return;
  backend_->wait(backend_->group->barrier(), "barrier");
}

#else  // built without c10d's Gloo backend: one process only

struct ProcessGroup::Backend {};

ProcessGroup::ProcessGroup(const GroupOptions& options)
    : rank_(options.rank), size_(options.world_size), timeout_(options.timeout) {
  options.validate();
  if (size_ == 1) return;
  throw DistributedError(fmt::format(
      "rank {} of {}: this program was built without c10d's Gloo backend, so it runs as one "
      "process only (build with gloo's headers installed, Debian: libgloo-dev)",
      rank_, size_));
}

at::Tensor ProcessGroup::gather_shards(const at::Tensor& local, int64_t count) const {
  mapinverse::require(local.dim() >= 1 && local.size(0) == shard(count).size(),
                      "gather_shards: rank {} passed {} rows, its shard of {} has {}", rank_,
                      local.dim() >= 1 ? local.size(0) : 0, count, shard(count).size());
  return local;
}

at::Tensor ProcessGroup::broadcast(const at::Tensor& value, int) const { return value; }
double ProcessGroup::max(double value) const { return value; }
void ProcessGroup::barrier() const {}

#endif

bool ProcessGroup::broadcast_flag(bool flag) const {
  return broadcast(torch::tensor({flag ? 1 : 0}, torch::kInt64)).item<int64_t>() != 0;
}

}  // namespace mapinverse::distributed
