// torch before Catch: glog, pulled in by torch, defines its own CHECK.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include "mapinverse/io/idx.hpp"
#include "mapinverse/models/classifier.hpp"

using namespace mapinverse;
using Catch::Matchers::Contains;

TEST_CASE("the Fashion-MNIST classifier gives 128 features and 10 logits per image") {
  torch::manual_seed(0);
  FashionClassifier model;
  const auto x = torch::rand({3, 1, 28, 28}) * 2 - 1;
  CHECK(model->features(x).sizes() ==
        torch::IntArrayRef({3, FashionClassifierImpl::kFeatureDimension}));
  CHECK(model->forward(x).sizes() == torch::IntArrayRef({3, FashionClassifierImpl::kNumClasses}));
  CHECK((model->features(x) >= 0).all().item<bool>());
}

TEST_CASE("the classifier's initialisation is fixed by the seed") {
  torch::manual_seed(5);
  FashionClassifier first;
  torch::manual_seed(5);
  FashionClassifier second;
  const auto x = torch::zeros({1, 1, 28, 28});
  CHECK(torch::equal(first->forward(x), second->forward(x)));
}

TEST_CASE("the classifier rejects images of another size") {
  FashionClassifier model;
  CHECK_THROWS_WITH(model->features(torch::zeros({2, 1, 32, 32})),
                    Contains("expected x of shape [B,1,28,28], got [2,1,32,32]"));
}

TEST_CASE("the shipped classifier loads and classifies the Fashion-MNIST test set") {
  FashionClassifier model;
  torch::load(model, std::string(MAPINVERSE_SOURCE_DIR) + "/models/fmnist_classifier.pt");
  model->eval();
  const auto test = read_fashion_mnist(kFashionMnistDirectory, FashionMnistSplit::kTest);
  torch::NoGradGuard no_grad;
  const auto predicted = model->forward(test.images).argmax(1);
  const double accuracy = predicted.eq(test.labels).to(torch::kFloat64).mean().item<double>();
  INFO("test accuracy " << accuracy);
  CHECK(accuracy >= 0.90);
}
