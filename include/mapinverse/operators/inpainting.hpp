#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "mapinverse/core/tensor.hpp"
#include "mapinverse/core/error.hpp"
#include "mapinverse/core/tensor_checks.hpp"
#include "mapinverse/operators/forward_operator.hpp"
#include "mapinverse/operators/placement_cache.hpp"

namespace mapinverse {

/// Inpainting (paper §4): H keeps the observed pixels of a binary mask M
/// (1 = observed, 0 = missing). Measurements are kept in image space with zeros at
/// the missing pixels, so apply(x) = M x, adjoint(y) = M y and H H^T = diag(M):
/// the paper's H H^T = I on the observed pixels, with the missing ones carried as
/// zeros. The mask is shared by the batch ([1,1,H,W]) or given per sample
/// ([B,1,H,W]); it applies to every channel.
class Inpainting : public LinearOperator {
 public:
  /// `mask` is [H,W], [1,1,H,W] or [B,1,H,W] with values 0 or 1 (any real or bool
  /// dtype); each sample must observe at least one pixel. It is kept on its device
  /// as float32 and moved to the input's device and dtype on use.
  explicit Inpainting(const at::Tensor& mask) : mask_(checked_mask(mask)) {}

  at::Tensor apply(const at::Tensor& x) const override;

  at::Tensor adjoint(const at::Tensor& y) const override;

  at::Tensor gram(const at::Tensor& y) const override;

  /// Closed form: r / (a + b) at observed pixels and r / a at missing ones, where r
  /// is 0 when a == 0 (r has no component outside range(H)).
  at::Tensor solve_gram(const at::Tensor& r, double a, double b) const override;

  std::string name() const override { return "Inpainting"; }

  /// H H^T = diag(M), a projector: every non-zero singular value is 1.
  std::optional<double> uniform_singular_value() const override { return 1.0; }

  /// The mask, [1,1,H,W] or [B,1,H,W], float32, 1 = observed.
  const at::Tensor& mask() const { return mask_; }
  int64_t height() const { return mask_.size(2); }
  int64_t width() const { return mask_.size(3); }

  /// Number of observed pixels per mask sample (one entry for a shared mask).
  std::vector<int64_t> observed_count() const {
    const auto counts = mask_.sum({1, 2, 3}).to(at::kCPU, at::kLong).contiguous();
    return {counts.data_ptr<int64_t>(), counts.data_ptr<int64_t>() + counts.numel()};
  }

 private:
  static at::Tensor checked_mask(const at::Tensor& mask);

  /// The mask on `tensor`'s device and dtype, after checking that `tensor` is
  /// [B,C,H,W] with the mask's H, W and a compatible batch size.
  at::Tensor placed_mask(const at::Tensor& tensor, const char* method, const char* name) const {
    const auto where = fmt::format("Inpainting::{}", method);
    check_floating(tensor, where.c_str(), name);
    const int64_t mask_batch = mask_.size(0);
    const bool matches = tensor.dim() == 4 && tensor.size(2) == height() &&
                         tensor.size(3) == width() &&
                         (mask_batch == 1 || tensor.size(0) == mask_batch);
    require(matches, "{}: expected {} of shape [{},C,{},{}], got {}", where, name,
            mask_batch == 1 ? std::string("B") : std::to_string(mask_batch), height(), width(),
            shape_string(tensor));
    return cache_.get({tensor.device(), tensor.scalar_type(), {}},
                      [&] { return mask_.to(tensor.options()); });
  }

  at::Tensor mask_;
  detail::PlacementCache cache_;
};

}  // namespace mapinverse
