#pragma once

#include <cstdint>

#include <filesystem>

#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

namespace mapinverse {

/// A small convolutional Fashion-MNIST classifier. Its penultimate activations
/// (`features()`, 128 values per image) define the Frechet distance the benchmarks
/// report in place of FID, whose Inception weights are not available here.
class FashionClassifierImpl : public torch::nn::Module {
 public:
  static constexpr int64_t kFeatureDimension = 128;
  static constexpr int64_t kNumClasses = 10;

  FashionClassifierImpl();

  /// x: [B, 1, 28, 28] in [-1, 1]. Returns [B, 128].
  torch::Tensor features(const torch::Tensor& x);

  /// Class logits [B, 10].
  torch::Tensor forward(const torch::Tensor& x) { return output_->forward(features(x)); }

 private:
  torch::nn::Conv2d first_;
  torch::nn::Conv2d second_;
  torch::nn::Linear hidden_;
  torch::nn::Linear output_;
};
TORCH_MODULE(FashionClassifier);

/// The classifier trained by training/train_classifier, in eval mode on `device`, its
/// weights frozen. Throws std::invalid_argument naming the file when it is missing or
/// holds other weights.
FashionClassifier load_classifier(const std::filesystem::path& path,
                                  const torch::Device& device = torch::kCPU);

}  // namespace mapinverse
