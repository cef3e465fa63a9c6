#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include "mapinverse/core/error.hpp"
#include "mapinverse/core/tensor_checks.hpp"
#include "mapinverse/models/network.hpp"
#include "mapinverse/models/unet_options.hpp"

namespace mapinverse {

namespace detail {

/// SiLU of a normalisation's fresh output: in place (no new feature map) unless
/// autograd will need the input for the backward pass.
torch::Tensor activate(torch::Tensor normalised);

/// Pre-activation residual block: GroupNorm-SiLU-conv, plus a per-channel shift from
/// the noise embedding, then GroupNorm-SiLU-conv; the sum with the skip path is scaled
/// by 1/sqrt(2) so activations keep their variance through the depth (as in EDM).
class UNetResidualBlockImpl : public torch::nn::Module {
 public:
  UNetResidualBlockImpl(int64_t in_channels, int64_t out_channels, int64_t embedding_dim,
                        int64_t num_groups);

  /// x: [B, in, H, W]; embedding: [B or 1, embedding_dim] (already passed through SiLU).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& embedding);

  /// The same for an embedding shared by the whole batch, given as conv1_bias(embedding):
  /// the per-channel shift is folded into the first convolution's bias, which saves a
  /// pass over the feature map.
  torch::Tensor forward_with_bias(const torch::Tensor& x, const torch::Tensor& conv1_bias);

  /// conv1's bias plus the shift of a [1, embedding_dim] embedding: [out_channels].
  torch::Tensor conv1_bias(const torch::Tensor& embedding);

  /// The tensors conv1_bias() reads, for detecting changed weights.
  std::vector<torch::Tensor> embedding_weights() const;

 private:
  torch::Tensor finish(const torch::Tensor& x, const torch::Tensor& h);

  torch::nn::GroupNorm norm1_;
  torch::nn::Conv2d conv1_;
  torch::nn::Linear embedding_;
  torch::nn::GroupNorm norm2_;
  torch::nn::Conv2d conv2_;
  torch::nn::Conv2d skip_{nullptr};
};
TORCH_MODULE(UNetResidualBlock);

}  // namespace detail

/// Native U-Net F(x_in, c_noise, labels): the raw network of an EDM denoiser or a
/// consistency model (preconditioning lives in EdmDenoiser / BoundaryConsistency).
/// Encoder and decoder of residual blocks joined by skip connections; the noise input
/// enters through a Fourier embedding and an MLP, added into every block. The output
/// convolution starts at zero, so an untrained denoiser starts at D = c_skip x.
/// Construction draws from the global LibTorch generator: torch::manual_seed fixes it.
class UNetImpl : public torch::nn::Module {
 public:
  explicit UNetImpl(UNetOptions options = {});

  /// x_in: [B, in_channels, H, W] with H and W divisible by 2^(levels-1);
  /// c_noise: [B]; labels: [B] int64 for a class-conditional model, undefined otherwise.
  torch::Tensor forward(const torch::Tensor& x_in, const torch::Tensor& c_noise,
                        const torch::Tensor& labels = torch::Tensor());

  /// The same with one c_noise for the whole batch. For an unconditional model the
  /// noise embedding and every block's conv1 bias plus shift are computed once per
  /// c_noise value and kept while the weights they come from neither change nor need a
  /// gradient, so that a call is the convolutions and normalisations alone. A
  /// class-conditional model, whose embedding differs per sample, takes forward()'s path.
  torch::Tensor forward_at(const torch::Tensor& x_in, double c_noise,
                           const torch::Tensor& labels = torch::Tensor());

  const UNetOptions& options() const { return options_; }

 private:
  /// The noise embedding of c_noise [B or 1] (plus the label embedding) after SiLU:
  /// [B or 1, embedding_dim].
  torch::Tensor noise_embedding(const torch::Tensor& c_noise, const torch::Tensor& labels);

  /// Encoder, middle and decoder; `block(module, index, h)` applies residual block
  /// number `index` (in this order of traversal) to h.
  template <typename ApplyBlock>
  torch::Tensor run_blocks(const torch::Tensor& x_in, ApplyBlock&& block);

  /// Every block's conv1 bias plus its shift at this c_noise, in run_blocks() order:
  /// from the cache when the weights are frozen for this call, computed otherwise.
  std::shared_ptr<const std::vector<torch::Tensor>> conv1_biases(
      double c_noise, const torch::TensorOptions& options);

  std::shared_ptr<const std::vector<torch::Tensor>> compute_conv1_biases(
      double c_noise, const torch::TensorOptions& options);

  template <typename Action>
  void for_each_block(Action&& action) {
    for (auto& block : down_blocks_) action(block);
    for (auto& block : middle_blocks_) action(block);
    for (auto& block : up_blocks_) action(block);
  }

  /// Every tensor the conv1 biases are computed from.
  std::vector<torch::Tensor> embedding_weights();

  /// Identity, storage and version of each weight: any assignment, move or in-place
  /// update (an optimizer step, loading a checkpoint) changes it.
  static std::vector<std::tuple<const void*, const void*, uint32_t>> stamp_of(
      const std::vector<torch::Tensor>& weights);

  void check_image(const torch::Tensor& x_in) const;

  /// c_noise may be undefined (forward_at()).
  void check_noise_and_labels(const torch::Tensor& x_in, const torch::Tensor& c_noise,
                              const torch::Tensor& labels) const;

  /// conv1 biases per c_noise value, valid for one stamp of the embedding weights.
  struct BiasCache {
    std::mutex mutex;
    std::vector<std::tuple<const void*, const void*, uint32_t>> stamp;
    std::map<std::tuple<double, c10::ScalarType, c10::DeviceType, c10::DeviceIndex>,
             std::shared_ptr<const std::vector<torch::Tensor>>>
        entries;
  };
  static constexpr size_t kMaxCachedNoiseLevels = 1024;

  UNetOptions options_;
  torch::Tensor frequencies_;
  torch::nn::Linear embedding_in_{nullptr};
  torch::nn::Linear embedding_out_{nullptr};
  torch::nn::Embedding label_embedding_{nullptr};
  torch::nn::Conv2d input_{nullptr};
  std::vector<detail::UNetResidualBlock> down_blocks_;
  std::vector<torch::nn::Conv2d> downsamples_;
  std::vector<detail::UNetResidualBlock> middle_blocks_;
  std::vector<detail::UNetResidualBlock> up_blocks_;
  std::vector<torch::nn::Conv2d> upsamples_;
  torch::nn::GroupNorm output_norm_{nullptr};
  torch::nn::Conv2d output_{nullptr};
  std::shared_ptr<BiasCache> cache_ = std::make_shared<BiasCache>();
};
TORCH_MODULE(UNet);

/// Network adapter over a UNet. It shares the module (and so its parameters) with
/// the caller: training code keeps updating the same UNet it wrapped.
class UNetNetwork final : public Network {
 public:
  explicit UNetNetwork(UNet unet) : unet_(std::move(unet)) {}

  torch::Tensor forward(const torch::Tensor& x_in, const torch::Tensor& noise_input,
                        const torch::Tensor& labels) const override;

  torch::Tensor forward_at(const torch::Tensor& x_in, double noise_input,
                           const torch::Tensor& labels) const override;

  const UNet& module() const { return unet_; }

 private:
  // LibTorch's Module::forward is non-const although it does not change parameters.
  mutable UNet unet_;
};

/// Weights saved by torch::save from a UNet of these options, in eval mode on `device`
/// with frozen weights. Errors name the file and `what` (e.g. "U-Net denoiser").
UNet load_unet(const std::filesystem::path& path, const torch::Device& device = torch::kCPU,
               const UNetOptions& options = UNetOptions{}, const char* what = "U-Net");

}  // namespace mapinverse
