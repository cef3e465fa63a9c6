// Trains the project's Fashion-MNIST EDM denoiser (Karras et al. 2022, §5 and App. B):
// ln sigma ~ N(P_mean, P_std^2), loss weight (sigma^2 + sd^2)/(sigma sd)^2 on the
// preconditioned output D. Checkpoints resume bit for bit: each step draws its batch,
// flips and noise from a generator seeded by (seed, step), and the checkpoint holds the
// model, its EMA, Adam's moments and the step.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <iostream>
#include <memory>
#include <string>

#include <fmt/format.h>
#include <torch/torch.h>

#include "command_line.hpp"
#include "mapinverse/core/noise_schedule.hpp"
#include "mapinverse/core/random.hpp"
#include "mapinverse/core/threads.hpp"
#include "mapinverse/io/atomic_write.hpp"
#include "mapinverse/io/idx.hpp"
#include "mapinverse/models/preconditioning.hpp"
#include "mapinverse/models/unet.hpp"
#include "training_common.hpp"

namespace {

using mapinverse::UNet;
using mapinverse::training::copy_parameters;
using mapinverse::training::TrainingCheckpoint;
using mapinverse::training::update_ema;

/// EDM's training noise distribution for images: ln sigma ~ N(-1.2, 1.2^2).
inline constexpr double kLogSigmaMean = -1.2;
inline constexpr double kLogSigmaStd = 1.2;
inline constexpr int64_t kReportEvery = 50;

struct Settings {
  std::string data;
  std::string out = "runs/edm";
  int64_t steps = 200000;
  int64_t batch = 64;
  double learning_rate = 1e-3;
  int64_t warmup = 1000;
  uint64_t seed = 1;
  int64_t checkpoint_every = 250;
  double ema_decay = 0.999;
  int64_t threads = 1;

  void add_to(CLI::App& app) {
    mapinverse::training::add_data_option(app, data);
    mapinverse::training::add_run_options(app, out, steps, batch);
    app.add_option("--lr", learning_rate, "Adam's learning rate after the warm-up")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    app.add_option("--warmup", warmup, "steps of linear learning-rate warm-up")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    app.add_option("--seed", seed, "seed of the initialisation and of every step's draws")
        ->capture_default_str();
    app.add_option("--checkpoint-every", checkpoint_every, "steps between checkpoints")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    app.add_option("--ema-decay", ema_decay, "decay of the weights' moving average")
        ->check(mapinverse::training::unit_interval())
        ->capture_default_str();
    mapinverse::training::add_threads_option(app, threads);
  }
};

void export_weights(const std::filesystem::path& out, const UNet& model, const UNet& ema) {
  for (const auto& [name, module] :
       {std::pair{"denoiser_raw.pt", model}, std::pair{"denoiser_ema.pt", ema}}) {
    const auto& weights = module;  // C++17 lambdas cannot capture a structured binding
    mapinverse::write_atomically((out / name).string(),
                                 [&](const std::string& file) { torch::save(weights, file); });
  }
}

/// One EDM loss evaluation on a batch drawn with the step's own generator.
torch::Tensor edm_loss(const mapinverse::EdmDenoiser& denoiser, const torch::Tensor& images,
                       int64_t batch, torch::Generator& generator) {
  const auto x = mapinverse::training::draw_batch(images, batch, generator);
  const auto sigma = (torch::randn({batch}, generator) * kLogSigmaStd + kLogSigmaMean).exp();
  const auto noise = mapinverse::randn_like(x, generator) * sigma.view({-1, 1, 1, 1});
  const auto denoised = denoiser.denoise(x + noise, sigma);
  const double sd = mapinverse::kSigmaData;
  const auto weight = (sigma.square() + sd * sd) / (sigma * sd).square();
  return (weight.view({-1, 1, 1, 1}) * (denoised - x).square()).mean();
}

void train(const Settings& s) {
  mapinverse::set_thread_count(static_cast<int>(s.threads));
  const std::filesystem::path out = s.out;
  std::filesystem::create_directories(out);
  const auto images =
      mapinverse::read_fashion_mnist(s.data, mapinverse::FashionMnistSplit::kTrain).images;

  torch::manual_seed(s.seed);
  UNet model(mapinverse::UNetOptions{});
  UNet ema(mapinverse::UNetOptions{});
  copy_parameters(ema, model);
  torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(s.learning_rate));
  const TrainingCheckpoint checkpoint(out / "checkpoint.pt");
  const TrainingCheckpoint::Settings recorded{{"seed", static_cast<int64_t>(s.seed)},
                                              {"batch", s.batch}};
  const TrainingCheckpoint::Modules modules{{"model", model}, {"ema", ema}};
  const int64_t start = checkpoint.load(recorded, modules, optimizer);
  const mapinverse::EdmDenoiser denoiser(std::make_shared<mapinverse::UNetNetwork>(model));

  fmt::print("{} training images, {} parameters, {} from step {} to {}\n", images.size(0),
             mapinverse::training::parameter_count(model), start > 0 ? "resuming" : "starting",
             start, s.steps);
  std::fflush(stdout);

  mapinverse::training::ProgressReport progress(kReportEvery, s.steps);
  for (int64_t step = start; step < s.steps; ++step) {
    auto generator = mapinverse::training::step_generator(s.seed, step);
    const double warmup =
        s.warmup > 0 ? std::min(1.0, static_cast<double>(step + 1) / s.warmup) : 1.0;
    mapinverse::training::set_learning_rate(optimizer, s.learning_rate * warmup);
    optimizer.zero_grad();
    const auto loss = edm_loss(denoiser, images, s.batch, generator);
    loss.backward();
    optimizer.step();
    // Warm-up of the EMA decay (as in Song et al.'s score-SDE code): early averages
    // forget the random initialisation quickly, later ones average over ~1/(1-decay) steps.
    update_ema(
        ema, model,
        std::min(s.ema_decay, static_cast<double>(1 + step) / static_cast<double>(10 + step)));

    const int64_t done = step + 1;
    progress.add(done, loss.item<double>());
    if (done % s.checkpoint_every == 0 || done == s.steps) {
      checkpoint.save(done, recorded, modules, optimizer);
      export_weights(out, model, ema);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Trains the Fashion-MNIST EDM denoiser; rerun the same command to resume"};
  Settings settings;
  settings.add_to(app);
  CLI11_PARSE(app, argc, argv);
  try {
    train(settings);
  } catch (const std::exception& error) {
    std::cerr << "train_denoiser: " << error.what() << '\n';
    return 1;
  }
  return 0;
}
