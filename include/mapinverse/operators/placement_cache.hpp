#pragma once

#include <cstddef>
#include <mutex>
#include <utility>
#include <vector>
#include "mapinverse/core/tensor.hpp"

namespace mapinverse::detail {

/// Memo of the tensors an operator derives from its fixed data (a mask, a kernel
/// spectrum, a matrix) for one device, dtype and size. Without it a solver loop on
/// an accelerator would copy the same data to the device on every call. Operators
/// are shared as `const` between threads, hence the mutex.
class PlacementCache {
 public:
  struct Key {
    at::Device device;
    at::ScalarType dtype;
    /// Sizes the derived tensor depends on (e.g. the image height and width).
    std::vector<int64_t> sizes;

    bool operator==(const Key& other) const {
      return device == other.device && dtype == other.dtype && sizes == other.sizes;
    }
  };

  PlacementCache() = default;
  PlacementCache(const PlacementCache&) = delete;
  PlacementCache& operator=(const PlacementCache&) = delete;

  /// The tensor stored under `key`, computed by `make()` on the first request.
  template <typename Make>
  at::Tensor get(const Key& key, Make&& make) const {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& [stored_key, value] : entries_) {
      if (stored_key == key) return value;
    }
    at::Tensor value;
    {
      // Stored tensors must be plain tensors without history whatever mode the
      // first caller is in: an inference tensor could not be saved for backward
      // by a later caller that differentiates through the operator.
      c10::InferenceMode inference_off(false);
      at::NoGradGuard no_grad;
      value = make();
    }
    if (entries_.size() == kCapacity) entries_.erase(entries_.begin());
    entries_.emplace_back(key, value);
    return value;
  }

 private:
  /// A handful of placements at a time (e.g. float32 and float64 on two devices).
  static constexpr std::size_t kCapacity = 8;

  mutable std::mutex mutex_;
  mutable std::vector<std::pair<Key, at::Tensor>> entries_;
};

}  // namespace mapinverse::detail
