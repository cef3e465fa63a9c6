// Draws images from a trained EDM denoiser with Heun's second-order sampler
// (Karras et al. 2022, Algorithm 1 without churn) and writes them as one PNG grid:
// a quick visual check of a training run.

#include <cmath>
#include <cstdint>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <torch/torch.h>

#include "command_line.hpp"
#include "mapinverse/core/random.hpp"
#include "mapinverse/core/threads.hpp"
#include "mapinverse/core/time_steps.hpp"
#include "mapinverse/io/png.hpp"
#include "mapinverse/models/preconditioning.hpp"
#include "mapinverse/models/unet.hpp"

namespace {

torch::Tensor heun_sample(const mapinverse::Denoiser& denoiser, int64_t count, int64_t steps,
                          torch::Generator& generator) {
  mapinverse::TimeSteps::Options grid;
  grid.num_steps = steps;
  std::vector<double> times = mapinverse::TimeSteps(grid).values();
  times.push_back(0.0);
  auto x = mapinverse::randn({count, 1, 28, 28}, torch::kFloat32, generator) * times.front();
  // dx/dt = (x - D(x, t)) / t, the probability-flow ODE for sigma(t) = t.
  const auto slope = [&](const torch::Tensor& y, double t) {
    return (y - denoiser.denoise(y, t)) / t;
  };
  for (size_t i = 0; i + 1 < times.size(); ++i) {
    const double t = times[i];
    const double next = times[i + 1];
    const auto d = slope(x, t);
    auto euler = x + (next - t) * d;
    x = next > 0.0 ? x + (next - t) * 0.5 * (d + slope(euler, next)) : euler;
  }
  return x;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Draws a PNG grid of samples from a trained EDM denoiser (Heun's sampler)"};
  std::string weights = "runs/edm/denoiser_ema.pt";
  std::string out = "runs/edm/samples.png";
  int64_t count = 64;
  int64_t steps = 18;
  uint64_t seed = 0;
  int64_t threads = 1;
  app.add_option("--weights", weights, "U-Net denoiser weights")->capture_default_str();
  app.add_option("--out", out, "PNG grid to write")->capture_default_str();
  app.add_option("--count", count, "samples")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--steps", steps, "Heun noise levels")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--seed", seed, "seed of the draws")->capture_default_str();
  mapinverse::training::add_threads_option(app, threads);
  CLI11_PARSE(app, argc, argv);
  try {
    mapinverse::set_thread_count(static_cast<int>(threads));
    torch::NoGradGuard no_grad;
    mapinverse::UNet unet(mapinverse::UNetOptions{});
    torch::load(unet, weights);
    unet->eval();
    const mapinverse::EdmDenoiser denoiser(std::make_shared<mapinverse::UNetNetwork>(unet));
    auto generator = mapinverse::make_generator(seed);
    const auto images = heun_sample(denoiser, count, steps, generator);
    const auto columns = static_cast<int64_t>(std::ceil(std::sqrt(static_cast<double>(count))));
    mapinverse::write_png(out, mapinverse::make_grid(mapinverse::to_unit_range(images), columns));
    fmt::print("wrote {} samples to {}\n", count, out);
  } catch (const std::exception& error) {
    std::cerr << "sample_grid: " << error.what() << '\n';
    return 1;
  }
  return 0;
}
