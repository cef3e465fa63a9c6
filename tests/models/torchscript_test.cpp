// torch before Catch: glog, pulled in by torch, defines its own CHECK.
#include <torch/script.h>
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "mapinverse/core/noise_schedule.hpp"
#include "mapinverse/models/torchscript.hpp"
#include "support/invalid_argument.hpp"
#include "support/temporary_directory.hpp"

using namespace mapinverse;
using Catch::Matchers::Contains;
using mapinverse::testing::invalid_argument_message;
using mapinverse::testing::TemporaryDirectory;

namespace {

/// Writes a TorchScript module whose class body is `source` (TorchScript methods).
std::string save_module(const TemporaryDirectory& folder, const std::string& name,
                        const std::string& source) {
  torch::jit::Module module(name);
  module.define(source);
  const auto path = folder.file(name + ".pt");
  module.save(path);
  return path;
}

// F(x_in, c) = 2 x_in + c: simple enough to check every preconditioning coefficient.
const char* kAffineNetwork = R"(
def forward(self, x, sigma):
    return 2.0 * x + sigma.view(-1, 1, 1, 1)
)";

const char* kLabelledNetwork = R"(
def forward(self, x, sigma, labels: Optional[Tensor]):
    if labels is None:
        return x
    return x + labels.to(x.dtype).view(-1, 1, 1, 1)
)";

torch::Tensor test_images() {
  return torch::linspace(-1.0, 1.0, 2 * 1 * 4 * 4, torch::kFloat64).view({2, 1, 4, 4});
}

}  // namespace

TEST_CASE("a raw TorchScript network gets EDM preconditioning") {
  const TemporaryDirectory folder("torchscript_edm");
  const auto path = save_module(folder, "affine", kAffineNetwork);
  const auto denoiser = load_torchscript_denoiser(path, TorchScriptOptions{});
  const auto x = test_images();
  const double sigma = 0.7;
  const double sd = kSigmaData;
  const double variance = sigma * sigma + sd * sd;
  const double c_in = 1.0 / std::sqrt(variance);
  const auto expected = sd * sd / variance * x +
                        sigma * sd / std::sqrt(variance) * (2.0 * c_in * x + std::log(sigma) / 4);
  CHECK(torch::allclose(denoiser->denoise(x, sigma), expected, 1e-12, 1e-12));
}

TEST_CASE("a raw TorchScript consistency network in OpenAI's convention receives 250 ln t") {
  const TemporaryDirectory folder("torchscript_openai");
  const auto path = save_module(folder, "affine", kAffineNetwork);
  TorchScriptOptions options;
  options.form = TorchScriptForm::kOpenAiNetwork;
  const auto consistency = load_torchscript_consistency(path, options);
  const auto x = test_images();
  const double t = 3.0;
  const double sd = kSigmaData;
  const double shifted = t - kEpsilon;
  const double c_in = 1.0 / std::sqrt(t * t + sd * sd);
  const auto expected = sd * sd / (shifted * shifted + sd * sd) * x +
                        shifted * sd * c_in * (2.0 * c_in * x + 250.0 * std::log(t));
  CHECK(torch::allclose(consistency->origin(x, t), expected, 1e-12, 1e-12));
  // The boundary condition holds whatever the network.
  CHECK(torch::allclose(consistency->origin(x, kEpsilon), x, 0.0, 1e-12));
}

TEST_CASE("ready TorchScript denoisers and consistency functions are called as they are") {
  const TemporaryDirectory folder("torchscript_ready");
  const auto path = save_module(folder, "labelled", kLabelledNetwork);
  TorchScriptOptions options;
  options.form = TorchScriptForm::kReady;
  const auto denoiser = load_torchscript_denoiser(path, options);
  const auto consistency = load_torchscript_consistency(path, options);
  const auto x = test_images();
  const auto labels = torch::tensor({3, 5}, torch::kLong);
  CHECK(torch::equal(denoiser->denoise(x, 0.5), x));
  CHECK(torch::equal(denoiser->denoise(x, 0.5, labels), x + labels.view({2, 1, 1, 1})));
  CHECK(torch::equal(consistency->origin(x, 2.0, labels), x + labels.view({2, 1, 1, 1})));
  CHECK(consistency->epsilon() == kEpsilon);
}

TEST_CASE("TorchScript backends are differentiable with respect to the image") {
  const TemporaryDirectory folder("torchscript_grad");
  const auto path = save_module(folder, "affine", kAffineNetwork);
  const auto denoiser = load_torchscript_denoiser(path, TorchScriptOptions{});
  const auto x = test_images().requires_grad_(true);
  const double sigma = 0.7;
  const double variance = sigma * sigma + kSigmaData * kSigmaData;
  const double slope = kSigmaData * kSigmaData / variance + 2.0 * sigma * kSigmaData / variance;
  const auto gradient = torch::autograd::grad({denoiser->denoise(x, sigma).sum()}, {x})[0];
  CHECK(torch::allclose(gradient, torch::full_like(gradient, slope), 1e-12, 1e-12));
}

TEST_CASE("TorchScript files with another signature are refused at load time") {
  const TemporaryDirectory folder("torchscript_signature");
  const std::string expected =
      "expected forward(x: Tensor, sigma: Tensor[, labels: Optional[Tensor]])";
  const auto one_argument = save_module(folder, "one", "def forward(self, x):\n    return x\n");
  const auto float_sigma =
      save_module(folder, "float_sigma", "def forward(self, x, sigma: float):\n    return x\n");
  const auto four_arguments =
      save_module(folder, "four", "def forward(self, x, sigma, labels, extra):\n    return x\n");
  const auto tuple_result =
      save_module(folder, "tuple", "def forward(self, x, sigma):\n    return (x, sigma)\n");
  for (const auto& path : {one_argument, float_sigma, four_arguments, tuple_result}) {
    CAPTURE(path);
    const auto message =
        invalid_argument_message([&] { load_torchscript_denoiser(path, TorchScriptOptions{}); });
    CHECK_THAT(message, Contains(expected) && Contains(path));
  }
  const auto no_forward = save_module(folder, "no_forward", "def other(self, x):\n    return x\n");
  CHECK_THAT(invalid_argument_message([&] { TorchScriptModule module(no_forward); }),
             Contains("has no forward method"));
}

TEST_CASE("missing and corrupt TorchScript files get errors that name them") {
  const TemporaryDirectory folder("torchscript_files");
  const auto missing = folder.file("missing.pt");
  CHECK_THAT(invalid_argument_message([&] { TorchScriptModule module(missing); }),
             Contains("no such file") && Contains(missing));
  const auto corrupt = folder.file("corrupt.pt");
  std::ofstream(corrupt) << "not a zip archive";
  CHECK_THAT(invalid_argument_message([&] { TorchScriptModule module(corrupt); }),
             Contains("not a readable TorchScript archive") && Contains(corrupt));
  // A truncated archive: the first half of a valid file.
  const auto valid = save_module(folder, "affine", kAffineNetwork);
  std::ifstream input(valid, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(input)), {});
  const auto truncated = folder.file("truncated.pt");
  std::ofstream(truncated, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  CHECK_THAT(invalid_argument_message([&] { TorchScriptModule module(truncated); }),
             Contains("not a readable TorchScript archive"));
}

TEST_CASE("TorchScript calls check labels and the result's shape") {
  const TemporaryDirectory folder("torchscript_calls");
  const auto affine = load_torchscript_denoiser(save_module(folder, "affine", kAffineNetwork),
                                                TorchScriptOptions{});
  const auto x = test_images();
  CHECK_THAT(invalid_argument_message([&] {
               affine->denoise(x, 0.5, torch::tensor({1, 2}, torch::kLong));
             }),
             Contains("labels were given but forward takes none"));
  TorchScriptOptions ready;
  ready.form = TorchScriptForm::kReady;
  const auto shrinking = load_torchscript_denoiser(
      save_module(folder, "shrinking",
                  "def forward(self, x, sigma):\n    return x[:, :, :2, :2]\n"),
      ready);
  CHECK_THAT(invalid_argument_message([&] { shrinking->denoise(x, 0.5); }),
             Contains("returned shape [2,1,2,2] for input shape [2,1,4,4]"));
}

// Run by tests/scripts/wrap_torchscript_test.py and imagenet_standins_test.py (hidden
// otherwise): a network wrapped by scripts/wrap_torchscript.py loads with the form it
// records, as MAPINVERSE_WRAPPED_ROLE (denoiser or consistency), and reproduces the
// expected values computed in PyTorch. x is linspace(-1, 1) in the recorded image shape;
// the inputs file holds one line of sigma (or t) values, one per image, and one of labels.
TEST_CASE("a network wrapped by scripts/wrap_torchscript.py matches PyTorch", "[.wrapped]") {
  const auto variable = [](const char* name) {
    const char* value = std::getenv(name);
    REQUIRE(value != nullptr);
    return std::string(value);
  };
  const auto model = variable("MAPINVERSE_WRAPPED_MODEL");
  const auto role = variable("MAPINVERSE_WRAPPED_ROLE");
  std::ifstream inputs(variable("MAPINVERSE_WRAPPED_INPUTS"));
  std::string sigma_line, label_line;
  REQUIRE(std::getline(inputs, sigma_line));
  REQUIRE(std::getline(inputs, label_line));
  std::vector<float> sigmas;
  std::istringstream sigma_values(sigma_line);
  for (float value = 0; sigma_values >> value;) sigmas.push_back(value);
  std::vector<int64_t> labels;
  std::istringstream label_values(label_line);
  for (int64_t value = 0; label_values >> value;) labels.push_back(value);

  const TorchScriptModule module(model);
  const auto& shape = module.metadata().image_shape;
  REQUIRE(shape.size() == 3);
  const auto batch = static_cast<int64_t>(sigmas.size());
  const auto x = torch::linspace(-1.0, 1.0, batch * shape[0] * shape[1] * shape[2])
                     .view({batch, shape[0], shape[1], shape[2]});
  const auto sigma = torch::tensor(sigmas);
  const auto label_tensor = labels.empty() ? torch::Tensor() : torch::tensor(labels, torch::kLong);
  std::vector<float> values;
  std::ifstream expected_file(variable("MAPINVERSE_WRAPPED_EXPECTED"));
  for (float value = 0; expected_file >> value;) values.push_back(value);
  REQUIRE(static_cast<int64_t>(values.size()) == x.numel());
  const auto expected = torch::tensor(values).view_as(x);

  torch::NoGradGuard no_grad;
  torch::Tensor result;
  if (role == "consistency") {
    result = load_torchscript_consistency(model, {})->origin(x, sigma, label_tensor);
  } else {
    result = load_torchscript_denoiser(model, {})->denoise(x, sigma, label_tensor);
  }
  const double scale = expected.abs().max().item<double>();
  INFO("largest difference " << (result - expected).abs().max().item<double>() << " of " << scale);
  CHECK(torch::allclose(result, expected, 1e-5, 1e-5 * scale));
}
