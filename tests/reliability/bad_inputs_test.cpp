// torch before Catch: glog, pulled in by torch, defines its own CHECK.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "mapinverse/mapinverse.hpp"
#include "support/bad_files.hpp"
#include "support/gaussian_prior.hpp"
#include "support/temporary_directory.hpp"

// The library's side of the bad-input corpus: every entry must end in an exception
// whose message names the problem, and none may leave a file behind. The command-line
// tool's side is tests/apps/bad_inputs.cmake.

using namespace mapinverse;
using mapinverse::testing::TemporaryDirectory;
using namespace mapinverse::testing::bad_files;

namespace {

struct BadInput {
  std::string name;
  std::function<void()> action;
  /// A piece of the message that names the problem.
  std::string expected;
};

/// The message of whatever `action` throws, or a note that it threw nothing.
std::string error_message(const std::function<void()>& action) {
  try {
    action();
  } catch (const std::exception& error) {
    return error.what();
  }
  return "<nothing thrown>";
}

Problem inpainting_problem(const torch::Tensor& y, double sigma_y = 0.0) {
  Problem problem;
  problem.forward_operator = std::make_shared<Inpainting>(paper_mask(PaperMask::kHalf, 28, 28));
  problem.measurement = y;
  problem.image_shape = {1, 28, 28};
  problem.sigma_y = sigma_y;
  return problem;
}

PriorModels gaussian_models() {
  auto denoiser = std::make_shared<mapinverse::testing::IsotropicGaussianDenoiser>(
      torch::zeros({1, 1, 28, 28}, torch::kFloat64), 0.5);
  return {denoiser, std::make_shared<DenoiserAsConsistency>(denoiser)};
}

std::vector<BadInput> library_corpus(const TemporaryDirectory& folder) {
  const auto good_y = torch::zeros({2, 1, 28, 28}, torch::kFloat64);
  const auto models = gaussian_models();
  const auto nan_y = [good_y] {
    auto y = good_y.clone();
    y[0][0][3][3] = std::numeric_limits<double>::quiet_NaN();
    return y;
  };
  const auto shipped_denoiser = shipped_model_path(kDenoiserModelFile).string();
  const auto truncated = folder.file("truncated.pt");
  auto bytes = bytes_of(shipped_denoiser);
  bytes.resize(bytes.size() / 2);
  write_bytes(truncated, bytes);
  const auto empty = folder.file("empty.pt");
  write_bytes(empty, {});
  const auto garbage = folder.file("garbage.pt");
  write_bytes(garbage, std::vector<char>(4096, '\x5a'));
  const auto text_png = folder.file("text.png");
  write_bytes(text_png, {'h', 'e', 'l', 'l', 'o'});
  const auto sixteen_bit = folder.file("sixteen.png");
  write_png_header(sixteen_bit, 28, 28, 16);
  const auto huge = folder.file("huge.png");
  write_png_header(huge, 100000, 100000, 8);
  const auto grey_mask = folder.file("grey_mask.png");
  write_grey_png(grey_mask, 28, 28, [](int, int c) { return c < 14 ? 255 : 128; });
  const auto truncated_png = folder.file("truncated.png");
  auto png_bytes = bytes_of(grey_mask);
  png_bytes.resize(png_bytes.size() / 2);
  write_bytes(truncated_png, png_bytes);
  const auto wrong_signature = folder.file("wrong_signature.pt");
  const auto identity = folder.file("identity.pt");
  for (const auto& [path, source] :
       {std::pair{wrong_signature, "def forward(self, x):\n    return x\n"},
        std::pair{identity, "def forward(self, x, sigma):\n    return x\n"}}) {
    torch::jit::Module module("module");
    module.define(source);
    module.save(path);
  }

  // The entries run after this function returns: they capture copies, never references.
  const auto missing_model = folder.file("missing.pt");
  const auto missing_data = folder.file("no_data");
  const auto folder_path = folder.path().string();
  return {
      {"mask of rank 3",
       [] {
         Inpainting(torch::ones({1, 28, 28}));
       },
       "expected mask of shape"},
      {"non-binary mask",
       [] {
         Inpainting(torch::full({28, 28}, 0.5));
       },
       "expected a binary mask"},
      {"all-zero mask",
       [] {
         Inpainting(torch::zeros({28, 28}));
       },
       "observes no pixel"},
      {"empty mask",
       [] {
         Inpainting(torch::zeros({0, 0}));
       },
       "non-empty mask"},
      {"image and mask of different sizes",
       [] {
         Inpainting(torch::ones({28, 28})).apply(torch::zeros({1, 1, 32, 32}));
       },
       "28"},
      {"measurement of the wrong shape",
       [=] {
         inpainting_problem(torch::zeros({2, 1, 14, 14}, torch::kFloat64)).validate();
       },
       "but the measurement has shape"},
      {"integer measurement",
       [=] {
         inpainting_problem(torch::zeros({2, 1, 28, 28}, torch::kInt64)).validate();
       },
       "floating"},
      {"NaN in y", [=] { inpainting_problem(nan_y()).validate(); }, "NaN"},
      {"Inf in y",
       [=] {
         auto y = good_y.clone();
         y[1][0][0][0] = std::numeric_limits<double>::infinity();
         inpainting_problem(y).validate();
       },
       "measurement"},
      {"negative sigma_y", [=] { inpainting_problem(good_y, -0.1).validate(); }, "sigma_y"},
      {"NaN sigma_y", [=] { inpainting_problem(good_y, std::nan("")).validate(); }, "sigma_y"},
      {"zero MAP-GA time steps",
       [=] {
         MapGa::Options options;
         options.num_time_steps = 0;
         MapGa(models, options);
       },
       "num_time_steps"},
      {"negative MAP-GA iterations",
       [=] {
         MapGa::Options options;
         options.num_iter = -3;
         MapGa(models, options);
       },
       "num_iter"},
      {"NaN learning rate",
       [=] {
         MapGa::Options options;
         options.learning_rate = std::nan("");
         MapGa(models, options);
       },
       "learning_rate"},
      {"infinite learning rate",
       [=] {
         MapGa::Options options;
         options.learning_rate = std::numeric_limits<double>::infinity();
         MapGa(models, options);
       },
       "learning_rate"},
      {"zero PGDM steps",
       [=] {
         Pgdm::Options options;
         options.schedule.num_steps = 0;
         Pgdm(models, options);
       },
       "num_steps"},
      {"negative DPS zeta",
       [=] {
         Dps::Options options;
         options.zeta = -1.0;
         Dps(models, options);
       },
       "zeta"},
      {"MAP-GA-PGDM on a noiseless problem",
       [=] { MapGaPgdm(models).solve(inpainting_problem(good_y, 0.0)); }, "sigma_y"},
      {"solver without a denoiser", [] { Pgdm(PriorModels{}); }, "denoiser"},
      {"zero time-grid points",
       [] {
         TimeSteps::Options options;
         options.num_steps = 0;
         TimeSteps steps(options);
       },
       "num_steps"},
      {"missing model file", [=] { load_unet_denoiser(missing_model); }, "no such file"},
      {"empty model file", [=] { load_unet_denoiser(empty); }, "cannot be read as"},
      {"truncated model file", [=] { load_unet_denoiser(truncated); }, "cannot be read as"},
      {"corrupt model file", [=] { load_unet_consistency(garbage); }, "cannot be read as"},
      {"classifier weights as a U-Net",
       [=] { load_unet_denoiser(shipped_model_path(kClassifierModelFile)); }, "cannot be read as"},
      {"U-Net weights as a Gaussian mixture", [=] { GaussianMixturePrior::load(shipped_denoiser); },
       "not a GaussianMixturePrior"},
      {"TorchScript model with the wrong signature",
       [=] { load_torchscript_denoiser(wrong_signature, TorchScriptOptions{}); },
       "expected forward(x: Tensor, sigma: Tensor"},
      {"TorchScript model called with an input on another device",
       [=] {
         TorchScriptOptions ready;
         ready.form = TorchScriptForm::kReady;
         const auto denoiser = load_torchscript_denoiser(identity, ready);
         denoiser->denoise(torch::zeros({1, 1, 4, 4}, torch::TensorOptions().device(torch::kMeta)),
                           0.5);
       },
       "called with x on meta"},
      {"non-PNG image", [=] { read_png(text_png); }, "is not a PNG file"},
      {"16-bit PNG", [=] { read_png(sixteen_bit); }, "16-bit"},
      {"huge PNG", [=] { read_png(huge); }, "exceeds the limit"},
      {"truncated PNG", [=] { read_png(truncated_png); }, "truncated.png"},
      {"non-binary mask file", [=] { read_mask_png(grey_mask); }, "expected a binary mask"},
      {"random mask with probability 0", [] { random_mask(28, 28, 0.0, 1); }, "keep_probability"},
      {"random mask with probability 1.5", [] { random_mask(28, 28, 1.5, 1); }, "keep_probability"},
      {"unknown paper mask", [] { parse_paper_mask("box51"); }, "box51"},
      {"missing Fashion-MNIST folder",
       [=] { read_fashion_mnist(missing_data, FashionMnistSplit::kTest); },
       "dataset-fashion-mnist"},
      {"unwritable output path",
       [=] {
         write_png("/proc/mapinverse_no_such_dir/out.png", torch::zeros({1, 4, 4}));
       },
       "cannot write"},
      {"output path that is a folder",
       [=] {
         write_png(folder_path, torch::zeros({1, 4, 4}));
       },
       "cannot write"},
      {"PSNR of images of different shapes",
       [] {
         psnr(torch::zeros({1, 1, 28, 28}), torch::zeros({1, 1, 14, 14}));
       },
       "psnr"},
  };
}

}  // namespace

TEST_CASE("the library refuses every entry of the bad-input corpus with a message naming it") {
  const TemporaryDirectory folder("bad_inputs");
  const auto corpus = library_corpus(folder);
  CHECK(corpus.size() >= 30);
  std::vector<std::filesystem::path> before;
  for (const auto& entry : std::filesystem::directory_iterator(folder.path())) {
    before.push_back(entry.path());
  }
  for (const auto& bad : corpus) {
    CAPTURE(bad.name);
    const auto message = error_message(bad.action);
    CHECK_THAT(message, Catch::Matchers::Contains(bad.expected));
  }
  // Nothing was written by any of them (the fixture files above are all there was).
  std::vector<std::filesystem::path> after;
  for (const auto& entry : std::filesystem::directory_iterator(folder.path())) {
    after.push_back(entry.path());
  }
  CHECK(after.size() == before.size());
}
