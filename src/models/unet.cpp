#include "mapinverse/models/unet.hpp"

#include <torch/torch.h>

#include "core/compat.hpp"
#include "models/module_weights.hpp"

namespace mapinverse {

torch::Tensor detail::activate(torch::Tensor normalised) {
  if (torch::GradMode::is_enabled() && normalised.requires_grad()) return torch::silu(normalised);
  return torch::silu_(normalised);
}

detail::UNetResidualBlockImpl::UNetResidualBlockImpl(int64_t in_channels, int64_t out_channels,
                                                     int64_t embedding_dim, int64_t num_groups)
    : norm1_(register_module("norm1", torch::nn::GroupNorm(num_groups, in_channels))),
      conv1_(register_module(
          "conv1",
          torch::nn::Conv2d(torch::nn::Conv2dOptions(in_channels, out_channels, 3).padding(1)))),
      embedding_(register_module("embedding", torch::nn::Linear(embedding_dim, out_channels))),
      norm2_(register_module("norm2", torch::nn::GroupNorm(num_groups, out_channels))),
      conv2_(register_module(
          "conv2",
          torch::nn::Conv2d(torch::nn::Conv2dOptions(out_channels, out_channels, 3).padding(1)))) {
  if (in_channels != out_channels) {
    skip_ = register_module(
        "skip", torch::nn::Conv2d(torch::nn::Conv2dOptions(in_channels, out_channels, 1)));
  }
}

torch::Tensor detail::UNetResidualBlockImpl::forward(const torch::Tensor& x,
                                                     const torch::Tensor& embedding) {
  const auto h = conv1_(activate(norm1_(x))) + embedding_(embedding).unsqueeze(-1).unsqueeze(-1);
  return finish(x, h);
}

torch::Tensor detail::UNetResidualBlockImpl::forward_with_bias(const torch::Tensor& x,
                                                               const torch::Tensor& conv1_bias) {
  const auto& o = conv1_->options;
  const auto h = torch::conv2d(activate(norm1_(x)), conv1_->weight, conv1_bias, o.stride(),
                               compat::variant_get<torch::ExpandingArray<2>>(o.padding()),
                               o.dilation(), o.groups());
  return finish(x, h);
}

torch::Tensor detail::UNetResidualBlockImpl::conv1_bias(const torch::Tensor& embedding) {
  return conv1_->bias + embedding_(embedding).reshape({-1});
}

std::vector<torch::Tensor> detail::UNetResidualBlockImpl::embedding_weights() const {
  return {embedding_->weight, embedding_->bias, conv1_->bias};
}

torch::Tensor detail::UNetResidualBlockImpl::finish(const torch::Tensor& x,
                                                    const torch::Tensor& h) {
  const auto out = conv2_(activate(norm2_(h)));
  const auto shortcut = skip_ ? skip_(x) : x;
  // (shortcut + out) / sqrt(2), scaling the fresh sum in place.
  return torch::add(shortcut, out).mul_(1.0 / std::sqrt(2.0));
}

template <typename ApplyBlock>
torch::Tensor UNetImpl::run_blocks(const torch::Tensor& x_in, ApplyBlock&& block) {
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

UNetImpl::UNetImpl(UNetOptions options) : options_(std::move(options)) {
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
      down_blocks_.push_back(
          register_module(fmt::format("down{}_{}", level, b), block(channels, o.channels(level))));
      channels = o.channels(level);
      skip_channels.push_back(channels);
    }
    if (level + 1 < levels) {
      downsamples_.push_back(register_module(
          fmt::format("downsample{}", level),
          torch::nn::Conv2d(torch::nn::Conv2dOptions(channels, channels, 3).stride(2).padding(1))));
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
      "output", torch::nn::Conv2d(torch::nn::Conv2dOptions(channels, o.in_channels, 3).padding(1)));
  torch::NoGradGuard no_grad;
  output_->weight.zero_();
  output_->bias.zero_();
}

torch::Tensor UNetImpl::forward(const torch::Tensor& x_in, const torch::Tensor& c_noise,
                                const torch::Tensor& labels) {
  check_image(x_in);
  check_noise_and_labels(x_in, c_noise, labels);
  const auto embedding = noise_embedding(c_noise, labels);
  return run_blocks(x_in, [&](detail::UNetResidualBlock& block, size_t, const torch::Tensor& h) {
    return block(h, embedding);
  });
}

torch::Tensor UNetImpl::forward_at(const torch::Tensor& x_in, double c_noise,
                                   const torch::Tensor& labels) {
  check_image(x_in);
  if (options_.num_classes > 0) {
    return forward(x_in, torch::full({x_in.size(0)}, c_noise, x_in.options()), labels);
  }
  check_noise_and_labels(x_in, torch::Tensor(), labels);
  const auto biases = conv1_biases(c_noise, x_in.options());
  return run_blocks(x_in,
                    [&](detail::UNetResidualBlock& block, size_t index, const torch::Tensor& h) {
                      return block->forward_with_bias(h, biases->at(index));
                    });
}

torch::Tensor UNetImpl::noise_embedding(const torch::Tensor& c_noise, const torch::Tensor& labels) {
  const auto angles = c_noise.unsqueeze(1) * frequencies_.to(c_noise.dtype());
  auto embedding =
      embedding_out_(torch::silu(embedding_in_(torch::cat({angles.cos(), angles.sin()}, 1))));
  if (label_embedding_) embedding = embedding + label_embedding_(labels);
  return torch::silu(embedding);
}

std::shared_ptr<const std::vector<torch::Tensor>> UNetImpl::conv1_biases(
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
  const auto key = std::make_tuple(c_noise, options.dtype().toScalarType(), options.device().type(),
                                   options.device().index());
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

std::shared_ptr<const std::vector<torch::Tensor>> UNetImpl::compute_conv1_biases(
    double c_noise, const torch::TensorOptions& options) {
  const auto embedding = noise_embedding(torch::full({1}, c_noise, options), torch::Tensor());
  auto biases = std::make_shared<std::vector<torch::Tensor>>();
  for_each_block(
      [&](detail::UNetResidualBlock& block) { biases->push_back(block->conv1_bias(embedding)); });
  return biases;
}

std::vector<torch::Tensor> UNetImpl::embedding_weights() {
  std::vector<torch::Tensor> weights{frequencies_, embedding_in_->weight, embedding_in_->bias,
                                     embedding_out_->weight, embedding_out_->bias};
  for_each_block([&](detail::UNetResidualBlock& block) {
    for (auto& weight : block->embedding_weights()) weights.push_back(std::move(weight));
  });
  return weights;
}

std::vector<std::tuple<const void*, const void*, uint32_t>> UNetImpl::stamp_of(
    const std::vector<torch::Tensor>& weights) {
  std::vector<std::tuple<const void*, const void*, uint32_t>> stamp;
  stamp.reserve(weights.size());
  for (const auto& weight : weights) {
    stamp.emplace_back(weight.unsafeGetTensorImpl(), weight.data_ptr(), weight._version());
  }
  return stamp;
}

void UNetImpl::check_image(const torch::Tensor& x_in) const {
  constexpr const char* where = "UNet::forward()";
  check_shape(x_in, {-1, options_.in_channels, -1, -1}, where, "x_in");
  check_floating(x_in, where, "x_in");
  const int64_t factor = int64_t{1} << (options_.channel_multipliers.size() - 1);
  require(x_in.size(2) % factor == 0 && x_in.size(3) % factor == 0,
          "{}: expected x_in's height and width divisible by {}, got {}", where, factor,
          shape_string(x_in));
}

void UNetImpl::check_noise_and_labels(const torch::Tensor& x_in, const torch::Tensor& c_noise,
                                      const torch::Tensor& labels) const {
  constexpr const char* where = "UNet::forward()";
  if (c_noise.defined()) {
    check_shape(c_noise, {x_in.size(0)}, where, "c_noise");
    check_same_placement(x_in, c_noise, where, "x_in", "c_noise");
  }
  if (options_.num_classes == 0) {
    require(!labels.defined(),
            "{}: expected no labels for an unconditional network (num_classes = 0), "
            "got {}",
            where, shape_string(labels));
    return;
  }
  check_shape(labels, {x_in.size(0)}, where, "labels");
  require(labels.scalar_type() == torch::kInt64, "{}: expected int64 labels, got {}", where,
          c10::toString(labels.scalar_type()));
}

torch::Tensor UNetNetwork::forward(const torch::Tensor& x_in, const torch::Tensor& noise_input,
                                   const torch::Tensor& labels) const {
  return unet_->forward(x_in, noise_input, labels);
}

torch::Tensor UNetNetwork::forward_at(const torch::Tensor& x_in, double noise_input,
                                      const torch::Tensor& labels) const {
  return unet_->forward_at(x_in, noise_input, labels);
}

UNet load_unet(const std::filesystem::path& path, const torch::Device& device,
               const UNetOptions& options, const char* what) {
  UNet unet(options);
  detail::load_weights(*unet, path, what, device);
  return unet;
}

}  // namespace mapinverse
