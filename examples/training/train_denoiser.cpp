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

#include "arguments.hpp"
#include "save_atomically.hpp"
#include "mapinverse/core/noise_schedule.hpp"
#include "mapinverse/core/random.hpp"
#include "mapinverse/io/idx.hpp"
#include "mapinverse/models/preconditioning.hpp"
#include "mapinverse/models/unet.hpp"

namespace {

using mapinverse::UNet;
using mapinverse::examples::save_atomically;

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

/// SplitMix64 finaliser: decorrelates the per-step seeds of neighbouring steps.
uint64_t mix(uint64_t value) {
  value += 0x9e3779b97f4a7c15ULL;
  value = (value ^ (value >> 30)) * 0xbf58476d1ce4e5b9ULL;
  value = (value ^ (value >> 27)) * 0x94d049bb133111ebULL;
  return value ^ (value >> 31);
}


void update_ema(UNet& ema, const UNet& model, double decay) {
  torch::NoGradGuard no_grad;
  const auto source = model->named_parameters();
  for (auto& item : ema->named_parameters()) {
    item.value().mul_(decay).add_(source[item.key()], 1.0 - decay);
  }
}

void copy_parameters(UNet& target, const UNet& source) { update_ema(target, source, 0.0); }

struct Checkpoint {
  std::filesystem::path path;

  void save(int64_t step, const Settings& s, const UNet& model, const UNet& ema,
            const torch::optim::Adam& optimizer) const {
    torch::serialize::OutputArchive archive;
    archive.write("step", torch::tensor(step));
    archive.write("seed", torch::tensor(static_cast<int64_t>(s.seed)));
    archive.write("batch", torch::tensor(s.batch));
    for (const auto& [name, module] : {std::pair{"model", model}, std::pair{"ema", ema}}) {
      torch::serialize::OutputArchive part;
      module->save(part);
      archive.write(name, part);
    }
    torch::serialize::OutputArchive part;
    optimizer.save(part);
    archive.write("optimizer", part);
    save_atomically(path, [&](const std::string& file) { archive.save_to(file); });
  }

  /// Returns the step to continue from (0 without a checkpoint).
  int64_t load(const Settings& s, UNet& model, UNet& ema, torch::optim::Adam& optimizer) const {
    if (!std::filesystem::exists(path)) return 0;
    torch::serialize::InputArchive archive;
    archive.load_from(path.string());
    torch::Tensor value;
    for (const auto& [name, expected] :
         {std::pair{"seed", static_cast<int64_t>(s.seed)}, std::pair{"batch", s.batch}}) {
      archive.read(name, value);
      if (value.item<int64_t>() != expected) {
        throw std::runtime_error(fmt::format(
            "{} was written with --{} {}, got {}; use another --out or the same setting",
            path.string(), name, value.item<int64_t>(), expected));
      }
    }
    // Holders are copied: the copies share the modules being loaded into.
    for (auto [name, module] : {std::pair{"model", model}, std::pair{"ema", ema}}) {
      torch::serialize::InputArchive part;
      archive.read(name, part);
      module->load(part);
    }
    torch::serialize::InputArchive part;
    archive.read("optimizer", part);
    optimizer.load(part);
    archive.read("step", value);
    return value.item<int64_t>();
  }
};

void export_weights(const std::filesystem::path& out, const UNet& model, const UNet& ema) {
  for (const auto& [name, module] :
       {std::pair{"denoiser_raw.pt", model}, std::pair{"denoiser_ema.pt", ema}}) {
    save_atomically(out / name, [&](const std::string& file) { torch::save(module, file); });
  }
}

/// One EDM loss evaluation on a batch drawn with the step's own generator.
torch::Tensor edm_loss(const mapinverse::EdmDenoiser& denoiser, const torch::Tensor& images,
                       int64_t batch, torch::Generator& generator) {
  const auto indices = torch::randint(images.size(0), {batch}, generator, torch::kLong);
  auto x = images.index_select(0, indices);
  const auto flip = torch::rand({batch, 1, 1, 1}, generator) < 0.5;
  x = torch::where(flip, x.flip(3), x);
  const auto sigma = (torch::randn({batch}, generator) * kLogSigmaStd + kLogSigmaMean).exp();
  const auto noise = mapinverse::randn_like(x, generator) * sigma.view({-1, 1, 1, 1});
  const auto denoised = denoiser.denoise(x + noise, sigma);
  const double sd = mapinverse::kSigmaData;
  const auto weight = (sigma.square() + sd * sd) / (sigma * sd).square();
  return (weight.view({-1, 1, 1, 1}) * (denoised - x).square()).mean();
}

void train(const Settings& s) {
  torch::set_num_threads(static_cast<int>(s.threads));
  std::filesystem::create_directories(s.out);
  const auto images =
      mapinverse::read_fashion_mnist(s.data, mapinverse::FashionMnistSplit::kTrain).images;

  torch::manual_seed(s.seed);
  UNet model(mapinverse::UNetOptions{});
  UNet ema(mapinverse::UNetOptions{});
  copy_parameters(ema, model);
  torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(s.learning_rate));
  const Checkpoint checkpoint{s.out / "checkpoint.pt"};
  const int64_t start = checkpoint.load(s, model, ema, optimizer);
  const mapinverse::EdmDenoiser denoiser(std::make_shared<mapinverse::UNetNetwork>(model));

  int64_t parameters = 0;
  for (const auto& p : model->parameters()) parameters += p.numel();
  fmt::print("{} training images, {} parameters, {} from step {} to {}\n", images.size(0),
             parameters, start > 0 ? "resuming" : "starting", start, s.steps);
  std::fflush(stdout);

  double loss_sum = 0.0;
  int64_t window = 0;
  auto window_start = std::chrono::steady_clock::now();
  for (int64_t step = start; step < s.steps; ++step) {
    auto generator = mapinverse::make_generator(mix(s.seed ^ mix(static_cast<uint64_t>(step))));
    const double warmup =
        s.warmup > 0 ? std::min(1.0, static_cast<double>(step + 1) / s.warmup) : 1.0;
    static_cast<torch::optim::AdamOptions&>(optimizer.param_groups().front().options())
        .lr(s.learning_rate * warmup);
    optimizer.zero_grad();
    const auto loss = edm_loss(denoiser, images, s.batch, generator);
    loss.backward();
    optimizer.step();
    // Warm-up of the EMA decay (as in Song et al.'s score-SDE code): early averages
    // forget the random initialisation quickly, later ones average over ~1/(1-decay) steps.
    update_ema(
        ema, model,
        std::min(s.ema_decay, static_cast<double>(1 + step) / static_cast<double>(10 + step)));

    loss_sum += loss.item<double>();
    ++window;
    const int64_t done = step + 1;
    if (done % kReportEvery == 0 || done == s.steps) {
      const auto now = std::chrono::steady_clock::now();
      const double seconds = std::chrono::duration<double>(now - window_start).count() / window;
      fmt::print("step {:7d}  loss {:.4f}  {:.3f} s/step  eta {:.1f} h\n", done, loss_sum / window,
                 seconds, seconds * static_cast<double>(s.steps - done) / 3600.0);
      std::fflush(stdout);
      loss_sum = 0.0;
      window = 0;
      window_start = now;
    }
    if (done % s.checkpoint_every == 0 || done == s.steps) {
      checkpoint.save(done, s, model, ema, optimizer);
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
