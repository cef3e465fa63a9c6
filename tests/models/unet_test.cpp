#include <cmath>
#include <memory>
#include <thread>
#include <vector>

// torch before Catch: glog, pulled in by torch, defines its own CHECK.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include "mapinverse/models/preconditioning.hpp"
#include "mapinverse/models/unet.hpp"

using namespace mapinverse;
using Catch::Matchers::Contains;

namespace {

int64_t parameter_count(const UNet& unet) {
  int64_t count = 0;
  for (const auto& p : unet->parameters()) count += p.numel();
  return count;
}

/// Gives the zero-initialised output layer random weights, so that the network's
/// output depends on its inputs (as after training).
void randomise_output(UNet& unet) {
  torch::NoGradGuard no_grad;
  for (auto& item : unet->named_parameters()) {
    if (item.key().rfind("output.", 0) == 0) item.value().normal_(0.0, 0.1);
  }
}

/// F(x_in, c_noise) = x_in + c_noise (broadcast per sample) + `offset`: records what the
/// preconditioning feeds the network and returns something non-zero.
class AffineNetwork final : public Network {
 public:
  explicit AffineNetwork(double offset) : offset_(offset) {}
  torch::Tensor forward(const torch::Tensor& x_in, const torch::Tensor& noise_input,
                        const torch::Tensor& /*labels*/) const override {
    REQUIRE(noise_input.dim() == 1);
    REQUIRE(noise_input.size(0) == x_in.size(0));
    return x_in + noise_input.view({-1, 1, 1, 1}) + offset_;
  }

 private:
  double offset_;
};

}  // namespace

TEST_CASE("UNet maps [B,1,28,28] to [B,1,28,28] and starts at zero output", "[models][unet]") {
  torch::manual_seed(0);
  UNet unet(UNetOptions{});
  const auto x = torch::randn({3, 1, 28, 28});
  const auto output = unet->forward(x, torch::tensor({-1.0f, 0.0f, 1.0f}));
  REQUIRE(output.sizes() == x.sizes());
  CHECK(output.abs().max().item<float>() == 0.0f);
}

TEST_CASE("UNet default size stays within 0.5M-0.8M parameters", "[models][unet]") {
  torch::manual_seed(4);
  UNet unet(UNetOptions{});
  const auto count = parameter_count(unet);
  CHECK(count >= 500000);
  CHECK(count <= 800000);
  UNet wider(UNetOptions{}.set_base_channels(32));
  CHECK(parameter_count(wider) > count);
}

TEST_CASE("UNet construction is deterministic under torch::manual_seed", "[models][unet]") {
  const auto build = [](uint64_t seed) {
    torch::manual_seed(seed);
    UNet unet(UNetOptions{});
    randomise_output(unet);
    return unet;
  };
  torch::manual_seed(9);
  const auto x = torch::randn({2, 1, 28, 28});
  const auto c_noise = torch::tensor({-0.5f, 0.7f});
  auto a = build(5);
  auto b = build(5);
  auto c = build(6);
  const auto out_a = a->forward(x, c_noise);
  CHECK(torch::equal(out_a, b->forward(x, c_noise)));
  CHECK_FALSE(torch::allclose(out_a, c->forward(x, c_noise)));
}

TEST_CASE("UNet output depends on the noise input and, when conditional, the labels",
          "[models][unet]") {
  torch::manual_seed(1);
  UNet unet(UNetOptions{}.set_num_classes(10));
  randomise_output(unet);
  const auto x = torch::randn({2, 1, 28, 28});
  const auto labels = torch::tensor({3, 3}, torch::kInt64);
  const auto reference = unet->forward(x, torch::tensor({0.1f, 0.1f}), labels);
  CHECK((reference - unet->forward(x, torch::tensor({0.1f, 0.9f}), labels))[0]
            .abs()
            .max()
            .item<float>() == 0.0f);
  CHECK((reference - unet->forward(x, torch::tensor({0.1f, 0.9f}), labels))[1]
            .abs()
            .max()
            .item<float>() > 1e-4f);
  CHECK((reference - unet->forward(x, torch::tensor({0.1f, 0.1f}), torch::tensor({3, 7})))
            .abs()
            .max()
            .item<float>() > 1e-4f);
}

TEST_CASE("UNet rejects inputs it cannot process", "[models][unet]") {
  torch::manual_seed(3);
  UNet unet(UNetOptions{});
  const auto c_noise = torch::zeros({2});
  CHECK_THROWS_WITH(unet->forward(torch::zeros({2, 3, 28, 28}), c_noise),
                    Contains("UNet::forward(): expected x_in of shape [B,1,B,B], got [2,3,28,28]"));
  CHECK_THROWS_WITH(unet->forward(torch::zeros({2, 1, 30, 30}), c_noise),
                    Contains("divisible by 4"));
  CHECK_THROWS_WITH(unet->forward(torch::zeros({2, 1, 28, 28}), torch::zeros({3})),
                    Contains("c_noise"));
  CHECK_THROWS_WITH(
      unet->forward(torch::zeros({2, 1, 28, 28}), c_noise, torch::zeros({2}, torch::kInt64)),
      Contains("unconditional"));
  UNet conditional(UNetOptions{}.set_num_classes(10));
  CHECK_THROWS_WITH(conditional->forward(torch::zeros({2, 1, 28, 28}), c_noise),
                    Contains("labels"));
}

TEST_CASE("UNetOptions::validate names the offending field", "[models][unet]") {
  torch::manual_seed(5);
  CHECK_THROWS_WITH(UNetOptions{}.set_base_channels(20).validate(),
                    Contains("UNetOptions::base_channels = 20. Violated constraint"));
  CHECK_THROWS_WITH(UNetOptions{}.set_channel_multipliers({}).validate(),
                    Contains("UNetOptions::channel_multipliers"));
  CHECK_THROWS_WITH(UNetOptions{}.set_frequencies(2.0, 1.0).validate(),
                    Contains("UNetOptions::max_frequency = 1"));
  CHECK_THROWS_AS(UNet(UNetOptions{}.set_num_classes(-1)), std::invalid_argument);
}

TEST_CASE("UNetNetwork shares the module it wraps", "[models][unet]") {
  torch::manual_seed(2);
  UNet unet(UNetOptions{});
  const UNetNetwork network(unet);
  randomise_output(unet);
  const auto x = torch::randn({2, 1, 28, 28});
  const auto c_noise = torch::tensor({0.2f, -0.3f});
  const auto out = network.forward(x, c_noise, torch::Tensor());
  CHECK(out.abs().max().item<float>() > 0.0f);
  CHECK(torch::equal(out, unet->forward(x, c_noise)));
}

TEST_CASE("UNet::forward_at equals forward with the noise input repeated per sample",
          "[models][unet][threads]") {
  torch::manual_seed(21);
  UNet unet(UNetOptions{});
  randomise_output(unet);
  unet->eval();
  for (auto& parameter : unet->parameters()) parameter.requires_grad_(false);
  const auto x = torch::randn({3, 1, 28, 28});
  const auto repeated = [&](double c_noise) { return unet->forward(x, torch::full({3}, c_noise)); };
  // Outputs are O(1): the folded biases change float32 rounding by ~1e-5, no more.

  SECTION("at several noise inputs, with and without autograd, bit for bit between modes") {
    for (const double c_noise : {-1.5, 0.0, 0.7}) {
      const auto shared = unet->forward_at(x, c_noise);
      CHECK(torch::allclose(shared, repeated(c_noise), 1e-4, 1e-4));
      torch::NoGradGuard no_grad;
      CHECK(torch::equal(unet->forward_at(x, c_noise), shared));
    }
  }
  SECTION("a changed weight is seen at once") {
    const auto before = unet->forward_at(x, 0.7);
    {
      torch::NoGradGuard no_grad;
      for (auto& item : unet->named_parameters()) {
        if (item.key().find("embedding") != std::string::npos) item.value().mul_(1.5);
      }
    }
    const auto after = unet->forward_at(x, 0.7);
    CHECK_FALSE(torch::allclose(after, before));
    CHECK(torch::allclose(after, repeated(0.7), 1e-4, 1e-4));
    unet->to(torch::kFloat64);
    const auto in_double = unet->forward_at(x.to(torch::kFloat64), 0.7);
    CHECK(in_double.scalar_type() == torch::kFloat64);
    CHECK(torch::allclose(in_double.to(torch::kFloat32), after, 1e-4, 1e-4));
  }
  SECTION("gradients reach the weights when they require them") {
    for (auto& parameter : unet->parameters()) parameter.requires_grad_(true);
    const auto weight = unet->named_parameters()["embedding_in.weight"];
    const auto shared =
        torch::autograd::grad({unet->forward_at(x, 0.7).square().sum()}, {weight})[0];
    const auto reference = torch::autograd::grad({repeated(0.7).square().sum()}, {weight})[0];
    CHECK(shared.abs().max().item<float>() > 0.0f);
    CHECK(torch::allclose(shared, reference, 1e-4, 1e-4));
  }
  SECTION("concurrent callers share the cache safely") {
    std::vector<torch::Tensor> expected;
    for (int i = 0; i < 4; ++i) expected.push_back(repeated(0.1 * i));
    std::vector<torch::Tensor> results(8);
    std::vector<std::thread> callers;
    for (size_t k = 0; k < results.size(); ++k) {
      callers.emplace_back([&, k] {
        torch::NoGradGuard no_grad;
        results[k] = unet->forward_at(x, 0.1 * static_cast<double>(k % 4));
      });
    }
    for (auto& caller : callers) caller.join();
    for (size_t k = 0; k < results.size(); ++k) {
      CHECK(torch::allclose(results[k], expected[k % 4], 1e-4, 1e-4));
    }
  }
  SECTION("a class-conditional network gets its labels") {
    torch::manual_seed(22);
    UNet conditional(UNetOptions{}.set_num_classes(10));
    randomise_output(conditional);
    const auto labels = torch::tensor({1, 4, 9}, torch::kInt64);
    CHECK(torch::equal(conditional->forward_at(x, 0.2, labels),
                       conditional->forward(x, torch::full({3}, 0.2), labels)));
    CHECK_THROWS_WITH(conditional->forward_at(x, 0.2), Contains("labels"));
  }
}

TEST_CASE("Preconditioned U-Nets give the same at a number as at a scalar tensor",
          "[models][preconditioning]") {
  torch::manual_seed(23);
  UNet unet(UNetOptions{});
  randomise_output(unet);
  for (auto& parameter : unet->parameters()) parameter.requires_grad_(false);
  const auto network = std::make_shared<UNetNetwork>(unet);
  const auto x = torch::randn({2, 1, 28, 28});
  const EdmDenoiser denoiser(network);
  const BoundaryConsistency consistency(network);
  for (const double time : {0.01, 0.5, 20.0}) {
    const auto scalar = torch::scalar_tensor(time);
    CHECK(torch::allclose(denoiser.denoise(x, time), denoiser.denoise(x, scalar), 1e-4, 1e-4));
    CHECK(torch::allclose(consistency.origin(x, time), consistency.origin(x, scalar), 1e-4, 1e-4));
  }
  // And their vector-Jacobian products (what PGDM, DPS and MAP-GA take).
  const auto input = x.clone().requires_grad_(true);
  const auto direction = torch::randn_like(x);
  const auto vjp = [&](const torch::Tensor& output) {
    return torch::autograd::grad({output}, {input}, {direction})[0];
  };
  CHECK(torch::allclose(vjp(consistency.origin(input, 0.5)),
                        vjp(consistency.origin(input, torch::scalar_tensor(0.5))), 1e-4, 1e-4));
}

TEST_CASE("EdmDenoiser applies the EDM preconditioning coefficients", "[models][preconditioning]") {
  torch::manual_seed(11);
  const double sd = 0.5;
  const auto x = torch::randn({3, 1, 2, 2}, torch::kFloat64);
  const auto sigma = torch::tensor({0.01, 0.5, 40.0}, torch::kFloat64);
  const auto s = sigma.view({-1, 1, 1, 1});
  const auto c_skip = sd * sd / (s * s + sd * sd);
  const auto c_out = s * sd / (s * s + sd * sd).sqrt();
  const auto c_in = 1.0 / (s * s + sd * sd).sqrt();
  const auto c_noise = s.log() / 4.0;

  SECTION("F = x_in + c_noise reveals c_in and c_noise") {
    const EdmDenoiser denoiser(std::make_shared<AffineNetwork>(0.0), EdmDenoiser::Options{});
    // With F = x_in + c_noise: D = c_skip x + c_out (c_in x + c_noise).
    CHECK(torch::allclose(denoiser.denoise(x, sigma), c_skip * x + c_out * (c_in * x + c_noise),
                          1e-12, 1e-12));
  }
  SECTION("a zero network (the untrained UNet) gives c_skip x") {
    torch::manual_seed(0);
    UNet unet(UNetOptions{});
    const EdmDenoiser denoiser(std::make_shared<UNetNetwork>(unet));
    const auto images = torch::randn({3, 1, 28, 28});
    const auto expected = (sd * sd / (s * s + sd * sd)).to(torch::kFloat32) * images;
    CHECK(
        torch::allclose(denoiser.denoise(images, sigma.to(torch::kFloat32)), expected, 1e-6, 1e-7));
  }
  SECTION("a scalar sigma reaches the network once per sample") {
    const EdmDenoiser denoiser(std::make_shared<AffineNetwork>(1.0));
    const auto d = denoiser.denoise(x, 0.5);
    const double cs = 0.5, co = 0.5 * sd / std::sqrt(0.5), ci = 1.0 / std::sqrt(0.5);
    CHECK(torch::allclose(d, cs * x + co * (ci * x + std::log(0.5) / 4.0 + 1.0), 1e-12, 1e-12));
  }
  SECTION("options are validated") {
    EdmDenoiser::Options options;
    options.sigma_data = -1.0;
    CHECK_THROWS_WITH(
        EdmDenoiser(std::make_shared<AffineNetwork>(0.0), options),
        Contains("EdmDenoiser::Options::sigma_data = -1. Violated constraint: sigma_data > 0"));
    CHECK_THROWS_WITH(EdmDenoiser(nullptr),
                      Contains("EdmDenoiser::EdmDenoiser(): expected a network"));
  }
}

TEST_CASE("BoundaryConsistency is the identity at epsilon and follows its coefficients",
          "[models][preconditioning]") {
  torch::manual_seed(12);
  const double sd = 0.5;
  const double eps = kEpsilon;
  const auto network = std::make_shared<AffineNetwork>(3.0);

  SECTION("C(x, eps) = x exactly, in float32, although F is not zero") {
    const BoundaryConsistency consistency(network);
    const auto x = torch::randn({4, 1, 3, 3});
    CHECK(torch::equal(consistency.origin(x, eps), x));
    CHECK(consistency.epsilon() == eps);
  }
  SECTION("coefficients and both noise inputs") {
    const auto z = torch::randn({2, 1, 2, 2}, torch::kFloat64);
    const auto t = torch::tensor({0.3, 20.0}, torch::kFloat64);
    const auto tt = t.view({-1, 1, 1, 1});
    const auto c_skip = sd * sd / ((tt - eps).square() + sd * sd);
    const auto c_out = (tt - eps) * sd / (tt.square() + sd * sd).sqrt();
    const auto c_in = 1.0 / (tt.square() + sd * sd).sqrt();
    for (const auto& [input, scale] :
         {std::pair{NoiseInput::kEdmLogQuarter, 0.25}, std::pair{NoiseInput::kOpenAi, 250.0}}) {
      BoundaryConsistency::Options options;
      options.noise_input = input;
      const BoundaryConsistency consistency(network, options);
      const auto expected = c_skip * z + c_out * (c_in * z + scale * tt.log() + 3.0);
      CHECK(torch::allclose(consistency.origin(z, t), expected, 1e-12, 1e-12));
    }
  }
  SECTION("a custom epsilon moves the boundary") {
    BoundaryConsistency::Options options;
    options.epsilon = 0.01;
    const BoundaryConsistency consistency(network, options);
    const auto x = torch::randn({2, 1, 2, 2}, torch::kFloat64);
    CHECK(torch::equal(consistency.origin(x, 0.01), x));
    CHECK_FALSE(torch::allclose(consistency.origin(x, 0.05), x));
  }
  SECTION("options are validated") {
    BoundaryConsistency::Options options;
    options.epsilon = 0.0;
    CHECK_THROWS_WITH(
        BoundaryConsistency(network, options),
        Contains("BoundaryConsistency::Options::epsilon = 0. Violated constraint: epsilon > 0"));
    options = BoundaryConsistency::Options{};
    options.sigma_data = std::nan("");
    CHECK_THROWS_WITH(BoundaryConsistency(network, options),
                      Contains("BoundaryConsistency::Options::sigma_data = nan"));
  }
}
