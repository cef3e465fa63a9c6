// torch before Catch: glog, pulled in by torch, defines its own CHECK.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>

#include "mapinverse/core/noise_schedule.hpp"
#include "mapinverse/core/random.hpp"
#include "mapinverse/io/idx.hpp"
#include "mapinverse/models/classifier.hpp"
#include "mapinverse/models/gaussian_mixture_prior.hpp"
#include "mapinverse/models/pretrained.hpp"
#include "support/invalid_argument.hpp"
#include "support/temporary_directory.hpp"

using namespace mapinverse;
using Catch::Matchers::Contains;
using mapinverse::testing::invalid_argument_message;

// The models in models/ are the ones the README's commands use: these tests load them
// as a user would (through model_directory()) and check what every caller relies on.

namespace {

/// The first `count` Fashion-MNIST test images, [count, 1, 28, 28] in [-1, 1].
torch::Tensor test_images(int64_t count) {
  return read_fashion_mnist(kFashionMnistDirectory, FashionMnistSplit::kTest)
      .images.slice(0, 0, count);
}

double mean_squared_error(const torch::Tensor& a, const torch::Tensor& b) {
  return (a - b).square().mean().item<double>();
}

}  // namespace

TEST_CASE("the shipped models are found in the configured model directory") {
  for (const auto* file :
       {kDenoiserModelFile, kConsistencyModelFile, kClassifierModelFile, kMixtureModelFile}) {
    CAPTURE(file);
    CHECK(std::filesystem::is_regular_file(shipped_model_path(file)));
  }
  CHECK_THAT(invalid_argument_message([] { shipped_model_path("no_such_model.pt"); }),
             Contains("no_such_model.pt") && Contains("MAPINVERSE_MODELS"));
}

TEST_CASE("the shipped denoiser is deterministic and removes noise from test images") {
  torch::NoGradGuard no_grad;
  const auto denoiser = load_unet_denoiser(shipped_model_path(kDenoiserModelFile));
  const auto clean = test_images(8);
  auto generator = make_generator(3);
  for (const double sigma : {0.1, 0.5, 2.0}) {
    CAPTURE(sigma);
    const auto noisy = clean + sigma * randn_like(clean, generator);
    const auto first = denoiser->denoise(noisy, sigma);
    CHECK(first.sizes() == clean.sizes());
    CHECK(torch::equal(first, denoiser->denoise(noisy, sigma)));
    CHECK(torch::isfinite(first).all().item<bool>());
    // At least halves the squared error of the noisy input at every level.
    CHECK(mean_squared_error(first, clean) < 0.5 * mean_squared_error(noisy, clean));
  }
}

TEST_CASE("the shipped consistency model satisfies C(x, eps) = x and maps noise towards data") {
  torch::NoGradGuard no_grad;
  const auto consistency = load_unet_consistency(shipped_model_path(kConsistencyModelFile));
  const auto clean = test_images(8);
  // The boundary parameterisation makes C(x, eps) = x exactly, bit for bit.
  CHECK(torch::equal(consistency->origin(clean, consistency->epsilon()), clean));
  auto generator = make_generator(4);
  for (const double t : {0.2, 1.0}) {
    CAPTURE(t);
    const auto noisy = clean + t * randn_like(clean, generator);
    const auto origin = consistency->origin(noisy, t);
    CHECK(origin.sizes() == clean.sizes());
    CHECK(torch::equal(origin, consistency->origin(noisy, t)));
    CHECK(mean_squared_error(origin, clean) < 0.5 * mean_squared_error(noisy, clean));
  }
  // From pure noise at T it lands in the data range.
  const auto from_noise = consistency->origin(kTimeMax * randn_like(clean, generator), kTimeMax);
  CHECK(from_noise.abs().max().item<double>() < 1.5);
}

TEST_CASE("the shipped Gaussian mixture has the Fashion-MNIST event shape") {
  const auto mixture = GaussianMixturePrior::load(shipped_model_path(kMixtureModelFile).string());
  CHECK(mixture->num_components() == 20);
  CHECK(mixture->dimension() == 784);
  auto generator = make_generator(0);
  CHECK(mixture->sample(3, generator).sizes() == torch::IntArrayRef({3, 1, 28, 28}));
}

TEST_CASE("loading model files that are missing or are not U-Net weights fails clearly") {
  const mapinverse::testing::TemporaryDirectory folder("shipped_models_bad");
  CHECK_THAT(invalid_argument_message([&] { load_unet_denoiser(folder.file("missing.pt")); }),
             Contains("no such file") && Contains("missing.pt"));
  // The classifier's weights are a valid archive with the wrong parameters.
  CHECK_THAT(invalid_argument_message(
                 [&] { load_unet_consistency(shipped_model_path(kClassifierModelFile)); }),
             Contains("cannot be read as U-Net consistency model weights"));
  const auto empty = folder.file("empty.pt");
  std::ofstream{empty};
  CHECK_THAT(invalid_argument_message([&] { load_classifier(empty); }),
             Contains("cannot be read as Fashion-MNIST classifier weights"));
}
