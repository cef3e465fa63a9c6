#include <cmath>

// torch before Catch: glog, pulled in by torch, defines its own CHECK.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include "mapinverse/operators/gaussian_blur.hpp"
#include "support/random_tensors.hpp"

using Catch::Matchers::Contains;
using mapinverse::GaussianBlur;
using mapinverse::testing::normal;

TEST_CASE("GaussianBlur builds a normalised, symmetric kernel", "[operators][blur]") {
  const GaussianBlur derived(GaussianBlur::Options{1.2, 0});
  REQUIRE(derived.kernel().sizes() == torch::IntArrayRef{9, 9});  // 2 ceil(3.6) + 1
  CHECK(derived.kernel().sum().item<double>() == Approx(1.0).epsilon(1e-14));
  CHECK(torch::equal(derived.kernel(), derived.kernel().t()));
  CHECK(torch::equal(derived.kernel(), derived.kernel().flip({0})));
  const auto k = derived.kernel();
  // Ratio of neighbouring weights along a row: exp(-(1^2 - 0^2) / (2 sigma^2)).
  CHECK(k.index({4, 5}).item<double>() / k.index({4, 4}).item<double>() ==
        Approx(std::exp(-1.0 / (2.0 * 1.44))).epsilon(1e-12));

  const GaussianBlur fixed(GaussianBlur::Options{2.0, 5});
  CHECK(fixed.kernel().sizes() == torch::IntArrayRef{5, 5});
}

TEST_CASE("GaussianBlur is a circular convolution", "[operators][blur]") {
  const GaussianBlur blur(GaussianBlur::Options{0.7, 3});
  // An impulse at (0, 0) comes back as the kernel centred there, wrapping around.
  auto impulse = torch::zeros({1, 1, 5, 6}, torch::kFloat64);
  impulse.index_put_({0, 0, 0, 0}, 1.0);
  const auto response = blur.apply(impulse);
  const auto k = blur.kernel();
  CHECK(response.index({0, 0, 0, 0}).item<double>() == Approx(k.index({1, 1}).item<double>()));
  CHECK(response.index({0, 0, 4, 5}).item<double>() == Approx(k.index({0, 0}).item<double>()));
  CHECK(response.index({0, 0, 1, 0}).item<double>() == Approx(k.index({2, 1}).item<double>()));
  CHECK(std::abs(response.index({0, 0, 2, 2}).item<double>()) < 1e-15);
  CHECK(response.sum().item<double>() == Approx(1.0));

  // A constant image is unchanged; so is the mean of any image.
  const auto constant = torch::full({2, 3, 5, 6}, 0.25, torch::kFloat64);
  CHECK(torch::allclose(blur.apply(constant), constant, 0.0, 1e-15));
  const auto x = normal({2, 3, 5, 6}, 3);
  CHECK(torch::allclose(blur.apply(x).mean({2, 3}), x.mean({2, 3}), 0.0, 1e-14));
}

TEST_CASE("GaussianBlur's solve_gram inverts a I + b H H^T", "[operators][blur]") {
  const GaussianBlur blur(GaussianBlur::Options{1.0, 0});
  const auto r = normal({2, 1, 16, 12}, 4);
  const auto u = blur.solve_gram(r, 0.05, 2.0);
  CHECK(torch::allclose(0.05 * u + 2.0 * blur.gram(u), r, 0.0, 1e-12));
  CHECK(torch::allclose(blur.gram(r), blur.apply(blur.adjoint(r)), 0.0, 1e-14));
  const auto spectrum = blur.spectrum(16, 12, torch::TensorOptions(torch::kFloat32));
  CHECK(spectrum.sizes() == torch::IntArrayRef{16, 7});
  CHECK(spectrum.scalar_type() == torch::kComplexFloat);
}

TEST_CASE("GaussianBlur validates its options and inputs", "[operators][blur]") {
  REQUIRE_THROWS_WITH(GaussianBlur(GaussianBlur::Options{0.0, 0}),
                      Contains("GaussianBlur::Options::sigma_pixels = 0. Violated constraint: "
                               "sigma_pixels > 0"));
  REQUIRE_THROWS_AS(GaussianBlur(GaussianBlur::Options{1.0, 4}), std::invalid_argument);
  REQUIRE_THROWS_WITH(GaussianBlur(GaussianBlur::Options{1.0, 4}),
                      Contains("kernel_size = 4. Violated constraint"));
  REQUIRE_THROWS_WITH(GaussianBlur(GaussianBlur::Options{1.0, -1}), Contains("kernel_size = -1"));
  const GaussianBlur blur(GaussianBlur::Options{1.0, 0});
  REQUIRE_THROWS_WITH(
      blur.apply(torch::zeros({2, 8, 8})),
      Contains("GaussianBlur::apply(): expected x of shape [B,C,H,W], got [2,8,8]"));
}
