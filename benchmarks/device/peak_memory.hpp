#pragma once

// Device helpers of benchmark_device that differ between CUDA and CPU-only LibTorch.

#include <string>

#include <torch/torch.h>

/// Waits until `device` has finished its queued work (no-op on the CPU).
void synchronize(const torch::Device& device);

/// Starts a new peak of the caching allocator's allocated bytes (CUDA only).
void reset_peak_memory(const torch::Device& device);

/// Peak bytes allocated on `device` since reset_peak_memory(); -1 where the build cannot
/// tell (the CPU).
double peak_memory_bytes(const torch::Device& device);

/// E.g. "NVIDIA H200 (cuda:0, 139.8 GiB)" or "cpu".
std::string device_description(const torch::Device& device);

/// The first line of a (LibTorch) error message, without its C++ backtrace.
std::string first_line(const std::string& message);
