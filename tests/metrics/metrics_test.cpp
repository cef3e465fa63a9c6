#include <cmath>

// torch before Catch: glog, pulled in by torch, defines its own CHECK.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include "mapinverse/metrics/distribution_distances.hpp"
#include "mapinverse/metrics/image_quality.hpp"

using namespace mapinverse;
using Catch::Matchers::Contains;

TEST_CASE("PSNR follows its definition on the [-1, 1] range") {
  const auto reference = torch::zeros({2, 1, 4, 4}, torch::kFloat64);
  auto estimate = reference.clone();
  estimate[0].fill_(0.1);  // MSE 0.01 -> 10 log10(4 / 0.01) = 26.0206
  estimate[1].fill_(-0.2);
  const auto values = psnr(estimate, reference);
  CHECK(values[0].item<double>() == Approx(10 * std::log10(400.0)));
  CHECK(values[1].item<double>() == Approx(10 * std::log10(100.0)));
}

TEST_CASE("SSIM is 1 for identical images and drops with noise") {
  torch::manual_seed(0);
  const auto reference = torch::rand({2, 1, 28, 28}, torch::kFloat64) * 2 - 1;
  CHECK(ssim(reference, reference)[0].item<double>() == Approx(1.0));
  const auto noisy = reference + 0.3 * torch::randn_like(reference);
  const auto values = ssim(noisy, reference);
  CHECK(values[0].item<double>() < 0.9);
  CHECK_THROWS_WITH(ssim(torch::zeros({1, 1, 8, 8}), torch::zeros({1, 1, 8, 8})),
                    Contains("at least 11x11"));
}

namespace {

// Smooth test patterns on an h x w grid (i rows, j columns), written the same way in the
// script that computed the reference values below.
torch::Tensor pattern_reference(int64_t h, int64_t w, double phase = 0.0) {
  const auto i = torch::arange(h, torch::kFloat64).reshape({h, 1});
  const auto j = torch::arange(w, torch::kFloat64).reshape({1, w});
  return torch::sin(0.3 * i + 0.2 * j + phase) * torch::cos(0.15 * i - 0.1 * j);
}

torch::Tensor pattern_perturbed(int64_t h, int64_t w, double phase = 0.0) {
  const auto i = torch::arange(h, torch::kFloat64).reshape({h, 1});
  const auto j = torch::arange(w, torch::kFloat64).reshape({1, w});
  return 0.7 * pattern_reference(h, w, phase) +
         0.25 * torch::cos(0.9 * i + 0.4 * j * j / (static_cast<double>(w) + 1.0) + phase);
}

}  // namespace

TEST_CASE("SSIM agrees with scikit-image's structural_similarity") {
  // scikit-image 0.24.0, structural_similarity(x, y, gaussian_weights=True, sigma=1.5,
  // use_sample_covariance=False, data_range=2.0 (or 1.0), channel_axis=-1 for two
  // channels): the settings of Wang et al. 2004 that ssim() implements. Its Gaussian
  // filter is 11 taps wide (truncate 3.5) and it averages over the image less a 5-pixel
  // border: ssim()'s valid region.
  const auto as_batch = [](const torch::Tensor& image) { return image.reshape({1, 1, 28, 28}); };
  const auto reference = as_batch(pattern_reference(28, 28));
  const auto perturbed = as_batch(pattern_perturbed(28, 28));
  CHECK(ssim(perturbed, reference)[0].item<double>() == Approx(0.5203812782307828).epsilon(1e-9));
  CHECK(ssim(perturbed, reference, 1.0)[0].item<double>() ==
        Approx(0.5040865611006278).epsilon(1e-9));
  const auto shifted = torch::clamp(reference + 0.3, -1.0, 1.0);
  CHECK(ssim(shifted, reference)[0].item<double>() == Approx(0.3215206944777514).epsilon(1e-9));
  // Two channels, 16 x 20: the mean over both channels' maps.
  const auto two_reference =
      torch::stack({pattern_reference(16, 20, 0.0), pattern_reference(16, 20, 1.0)}).unsqueeze(0);
  const auto two_perturbed =
      torch::stack({pattern_perturbed(16, 20, 0.0), pattern_perturbed(16, 20, 1.0)}).unsqueeze(0);
  CHECK(ssim(two_perturbed, two_reference)[0].item<double>() ==
        Approx(0.7501559204381292).epsilon(1e-9));
  // float32 images: computed in float64 all the same.
  CHECK(ssim(perturbed.to(torch::kFloat32), reference.to(torch::kFloat32))[0].item<double>() ==
        Approx(0.5203812782307828).epsilon(1e-6));
}

TEST_CASE("sliced Wasserstein: zero for equal sets, the shift for shifted Gaussians") {
  torch::manual_seed(1);
  const auto a = torch::randn({4000, 3}, torch::kFloat64);
  CHECK(sliced_wasserstein(a, a) == Approx(0.0).margin(1e-12));
  // Shifting by v moves each 1-D projection by <v, theta>; E[<v, theta>^2] = |v|^2 / d.
  const auto shift = torch::tensor({1.0, 0.0, 0.0}, torch::kFloat64);
  const double distance = sliced_wasserstein(a, a + shift, 2000);
  CHECK(distance == Approx(std::sqrt(1.0 / 3.0)).epsilon(0.05));
  CHECK_THROWS_AS(sliced_wasserstein(a, torch::zeros({10, 2}, torch::kFloat64)),
                  std::invalid_argument);
}

TEST_CASE("Frechet distance matches the Gaussian closed form") {
  torch::manual_seed(2);
  const auto a = torch::randn({20000, 2}, torch::kFloat64);
  const auto b = 2.0 * torch::randn({20000, 2}, torch::kFloat64) + 1.0;
  // |mu|^2 = 2; tr(I + 4I - 2 * 2I) = 2.
  CHECK(frechet_distance(a, b) == Approx(4.0).epsilon(0.05));
  CHECK(frechet_distance(a, a) == Approx(0.0).margin(1e-9));
}
