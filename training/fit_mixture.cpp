// Fits the project's Gaussian-mixture prior to the Fashion-MNIST training images
// (k-means++ then per-component PCA covariances, fit_gaussian_mixture) and writes it.
// The mixture is the prior whose posterior is known exactly: the reference against
// which the solvers are checked, and a cheap prior for quick runs.

#include <chrono>
#include <cstdint>
#include <iostream>
#include <string>

#include <fmt/format.h>
#include <torch/torch.h>

#include "command_line.hpp"
#include "mapinverse/core/threads.hpp"
#include "mapinverse/io/idx.hpp"
#include "mapinverse/models/gaussian_mixture_fit.hpp"

int main(int argc, char** argv) {
  CLI::App app{"Fits the Gaussian-mixture prior to the Fashion-MNIST training images"};
  std::string data;
  std::string out = "models/fmnist_gmm.pt";
  mapinverse::FitOptions options;
  options.num_components = 20;
  options.rank = 24;
  options.seed = 0;
  int64_t threads = 1;
  mapinverse::training::add_data_option(app, data);
  app.add_option("--out", out, "mixture file to write")->capture_default_str();
  app.add_option("--components", options.num_components, "mixture components")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--rank", options.rank, "principal directions kept per component")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--seed", options.seed, "seed of the k-means++ start")->capture_default_str();
  mapinverse::training::add_threads_option(app, threads);
  CLI11_PARSE(app, argc, argv);
  try {
    mapinverse::set_thread_count(static_cast<int>(threads));
    const auto start = std::chrono::steady_clock::now();
    const auto train = mapinverse::read_fashion_mnist(data, mapinverse::FashionMnistSplit::kTrain);
    const auto prior = mapinverse::fit_gaussian_mixture(train.images, options);
    prior->save(out);
    const auto test = mapinverse::read_fashion_mnist(data, mapinverse::FashionMnistSplit::kTest);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    // Held-out fit: the first 10,000 training images against the 10,000 test images.
    const auto per_pixel = [&](const torch::Tensor& images) {
      const auto x = images.slice(0, 0, 10000).to(torch::kFloat64);
      return prior->log_density(x).mean().item<double>() / static_cast<double>(x[0].numel());
    };
    fmt::print(
        "wrote {} ({} components, rank {}) in {:.1f} s; mean log-density per pixel: "
        "train {:.4f}, test {:.4f}\n",
        out, options.num_components, options.rank, seconds, per_pixel(train.images),
        per_pixel(test.images));
  } catch (const std::exception& error) {
    std::cerr << "fit_mixture: " << error.what() << '\n';
    return 1;
  }
  return 0;
}
