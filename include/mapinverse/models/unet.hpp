#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <fmt/ranges.h>
#include <torch/torch.h>

#include "mapinverse/core/error.hpp"
#include "mapinverse/core/tensor_checks.hpp"
#include "mapinverse/models/network.hpp"

namespace mapinverse {

/// Shape of the project's native U-Net (a small relative of the DDPM/EDM U-Nets of
/// Ho et al. 2020 and Karras et al. 2022). The defaults give ~0.74M parameters,
/// resolutions 28 -> 14 -> 7 for Fashion-MNIST with 24 -> 48 -> 72 channels: narrow
/// where the images are large, so that a training step fits a 2-core CPU.
struct UNetOptions {
  /// Image channels in and out.
  int64_t in_channels = 1;
  /// Channels at the finest resolution; level l has base_channels * channel_multipliers[l].
  int64_t base_channels = 24;
  /// One entry per resolution; each level after the first halves height and width.
  std::vector<int64_t> channel_multipliers = {1, 2, 3};
  /// Residual blocks per level on the way down (the way up has the same number).
  int64_t blocks_per_level = 1;
  /// Width of the noise (and label) embedding added into every residual block.
  int64_t embedding_dim = 128;
  /// Sin/cos pairs of the Fourier embedding of the scalar noise input c_noise.
  int64_t fourier_features = 32;
  /// Angular frequencies of the Fourier embedding, geometrically spaced in
  /// [min, max]; the defaults resolve c_noise = ln(sigma)/4 over sigma in [0.002, 80].
  double min_frequency = 1.0;
  double max_frequency = 100.0;
  /// Groups of every GroupNorm; must divide every level's channel count.
  int64_t num_groups = 8;
  /// Number of classes for a class-conditional model; 0 means unconditional.
  int64_t num_classes = 0;

  UNetOptions& set_in_channels(int64_t value) {
    in_channels = value;
    return *this;
  }
  UNetOptions& set_base_channels(int64_t value) {
    base_channels = value;
    return *this;
  }
  UNetOptions& set_channel_multipliers(std::vector<int64_t> value) {
    channel_multipliers = std::move(value);
    return *this;
  }
  UNetOptions& set_blocks_per_level(int64_t value) {
    blocks_per_level = value;
    return *this;
  }
  UNetOptions& set_embedding_dim(int64_t value) {
    embedding_dim = value;
    return *this;
  }
  UNetOptions& set_fourier_features(int64_t value) {
    fourier_features = value;
    return *this;
  }
  UNetOptions& set_frequencies(double min, double max) {
    min_frequency = min;
    max_frequency = max;
    return *this;
  }
  UNetOptions& set_num_groups(int64_t value) {
    num_groups = value;
    return *this;
  }
  UNetOptions& set_num_classes(int64_t value) {
    num_classes = value;
    return *this;
  }

  /// Channels of level l.
  int64_t channels(size_t level) const { return base_channels * channel_multipliers.at(level); }

  void validate() const {
    detail::require(in_channels >= 1,
                    "UNetOptions::in_channels = {}. Violated constraint: in_channels >= 1",
                    in_channels);
    detail::require(num_groups >= 1,
                    "UNetOptions::num_groups = {}. Violated constraint: num_groups >= 1",
                    num_groups);
    detail::require(base_channels >= 1 && base_channels % num_groups == 0,
                    "UNetOptions::base_channels = {}. Violated constraint: base_channels >= 1 "
                    "and a multiple of num_groups = {}",
                    base_channels, num_groups);
    detail::require(
        !channel_multipliers.empty(),
        "UNetOptions::channel_multipliers = []. Violated constraint: at least one level");
    for (auto multiplier : channel_multipliers) {
      detail::require(multiplier >= 1,
                      "UNetOptions::channel_multipliers = [{}]. Violated constraint: every "
                      "multiplier >= 1",
                      fmt::join(channel_multipliers, ","));
    }
    detail::require(
        blocks_per_level >= 1,
        "UNetOptions::blocks_per_level = {}. Violated constraint: blocks_per_level >= 1",
        blocks_per_level);
    detail::require(embedding_dim >= 1,
                    "UNetOptions::embedding_dim = {}. Violated constraint: embedding_dim >= 1",
                    embedding_dim);
    detail::require(
        fourier_features >= 1,
        "UNetOptions::fourier_features = {}. Violated constraint: fourier_features >= 1",
        fourier_features);
    detail::require(std::isfinite(min_frequency) && min_frequency > 0.0,
                    "UNetOptions::min_frequency = {}. Violated constraint: min_frequency > 0",
                    min_frequency);
    detail::require(std::isfinite(max_frequency) && max_frequency >= min_frequency,
                    "UNetOptions::max_frequency = {}. Violated constraint: max_frequency >= "
                    "min_frequency = {}",
                    max_frequency, min_frequency);
    detail::require(num_classes >= 0,
                    "UNetOptions::num_classes = {}. Violated constraint: num_classes >= 0",
                    num_classes);
  }
};

namespace detail {

/// SiLU of a normalisation's fresh output: in place (no new feature map) unless
/// autograd will need the input for the backward pass.
inline torch::Tensor activate(torch::Tensor normalised) {
  if (torch::GradMode::is_enabled() && normalised.requires_grad()) return torch::silu(normalised);
  return torch::silu_(normalised);
}

/// Pre-activation residual block: GroupNorm-SiLU-conv, plus a per-channel shift from
/// the noise embedding, then GroupNorm-SiLU-conv; the sum with the skip path is scaled
/// by 1/sqrt(2) so activations keep their variance through the depth (as in EDM).
class UNetResidualBlockImpl : public torch::nn::Module {
 public:
  UNetResidualBlockImpl(int64_t in_channels, int64_t out_channels, int64_t embedding_dim,
                        int64_t num_groups)
      : norm1_(register_module("norm1", torch::nn::GroupNorm(num_groups, in_channels))),
        conv1_(register_module(
            "conv1",
            torch::nn::Conv2d(torch::nn::Conv2dOptions(in_channels, out_channels, 3).padding(1)))),
        embedding_(register_module("embedding", torch::nn::Linear(embedding_dim, out_channels))),
        norm2_(register_module("norm2", torch::nn::GroupNorm(num_groups, out_channels))),
        conv2_(register_module(
            "conv2", torch::nn::Conv2d(
                         torch::nn::Conv2dOptions(out_channels, out_channels, 3).padding(1)))) {
    if (in_channels != out_channels) {
      skip_ = register_module(
          "skip", torch::nn::Conv2d(torch::nn::Conv2dOptions(in_channels, out_channels, 1)));
    }
  }

  /// x: [B, in, H, W]; embedding: [B or 1, embedding_dim] (already passed through SiLU).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& embedding) {
    const auto h = conv1_(activate(norm1_(x))) + embedding_(embedding).unsqueeze(-1).unsqueeze(-1);
    return finish(x, h);
  }

  /// The same for an embedding shared by the whole batch, given as conv1_bias(embedding):
  /// the per-channel shift is folded into the first convolution's bias, which saves a
  /// pass over the feature map.
  torch::Tensor forward_with_bias(const torch::Tensor& x, const torch::Tensor& conv1_bias) {
    const auto& o = conv1_->options;
    const auto h = torch::conv2d(activate(norm1_(x)), conv1_->weight, conv1_bias, o.stride(),
                                 c10::get<torch::ExpandingArray<2>>(o.padding()), o.dilation(),
                                 o.groups());
    return finish(x, h);
  }

  /// conv1's bias plus the shift of a [1, embedding_dim] embedding: [out_channels].
  torch::Tensor conv1_bias(const torch::Tensor& embedding) {
    return conv1_->bias + embedding_(embedding).reshape({-1});
  }

  /// The tensors conv1_bias() reads, for detecting changed weights.
  std::vector<torch::Tensor> embedding_weights() const {
    return {embedding_->weight, embedding_->bias, conv1_->bias};
  }

 private:
  torch::Tensor finish(const torch::Tensor& x, const torch::Tensor& h) {
    const auto out = conv2_(activate(norm2_(h)));
    const auto shortcut = skip_ ? skip_(x) : x;
    // (shortcut + out) / sqrt(2), scaling the fresh sum in place.
    return torch::add(shortcut, out).mul_(1.0 / std::sqrt(2.0));
  }

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
  explicit UNetImpl(UNetOptions options = {}) : options_(std::move(options)) {
    options_.validate();
    const auto& o = options_;
    const auto levels = o.channel_multipliers.size();
    frequencies_ = register_buffer(
        "frequencies", torch::exp(torch::linspace(std::log(o.min_frequency),
                                                  std::log(o.max_frequency), o.fourier_features)));
    embedding_in_ =
        register_module("embedding_in", torch::nn::Linear(2 * o.fourier_features, o.embedding_dim));
    embedding_out_ =
        register_module("embedding_out", torch::nn::Linear(o.embedding_dim, o.embedding_dim));
    if (o.num_classes > 0) {
      label_embedding_ =
          register_module("label_embedding", torch::nn::Embedding(o.num_classes, o.embedding_dim));
    }
    input_ = register_module(
        "input",
        torch::nn::Conv2d(torch::nn::Conv2dOptions(o.in_channels, o.channels(0), 3).padding(1)));
    const auto block = [&](int64_t in, int64_t out) {
      return detail::UNetResidualBlock(in, out, o.embedding_dim, o.num_groups);
    };

    std::vector<int64_t> skip_channels;
    int64_t channels = o.channels(0);
    for (size_t level = 0; level < levels; ++level) {
      for (int64_t b = 0; b < o.blocks_per_level; ++b) {
        down_blocks_.push_back(register_module(fmt::format("down{}_{}", level, b),
                                               block(channels, o.channels(level))));
        channels = o.channels(level);
        skip_channels.push_back(channels);
      }
      if (level + 1 < levels) {
        downsamples_.push_back(register_module(
            fmt::format("downsample{}", level),
            torch::nn::Conv2d(
                torch::nn::Conv2dOptions(channels, channels, 3).stride(2).padding(1))));
      }
    }
    for (int b = 0; b < 2; ++b) {
      middle_blocks_.push_back(
          register_module(fmt::format("middle{}", b), block(channels, channels)));
    }
    for (size_t level = levels; level-- > 0;) {
      for (int64_t b = 0; b < o.blocks_per_level; ++b) {
        up_blocks_.push_back(
            register_module(fmt::format("up{}_{}", level, b),
                            block(channels + skip_channels.back(), o.channels(level))));
        skip_channels.pop_back();
        channels = o.channels(level);
      }
      if (level > 0) {
        upsamples_.push_back(register_module(
            fmt::format("upsample{}", level),
            torch::nn::Conv2d(torch::nn::Conv2dOptions(channels, channels, 3).padding(1))));
      }
    }
    output_norm_ = register_module("output_norm", torch::nn::GroupNorm(o.num_groups, channels));
    output_ = register_module(
        "output",
        torch::nn::Conv2d(torch::nn::Conv2dOptions(channels, o.in_channels, 3).padding(1)));
    torch::NoGradGuard no_grad;
    output_->weight.zero_();
    output_->bias.zero_();
  }

  /// x_in: [B, in_channels, H, W] with H and W divisible by 2^(levels-1);
  /// c_noise: [B]; labels: [B] int64 for a class-conditional model, undefined otherwise.
  torch::Tensor forward(const torch::Tensor& x_in, const torch::Tensor& c_noise,
                        const torch::Tensor& labels = torch::Tensor()) {
    check_image(x_in);
    check_noise_and_labels(x_in, c_noise, labels);
    const auto embedding = noise_embedding(c_noise, labels);
    return run_blocks(x_in, [&](detail::UNetResidualBlock& block, size_t, const torch::Tensor& h) {
      return block(h, embedding);
    });
  }

  /// The same with one c_noise for the whole batch. For an unconditional model the
  /// noise embedding and every block's conv1 bias plus shift are computed once per
  /// c_noise value and kept while the weights they come from neither change nor need a
  /// gradient, so that a call is the convolutions and normalisations alone. A
  /// class-conditional model, whose embedding differs per sample, takes forward()'s path.
  torch::Tensor forward_at(const torch::Tensor& x_in, double c_noise,
                           const torch::Tensor& labels = torch::Tensor()) {
    check_image(x_in);
    if (options_.num_classes > 0) {
      return forward(x_in, torch::full({x_in.size(0)}, c_noise, x_in.options()), labels);
    }
    check_noise_and_labels(x_in, torch::Tensor(), labels);
    const auto biases = conv1_biases(c_noise, x_in.options());
    return run_blocks(x_in, [&](detail::UNetResidualBlock& block, size_t index,
                                const torch::Tensor& h) {
      return block->forward_with_bias(h, biases->at(index));
    });
  }

  const UNetOptions& options() const { return options_; }

 private:
  /// The noise embedding of c_noise [B or 1] (plus the label embedding) after SiLU:
  /// [B or 1, embedding_dim].
  torch::Tensor noise_embedding(const torch::Tensor& c_noise, const torch::Tensor& labels) {
    const auto angles = c_noise.unsqueeze(1) * frequencies_.to(c_noise.dtype());
    auto embedding =
        embedding_out_(torch::silu(embedding_in_(torch::cat({angles.cos(), angles.sin()}, 1))));
    if (label_embedding_) embedding = embedding + label_embedding_(labels);
    return torch::silu(embedding);
  }

  /// Encoder, middle and decoder; `block(module, index, h)` applies residual block
  /// number `index` (in this order of traversal) to h.
  template <typename ApplyBlock>
  torch::Tensor run_blocks(const torch::Tensor& x_in, ApplyBlock&& block) {
    std::vector<torch::Tensor> skips;
    auto h = input_(x_in);
    size_t index = 0;
    size_t down = 0;
    for (size_t level = 0; level < options_.channel_multipliers.size(); ++level) {
      for (int64_t b = 0; b < options_.blocks_per_level; ++b) {
        h = block(down_blocks_[down++], index++, h);
        skips.push_back(h);
      }
      if (level < downsamples_.size()) h = downsamples_[level](h);
    }
    for (auto& middle : middle_blocks_) h = block(middle, index++, h);
    size_t up = 0;
    size_t upsample = 0;
    for (size_t level = options_.channel_multipliers.size(); level-- > 0;) {
      for (int64_t b = 0; b < options_.blocks_per_level; ++b) {
        h = block(up_blocks_[up++], index++, torch::cat({h, skips.back()}, 1));
        skips.pop_back();
      }
      if (level > 0) {
        // Convolve before doubling the resolution: a quarter of the cost of the
        // usual order, and the nearest-neighbour copy adds nothing to convolve.
        h = torch::nn::functional::interpolate(upsamples_[upsample++](h),
                                               torch::nn::functional::InterpolateFuncOptions()
                                                   .scale_factor(std::vector<double>{2.0, 2.0})
                                                   .mode(torch::kNearest));
      }
    }
    return output_(detail::activate(output_norm_(h)));
  }

  /// Every block's conv1 bias plus its shift at this c_noise, in run_blocks() order:
  /// from the cache when the weights are frozen for this call, computed otherwise.
  std::shared_ptr<const std::vector<torch::Tensor>> conv1_biases(
      double c_noise, const torch::TensorOptions& options) {
    const auto weights = embedding_weights();
    const bool needs_graph =
        torch::GradMode::is_enabled() &&
        std::any_of(weights.begin(), weights.end(),
                    [](const torch::Tensor& weight) { return weight.requires_grad(); });
    if (needs_graph) return compute_conv1_biases(c_noise, options);
    std::lock_guard<std::mutex> lock(cache_->mutex);
    auto stamp = stamp_of(weights);
    if (stamp != cache_->stamp) {
      cache_->entries.clear();
      cache_->stamp = std::move(stamp);
    }
    const auto key = std::make_tuple(c_noise, options.dtype().toScalarType(),
                                     options.device().type(), options.device().index());
    if (const auto found = cache_->entries.find(key); found != cache_->entries.end()) {
      return found->second;
    }
    // Plain tensors (no graph, not inference tensors), usable in any later mode.
    c10::InferenceMode inference_off(false);
    torch::NoGradGuard no_grad;
    auto biases = compute_conv1_biases(c_noise, options);
    if (cache_->entries.size() >= kMaxCachedNoiseLevels) cache_->entries.clear();
    cache_->entries.emplace(key, biases);
    return biases;
  }

  std::shared_ptr<const std::vector<torch::Tensor>> compute_conv1_biases(
      double c_noise, const torch::TensorOptions& options) {
    const auto embedding = noise_embedding(torch::full({1}, c_noise, options), torch::Tensor());
    auto biases = std::make_shared<std::vector<torch::Tensor>>();
    for_each_block([&](detail::UNetResidualBlock& block) {
      biases->push_back(block->conv1_bias(embedding));
    });
    return biases;
  }

  template <typename Action>
  void for_each_block(Action&& action) {
    for (auto& block : down_blocks_) action(block);
    for (auto& block : middle_blocks_) action(block);
    for (auto& block : up_blocks_) action(block);
  }

  /// Every tensor the conv1 biases are computed from.
  std::vector<torch::Tensor> embedding_weights() {
    std::vector<torch::Tensor> weights{frequencies_, embedding_in_->weight, embedding_in_->bias,
                                       embedding_out_->weight, embedding_out_->bias};
    for_each_block([&](detail::UNetResidualBlock& block) {
      for (auto& weight : block->embedding_weights()) weights.push_back(std::move(weight));
    });
    return weights;
  }

  /// Identity, storage and version of each weight: any assignment, move or in-place
  /// update (an optimizer step, loading a checkpoint) changes it.
  static std::vector<std::tuple<const void*, const void*, uint32_t>> stamp_of(
      const std::vector<torch::Tensor>& weights) {
    std::vector<std::tuple<const void*, const void*, uint32_t>> stamp;
    stamp.reserve(weights.size());
    for (const auto& weight : weights) {
      stamp.emplace_back(weight.unsafeGetTensorImpl(), weight.data_ptr(), weight._version());
    }
    return stamp;
  }

  void check_image(const torch::Tensor& x_in) const {
    constexpr const char* where = "UNet::forward()";
    detail::check_shape(x_in, {-1, options_.in_channels, -1, -1}, where, "x_in");
    detail::check_floating(x_in, where, "x_in");
    const int64_t factor = int64_t{1} << (options_.channel_multipliers.size() - 1);
    detail::require(x_in.size(2) % factor == 0 && x_in.size(3) % factor == 0,
                    "{}: expected x_in's height and width divisible by {}, got {}", where, factor,
                    shape_string(x_in));
  }

  /// c_noise may be undefined (forward_at()).
  void check_noise_and_labels(const torch::Tensor& x_in, const torch::Tensor& c_noise,
                              const torch::Tensor& labels) const {
    constexpr const char* where = "UNet::forward()";
    if (c_noise.defined()) {
      detail::check_shape(c_noise, {x_in.size(0)}, where, "c_noise");
      detail::check_same_placement(x_in, c_noise, where, "x_in", "c_noise");
    }
    if (options_.num_classes == 0) {
      detail::require(!labels.defined(),
                      "{}: expected no labels for an unconditional network (num_classes = 0), "
                      "got {}",
                      where, shape_string(labels));
      return;
    }
    detail::check_shape(labels, {x_in.size(0)}, where, "labels");
    detail::require(labels.scalar_type() == torch::kInt64, "{}: expected int64 labels, got {}",
                    where, c10::toString(labels.scalar_type()));
  }

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
                        const torch::Tensor& labels) const override {
    return unet_->forward(x_in, noise_input, labels);
  }

  torch::Tensor forward_at(const torch::Tensor& x_in, double noise_input,
                           const torch::Tensor& labels) const override {
    return unet_->forward_at(x_in, noise_input, labels);
  }

  const UNet& module() const { return unet_; }

 private:
  // LibTorch's Module::forward is non-const although it does not change parameters.
  mutable UNet unet_;
};

}  // namespace mapinverse
