#include "peak_memory.hpp"

#include <fmt/format.h>

#ifdef MAPINVERSE_BENCHMARK_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#include <cuda_runtime_api.h>
#endif

void synchronize(const torch::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize(device.index() < 0 ? -1 : device.index());
}

#ifdef MAPINVERSE_BENCHMARK_CUDA
namespace {
c10::DeviceIndex index_of(const torch::Device& device) {
  return device.has_index() ? device.index() : c10::cuda::current_device();
}
}  // namespace

void reset_peak_memory(const torch::Device& device) {
  if (device.is_cuda()) c10::cuda::CUDACachingAllocator::resetPeakStats(index_of(device));
}

double peak_memory_bytes(const torch::Device& device) {
  if (!device.is_cuda()) return -1.0;
  const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(index_of(device));
  // Index 0 is the aggregate over small and large pools.
  return static_cast<double>(stats.allocated_bytes[0].peak);
}

std::string device_description(const torch::Device& device) {
  if (!device.is_cuda()) return device.str();
  cudaDeviceProp properties{};
  cudaGetDeviceProperties(&properties, index_of(device));
  return fmt::format("{} (cuda:{}, {:.1f} GiB)", properties.name, index_of(device),
                     static_cast<double>(properties.totalGlobalMem) / (1 << 30));
}
#else
void reset_peak_memory(const torch::Device&) {}
double peak_memory_bytes(const torch::Device&) { return -1.0; }
std::string device_description(const torch::Device& device) { return device.str(); }
#endif

std::string first_line(const std::string& message) { return message.substr(0, message.find('\n')); }
