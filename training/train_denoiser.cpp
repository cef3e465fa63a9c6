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

#include "mapinverse/core/threads.hpp"
#include "arguments.hpp"
#include "save_atomically.hpp"
#include "training_common.hpp"
#include "mapinverse/core/noise_schedule.hpp"
#include "mapinverse/core/random.hpp"
#include "mapinverse/io/idx.hpp"
#include "mapinverse/models/preconditioning.hpp"
#include "mapinverse/models/unet.hpp"

namespace {

using mapinverse::UNet;
using mapinverse::examples::copy_parameters;
using mapinverse::examples::save_atomically;
using mapinverse::examples::TrainingCheckpoint;
using mapinverse::examples::update_ema;

/// EDM's training noise distribution for images: ln sigma ~ N(-1.2, 1.2^2).
inline constexpr double kLogSigmaMean = -1.2;
inline constexpr double kLogSigmaStd = 1.2;
inline constexpr int64_t kReportEvery = 50;

struct Settings {
  std::string data;
  std::filesystem::path out;
  int64_t steps = 0;
  int64_t batch = 0;
  double learning_rate = 0.0;
  int64_t warmup = 0;
  uint64_t seed = 0;
  int64_t checkpoint_every = 0;
  double ema_decay = 0.0;
  int64_t threads = 0;
};

// --threads defaults to 1: on a 2-core machine shared with other work, two OpenMP
// threads wait on each other at every barrier and a step took 10x longer (measured).
Settings parse_settings(int argc, char** argv) {
  const mapinverse::examples::Arguments args(argc, argv,
                                             {{"data", mapinverse::kFashionMnistDirectory},
                                              {"out", "runs/edm"},
                                              {"steps", "200000"},
                                              {"batch", "64"},
                                              {"lr", "1e-3"},
                                              {"warmup", "1000"},
                                              {"seed", "1"},
                                              {"checkpoint-every", "250"},
                                              {"ema-decay", "0.999"},
                                              {"threads", "1"}});
  Settings s;
  s.data = args.text("data");
  s.out = args.text("out");
  s.steps = args.integer("steps");
  s.batch = args.integer("batch");
  s.learning_rate = args.real("lr");
  s.warmup = args.integer("warmup");
  s.seed = static_cast<uint64_t>(args.integer("seed"));
  s.checkpoint_every = args.integer("checkpoint-every");
  s.ema_decay = args.real("ema-decay");
  s.threads = args.integer("threads");
  if (s.steps < 1 || s.batch < 1 || s.warmup < 0 || s.checkpoint_every < 1 || s.threads < 1 ||
      !(s.learning_rate > 0.0) || !(s.ema_decay >= 0.0 && s.ema_decay < 1.0)) {
    throw std::invalid_argument(
        "expected --steps, --batch, --checkpoint-every, --threads >= 1, --warmup >= 0, "
        "--lr > 0 and 0 <= --ema-decay < 1");
  }
  return s;
}

void export_weights(const std::filesystem::path& out, const UNet& model, const UNet& ema) {
  for (const auto& [name, module] :
       {std::pair{"denoiser_raw.pt", model}, std::pair{"denoiser_ema.pt", ema}}) {
    save_atomically(out / name, [&](const std::string& file) { torch::save(module, file); });
  }
}

/// One EDM loss evaluation on a batch drawn with the step's own generator.
torch::Tensor edm_loss(const mapinverse::EdmDenoiser& denoiser, const torch::Tensor& images,
                       int64_t batch, torch::Generator& generator) {
  const auto x = mapinverse::examples::draw_batch(images, batch, generator);
  const auto sigma = (torch::randn({batch}, generator) * kLogSigmaStd + kLogSigmaMean).exp();
  const auto noise = mapinverse::randn_like(x, generator) * sigma.view({-1, 1, 1, 1});
  const auto denoised = denoiser.denoise(x + noise, sigma);
  const double sd = mapinverse::kSigmaData;
  const auto weight = (sigma.square() + sd * sd) / (sigma * sd).square();
  return (weight.view({-1, 1, 1, 1}) * (denoised - x).square()).mean();
}

void train(const Settings& s) {
  mapinverse::set_thread_count(static_cast<int>(s.threads));
  std::filesystem::create_directories(s.out);
  const auto images =
      mapinverse::read_fashion_mnist(s.data, mapinverse::FashionMnistSplit::kTrain).images;

  torch::manual_seed(s.seed);
  UNet model(mapinverse::UNetOptions{});
  UNet ema(mapinverse::UNetOptions{});
  copy_parameters(ema, model);
  torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(s.learning_rate));
  const TrainingCheckpoint checkpoint(s.out / "checkpoint.pt");
  const TrainingCheckpoint::Settings recorded{{"seed", static_cast<int64_t>(s.seed)},
                                              {"batch", s.batch}};
  const TrainingCheckpoint::Modules modules{{"model", model}, {"ema", ema}};
  const int64_t start = checkpoint.load(recorded, modules, optimizer);
  const mapinverse::EdmDenoiser denoiser(std::make_shared<mapinverse::UNetNetwork>(model));

  fmt::print("{} training images, {} parameters, {} from step {} to {}\n", images.size(0),
             mapinverse::examples::parameter_count(model), start > 0 ? "resuming" : "starting", start, s.steps);
  std::fflush(stdout);

  mapinverse::examples::ProgressReport progress(kReportEvery, s.steps);
  for (int64_t step = start; step < s.steps; ++step) {
    auto generator = mapinverse::examples::step_generator(s.seed, step);
    const double warmup =
        s.warmup > 0 ? std::min(1.0, static_cast<double>(step + 1) / s.warmup) : 1.0;
    mapinverse::examples::set_learning_rate(optimizer, s.learning_rate * warmup);
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
      export_weights(s.out, model, ema);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  try {
    train(parse_settings(argc, argv));
  } catch (const std::exception& error) {
    std::cerr << "train_denoiser: " << error.what() << '\n';
    return 1;
  }
  return 0;
}
