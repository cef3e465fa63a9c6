// The three conventions a TorchScript file can be loaded with, checked coefficient by
// coefficient, and the record scripts/wrap_torchscript.py leaves in a file.

// torch before Catch: glog, pulled in by torch, defines its own CHECK.
#include <torch/script.h>
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <string>

#include "mapinverse/core/noise_schedule.hpp"
#include "mapinverse/models/torchscript.hpp"
#include "support/invalid_argument.hpp"
#include "support/temporary_directory.hpp"

using namespace mapinverse;
using Catch::Matchers::Contains;
using mapinverse::testing::invalid_argument_message;
using mapinverse::testing::TemporaryDirectory;

namespace {

/// Saves a module whose forward is `body` (returning a tensor from x and sigma), with an
/// optional metadata record.
std::string save_probe(const TemporaryDirectory& folder, const std::string& name,
                       const std::string& body, const std::string& record = "") {
  torch::jit::Module module(name);
  module.define("def forward(self, x, sigma):\n    return " + body + "\n");
  const auto path = folder.file(name + ".pt");
  torch::jit::ExtraFilesMap extra;
  if (!record.empty()) extra["mapinverse.txt"] = record;
  module.save(path, extra);
  return path;
}

/// The coefficients of D(x) = c_skip x + c_out F(c_in x, c_noise) (or C), at one s.
struct Coefficients {
  double c_skip, c_out, c_in, c_noise;
};

/// Recovers the four coefficients of `model(file)(x, s)` with probe networks:
/// F = 0 gives c_skip (x = 1), F = 1 gives c_out (x = 0), F = x_in gives c_in and
/// F = c_noise gives c_noise.
Coefficients measure(const TemporaryDirectory& folder,
                     const std::function<at::Tensor(const std::string&, const at::Tensor&)>& model,
                     const std::string& record) {
  const auto ones = torch::ones({1, 1, 2, 2}, torch::kFloat64);
  const auto zeros = torch::zeros_like(ones);
  const auto value_at = [&](const std::string& name, const std::string& body, const at::Tensor& x) {
    return model(save_probe(folder, name, body, record), x).mean().item<double>();
  };
  Coefficients c{};
  c.c_skip = value_at("zero", "0.0 * x", ones);
  c.c_out = value_at("one", "0.0 * x + 1.0", zeros);
  c.c_in = (value_at("identity", "x", ones) - c.c_skip) / c.c_out;
  c.c_noise = value_at("noise", "0.0 * x + sigma.view(-1, 1, 1, 1)", zeros) / c.c_out;
  return c;
}

void check(const Coefficients& found, const Coefficients& expected) {
  CHECK(found.c_skip == Approx(expected.c_skip).epsilon(1e-12));
  CHECK(found.c_out == Approx(expected.c_out).epsilon(1e-12));
  CHECK(found.c_in == Approx(expected.c_in).epsilon(1e-10));
  CHECK(found.c_noise == Approx(expected.c_noise).epsilon(1e-10));
}

}  // namespace

TEST_CASE("the three TorchScript conventions, coefficient by coefficient") {
  const TemporaryDirectory folder("torchscript_conventions");
  const double sd = kSigmaData;
  for (const double s : {0.002, 0.05, 1.0, 80.0}) {
    const auto sigma = torch::full({1}, s, torch::kFloat64);
    const auto denoiser = [&](const std::string& path, const at::Tensor& x) {
      return load_torchscript_denoiser(path, {})->denoise(x, sigma);
    };
    const auto consistency = [&](const std::string& path, const at::Tensor& x) {
      return load_torchscript_consistency(path, {})->origin(x, sigma);
    };
    // EDM (Karras et al. 2022, Table 1): EDM scalings, c_noise = ln(sigma)/4.
    const double variance = s * s + sd * sd;
    const Coefficients edm{sd * sd / variance, s * sd / std::sqrt(variance),
                           1.0 / std::sqrt(variance), std::log(s) / 4.0};
    SECTION("EDM denoiser, s = " + std::to_string(s)) {
      check(measure(folder, denoiser, "form=edm\n"), edm);
    }
    // OpenAI's EDM-trained denoiser: the same scalings, c_noise = 1000 * ln(sigma)/4.
    SECTION("OpenAI denoiser, s = " + std::to_string(s)) {
      auto openai = edm;
      openai.c_noise = 250.0 * std::log(s);
      check(measure(folder, denoiser, "form=openai\n"), openai);
    }
    // OpenAI's consistency models (Song et al. 2023, App. C): boundary scalings,
    // c_noise = 250 ln(t).
    SECTION("OpenAI consistency model, t = " + std::to_string(s)) {
      const double shifted = s - kEpsilon;
      const Coefficients boundary{sd * sd / (shifted * shifted + sd * sd),
                                  shifted * sd / std::sqrt(variance), 1.0 / std::sqrt(variance),
                                  250.0 * std::log(s)};
      if (s > kEpsilon) {
        check(measure(folder, consistency, "form=openai\n"), boundary);
      } else {  // at t = epsilon, c_out = 0: C is the identity
        const auto x = torch::linspace(-1, 1, 4, torch::kFloat64).view({1, 1, 2, 2});
        CHECK(torch::equal(consistency(save_probe(folder, "noisy", "x * 7.0", "form=openai\n"), x),
                           x));
      }
    }
  }
}

TEST_CASE("a TorchScript file's record decides its form unless the options override it") {
  const TemporaryDirectory folder("torchscript_record");
  const auto plain = save_probe(folder, "plain", "x");
  const auto ready = save_probe(folder, "ready", "x * 3.0", "format=1\nform=ready\nlabels=none\n");
  const auto x = torch::ones({1, 1, 2, 2}, torch::kFloat64);
  // A recorded ready file is D itself; an unrecorded one is a raw EDM network.
  CHECK(load_torchscript_denoiser(ready, {})->denoise(x, 0.5).mean().item<double>() == 3.0);
  CHECK(load_torchscript_denoiser(plain, {})->denoise(x, 0.5).mean().item<double>() != 1.0);
  TorchScriptOptions override_form;
  override_form.form = TorchScriptForm::kReady;
  CHECK(load_torchscript_denoiser(plain, override_form)->denoise(x, 0.5).mean().item<double>() ==
        1.0);
  const TorchScriptModule module(ready);
  CHECK(module.metadata().form == TorchScriptForm::kReady);
  CHECK(module.metadata().num_classes == 0);
}

TEST_CASE("recorded classes and shapes are read, and labels checked against them") {
  const TemporaryDirectory folder("torchscript_classes");
  torch::jit::Module module("labelled");
  module.define(
      "def forward(self, x, sigma, labels: Optional[Tensor]):\n"
      "    return x\n");
  const auto path = folder.file("labelled.pt");
  module.save(path, {{"mapinverse.txt",
                      "form=ready\nlabels=one-hot\nnum_classes=10\nshape=1,2,2\nfuture=kept\n"}});
  const TorchScriptModule loaded(path);
  CHECK(loaded.metadata().label_encoding == "one-hot");
  CHECK(loaded.metadata().num_classes == 10);
  CHECK(loaded.metadata().image_shape == std::vector<int64_t>{1, 2, 2});
  const auto x = torch::zeros({2, 1, 2, 2});
  const auto sigma = torch::ones({2});
  CHECK(loaded.forward(x, sigma, torch::tensor({0, 9}, torch::kLong)).equal(x));
  CHECK_THAT(invalid_argument_message([&] {
               loaded.forward(x, sigma, torch::tensor({3, 10}, torch::kLong));
             }),
             Contains("class labels must lie in [0, 10), got labels from 3 to 10"));
  CHECK_THAT(invalid_argument_message([&] {
               loaded.forward(x, sigma, torch::tensor({1.0F, 2.0F}));
             }),
             Contains("expected labels [B] int64"));

  const auto bad = folder.file("bad.pt");
  module.save(bad, {{"mapinverse.txt", "form=edm-ish\n"}});
  CHECK_THAT(invalid_argument_message([&] { TorchScriptModule unreadable(bad); }),
             Contains("form=edm-ish: expected edm, openai or ready"));
  module.save(bad, {{"mapinverse.txt", "num_classes=ten\n"}});
  CHECK_THAT(invalid_argument_message([&] { TorchScriptModule unreadable(bad); }),
             Contains("num_classes=ten: expected a whole number"));
}
