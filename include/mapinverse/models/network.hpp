#pragma once

#include "mapinverse/core/tensor.hpp"

namespace mapinverse {

/// A raw network F(x_in, c_noise, labels) before preconditioning: what EDM calls F_theta.
/// Implementations: the native U-Net and TorchScript modules. Preconditioning wrappers
/// (EdmDenoiser, BoundaryConsistency) turn it into a Denoiser or a ConsistencyModel.
class Network {
 public:
  Network() = default;
  virtual ~Network() = default;
  Network(const Network&) = delete;
  Network& operator=(const Network&) = delete;

  /// x_in: [B, C, H, W] (already scaled by c_in); noise_input: [B] (c_noise);
  /// labels: undefined or [B] int64. Returns [B, C, H, W].
  virtual at::Tensor forward(const at::Tensor& x_in, const at::Tensor& noise_input,
                             const at::Tensor& labels) const = 0;

  /// The same with one noise input for the whole batch, what the solvers pass (every
  /// image of a batch is at the same time). The default repeats it into a [B] vector;
  /// a network that can use the sharing (the native U-Net) overrides this.
  virtual at::Tensor forward_at(const at::Tensor& x_in, double noise_input,
                                const at::Tensor& labels) const;
};

}  // namespace mapinverse
