#pragma once

// The differences between the LibTorch releases MapInverse builds against (1.13, and 2.x
// up to 2.11), in one place: the rest of the code is written once and calls these.
//
// - Since 2.0 the options variants (a convolution's padding, ...) are std::variant, no
//   longer c10::variant (c10/util/variant.h is gone): variant_get.
// - Since 2.0 c10d's ProcessGroupGloo is a Backend, and a c10d::ProcessGroup routes each
//   collective to the backend registered for the tensors' device type: make_process_group,
//   communicates_on. Declared where MAPINVERSE_DISTRIBUTED_GLOO is defined (the sources
//   of MapInverse::distributed), so that other code never parses c10d's headers.
//
// A private header of the library's sources: the public headers need no version switch.

#include <torch/version.h>

/// True when the LibTorch being compiled against is release major.minor or later.
#define MAPINVERSE_TORCH_AT_LEAST(major, minor) \
  (TORCH_VERSION_MAJOR > (major) ||             \
   (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))

#include <utility>
#if MAPINVERSE_TORCH_AT_LEAST(2, 0)
#include <variant>
#else
#include <c10/util/variant.h>
#endif

#ifdef MAPINVERSE_DISTRIBUTED_GLOO
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <torch/csrc/distributed/c10d/FileStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#if MAPINVERSE_TORCH_AT_LEAST(2, 0)
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#ifdef MAPINVERSE_DISTRIBUTED_NCCL
#include <unistd.h>

#include <c10/cuda/CUDAFunctions.h>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif
#endif
#endif

namespace mapinverse::compat {

/// The alternative T of an options variant (std::get or c10::get).
template <class T, class Variant>
decltype(auto) variant_get(Variant&& variant) {
#if MAPINVERSE_TORCH_AT_LEAST(2, 0)
  return std::get<T>(std::forward<Variant>(variant));
#else
  return c10::get<T>(std::forward<Variant>(variant));
#endif
}

#ifdef MAPINVERSE_DISTRIBUTED_GLOO

#if MAPINVERSE_TORCH_AT_LEAST(2, 0) && defined(MAPINVERSE_DISTRIBUTED_NCCL)
namespace detail {

/// Whether NCCL can carry CUDA tensors for this group: every rank sees a GPU, and no two
/// ranks of one host use the same current device (NCCL refuses a GPU shared by two
/// ranks, where Gloo through host memory works). One Gloo allgather, so every rank
/// reaches the same answer.
inline bool every_rank_has_its_own_gpu(c10d::Backend& gloo, int size,
                                       std::chrono::milliseconds timeout) {
  const bool cuda = c10::cuda::device_count() > 0;
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  const auto mine = at::tensor(
      {static_cast<int64_t>(cuda ? 1 : 0), static_cast<int64_t>(std::hash<std::string>{}(host)),
       static_cast<int64_t>(cuda ? c10::cuda::current_device() : -1)},
      at::kLong);
  std::vector<std::vector<at::Tensor>> outputs(1);
  for (int r = 0; r < size; ++r) outputs[0].push_back(at::empty_like(mine));
  std::vector<at::Tensor> inputs{mine};
  gloo.allgather(outputs, inputs)->wait(timeout);
  for (int a = 0; a < size; ++a) {
    const auto ra = outputs[0][a];
    if (ra[0].item<int64_t>() == 0) return false;
    for (int b = a + 1; b < size; ++b) {
      if (at::equal(ra.slice(0, 1), outputs[0][b].slice(0, 1))) return false;
    }
  }
  return true;
}

}  // namespace detail
#endif

/// A c10d process group of `size` ranks over `store` whose CPU tensors go through Gloo
/// with `gloo_options`. On 2.x built with NCCL (MAPINVERSE_DISTRIBUTED_NCCL), CUDA tensors
/// go through NCCL where every rank has its own GPU; elsewhere they must be copied to the
/// CPU first (communicates_on).
inline c10::intrusive_ptr<c10d::ProcessGroup> make_process_group(
    const c10::intrusive_ptr<c10d::Store>& store, int rank, int size,
    const c10::intrusive_ptr<c10d::ProcessGroupGloo::Options>& gloo_options) {
#if MAPINVERSE_TORCH_AT_LEAST(2, 0)
  using BackendType = c10d::ProcessGroup::BackendType;
  auto group = c10::make_intrusive<c10d::ProcessGroup>(store, rank, size);
  // One key prefix per backend, as torch.distributed does: both rendezvous on one store.
  auto gloo = c10::make_intrusive<c10d::ProcessGroupGloo>(
      c10::make_intrusive<c10d::PrefixStore>("cpu/", store), rank, size, gloo_options);
  group->setBackend(c10::DeviceType::CPU, BackendType::GLOO, gloo);
  group->setDefaultBackend(BackendType::GLOO);
#ifdef MAPINVERSE_DISTRIBUTED_NCCL
  if (detail::every_rank_has_its_own_gpu(*gloo, size, gloo_options->timeout)) {
    auto nccl_options = c10d::ProcessGroupNCCL::Options::create();
    nccl_options->timeout = gloo_options->timeout;
    auto nccl = c10::make_intrusive<c10d::ProcessGroupNCCL>(
        c10::make_intrusive<c10d::PrefixStore>("cuda/", store), rank, size, nccl_options);
    group->setBackend(c10::DeviceType::CUDA, BackendType::NCCL, nccl);
  }
#endif
  return group;
#else
  return c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, size, gloo_options);
#endif
}

/// Whether `group` can take tensors on `device` as they are; if not, they go through the CPU.
inline bool communicates_on(const c10d::ProcessGroup& group, const c10::Device& device) {
  if (device.is_cpu()) return true;
#if MAPINVERSE_TORCH_AT_LEAST(2, 0)
  for (const auto& type : group.getDeviceTypes()) {
    if (type.type() == device.type()) return true;
  }
#else
  (void)group;
#endif
  return false;
}

#endif  // MAPINVERSE_DISTRIBUTED_GLOO

}  // namespace mapinverse::compat
