#pragma once

#include <cstdint>

#include <torch/torch.h>

#include "mapinverse/core/error.hpp"
#include "mapinverse/core/tensor_checks.hpp"

namespace mapinverse {

/// A small convolutional Fashion-MNIST classifier. Its penultimate activations
/// (`features()`, 128 values per image) define the Frechet distance the benchmarks
/// report in place of FID, whose Inception weights are not available here.
class FashionClassifierImpl : public torch::nn::Module {
 public:
  static constexpr int64_t kFeatureDimension = 128;
  static constexpr int64_t kNumClasses = 10;

  FashionClassifierImpl()
      : first_(register_module("first", torch::nn::Conv2d(torch::nn::Conv2dOptions(1, 32, 3).padding(1)))),
        second_(register_module("second", torch::nn::Conv2d(torch::nn::Conv2dOptions(32, 64, 3).padding(1)))),
        hidden_(register_module("hidden", torch::nn::Linear(64 * 7 * 7, kFeatureDimension))),
        output_(register_module("output", torch::nn::Linear(kFeatureDimension, kNumClasses))) {}

  /// x: [B, 1, 28, 28] in [-1, 1]. Returns [B, 128].
  torch::Tensor features(const torch::Tensor& x) {
    detail::check_shape(x, {-1, 1, 28, 28}, "FashionClassifier::features()", "x");
    auto h = torch::max_pool2d(torch::relu(first_->forward(x)), 2);
    h = torch::max_pool2d(torch::relu(second_->forward(h)), 2);
    return torch::relu(hidden_->forward(h.flatten(1)));
  }

  /// Class logits [B, 10].
  torch::Tensor forward(const torch::Tensor& x) { return output_->forward(features(x)); }

 private:
  torch::nn::Conv2d first_;
  torch::nn::Conv2d second_;
  torch::nn::Linear hidden_;
  torch::nn::Linear output_;
};
TORCH_MODULE(FashionClassifier);

}  // namespace mapinverse
