// mapinverse sample: a grid of unconditional samples from a prior.

#include "sample.hpp"

#include <cmath>

#include <fmt/format.h>

#include "limits.hpp"
#include "mapinverse/mapinverse.hpp"

namespace mapinverse::cli {

void SampleArguments::add_to(CLI::App& app) {
  app.add_option("--count", count, "number of samples")
      ->check(CLI::Range(int64_t{1}, kMaxBatch))
      ->capture_default_str();
  app.add_option("--sampler", sampler,
                 "heun: EDM's Heun sampler on the denoiser; consistency: the consistency model "
                 "at --times; exact: direct draws (only --prior mixture)")
      ->check(CLI::IsMember({"heun", "consistency", "exact"}))
      ->capture_default_str();
  app.add_option("--steps", steps,
                 fmt::format("Heun sampler noise levels (2 steps - 1 NFE; at most {})", kMaxSteps))
      ->check(CLI::Range(int64_t{1}, kMaxSteps))
      ->capture_default_str();
  app.add_option(
         "--times", times,
         fmt::format("consistency sampler times, decreasing (e.g. 80 0.8; at most {})", kMaxTimes))
      ->capture_default_str();
  app.add_option("--seed", seed, "seed")->check(unsigned_integer())->capture_default_str();
  app.add_option("-o,--output", output, "PNG grid to write")->required();
  prior.add_to(app);
}

int run_sample(const SampleArguments& arguments) {
  require(arguments.times.size() <= kMaxTimes, "--times: {} times given; the limit is {}",
          arguments.times.size(), kMaxTimes);
  for (size_t i = 0; i < arguments.times.size(); ++i) {
    const double time = arguments.times[i];
    require(std::isfinite(time) && time > 0.0 && (i == 0 || time < arguments.times[i - 1]),
            "--times: time {} is {}; expected finite, positive and decreasing times", i + 1, time);
  }
  check_output_path(
      "--output", arguments.output,
      {arguments.prior.denoiser, arguments.prior.consistency, arguments.prior.mixture});
  const auto prior = load_prior(arguments.prior);
  require(!prior.image_shape.empty(),
          "sample: the image shape of a TorchScript prior is unknown; restore with it "
          "instead, or sample from --prior unet or mixture");
  SampleRequest request;
  request.count = arguments.count;
  request.image_shape = prior.image_shape;
  request.options = torch::TensorOptions().dtype(torch::kFloat32).device(prior.device);
  request.seed = arguments.seed;
  torch::Tensor images;
  int64_t calls = 0;
  if (arguments.sampler == "exact") {
    require(prior.mixture != nullptr, "--sampler exact: needs --prior mixture");
    auto generator = make_generator(arguments.seed);
    images = prior.mixture->sample(arguments.count, generator);
  } else if (arguments.sampler == "consistency") {
    ConsistencySampler::Options options;
    options.times = arguments.times;
    const ConsistencySampler sampler(prior.models.consistency, options);
    images = sampler.sample(request);
    calls = sampler.network_calls();
  } else {
    EdmHeunSampler::Options options;
    options.num_steps = arguments.steps;
    const EdmHeunSampler sampler(prior.models.denoiser, options);
    images = sampler.sample(request);
    calls = sampler.network_calls();
  }
  const auto columns =
      static_cast<int64_t>(std::ceil(std::sqrt(static_cast<double>(arguments.count))));
  write_png(arguments.output, make_grid(to_unit_range(images.cpu().to(torch::kFloat32)), columns));
  fmt::print("{} samples ({} network calls each) from {}\nwrote {}\n", arguments.count, calls,
             prior.description, arguments.output);
  return 0;
}

}  // namespace mapinverse::cli
