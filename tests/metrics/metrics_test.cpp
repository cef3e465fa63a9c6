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
