#include "mapinverse/models/classifier.hpp"

#include <torch/torch.h>

#include "mapinverse/core/tensor_checks.hpp"
#include "models/module_weights.hpp"

namespace mapinverse {

FashionClassifierImpl::FashionClassifierImpl()
    : first_(register_module("first",
                             torch::nn::Conv2d(torch::nn::Conv2dOptions(1, 32, 3).padding(1)))),
      second_(register_module("second",
                              torch::nn::Conv2d(torch::nn::Conv2dOptions(32, 64, 3).padding(1)))),
      hidden_(register_module("hidden", torch::nn::Linear(64 * 7 * 7, kFeatureDimension))),
      output_(register_module("output", torch::nn::Linear(kFeatureDimension, kNumClasses))) {}

torch::Tensor FashionClassifierImpl::features(const torch::Tensor& x) {
  check_shape(x, {-1, 1, 28, 28}, "FashionClassifier::features()", "x");
  auto h = torch::max_pool2d(torch::relu(first_->forward(x)), 2);
  h = torch::max_pool2d(torch::relu(second_->forward(h)), 2);
  return torch::relu(hidden_->forward(h.flatten(1)));
}

FashionClassifier load_classifier(const std::filesystem::path& path, const torch::Device& device) {
  FashionClassifier classifier;
  detail::load_weights(*classifier, path, "Fashion-MNIST classifier", device);
  return classifier;
}

}  // namespace mapinverse
