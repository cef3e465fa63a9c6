// Fits the project's Gaussian-mixture prior to the Fashion-MNIST training images
// (k-means++ then per-component PCA covariances, fit_gaussian_mixture) and writes it.
// The mixture is the prior whose posterior is known exactly: the reference against
// which the solvers are checked, and a cheap prior for quick runs.

#include <chrono>
#include <iostream>

#include <fmt/format.h>
#include <torch/torch.h>

#include "mapinverse/core/threads.hpp"
#include "arguments.hpp"
#include "mapinverse/io/idx.hpp"
#include "mapinverse/models/gaussian_mixture_fit.hpp"

int main(int argc, char** argv) {
  try {
    const mapinverse::examples::Arguments args(argc, argv,
                                               {{"data", mapinverse::kFashionMnistDirectory},
                                                {"out", "models/fmnist_gmm.pt"},
                                                {"components", "20"},
                                                {"rank", "24"},
                                                {"seed", "0"},
                                                {"threads", "1"}});
    mapinverse::set_thread_count(static_cast<int>(args.integer("threads")));
    const auto start = std::chrono::steady_clock::now();
    const auto train = mapinverse::read_fashion_mnist(args.text("data"),
                                                      mapinverse::FashionMnistSplit::kTrain);
    mapinverse::FitOptions options;
    options.num_components = args.integer("components");
    options.rank = args.integer("rank");
    options.seed = static_cast<uint64_t>(args.integer("seed"));
    const auto prior = mapinverse::fit_gaussian_mixture(train.images, options);
    prior->save(args.text("out"));
    const auto test = mapinverse::read_fashion_mnist(args.text("data"),
                                                     mapinverse::FashionMnistSplit::kTest);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    // Held-out fit: the first 10,000 training images against the 10,000 test images.
    const auto per_pixel = [&](const torch::Tensor& images) {
      const auto x = images.slice(0, 0, 10000).to(torch::kFloat64);
      return prior->log_density(x).mean().item<double>() / static_cast<double>(x[0].numel());
    };
    fmt::print("wrote {} ({} components, rank {}) in {:.1f} s; mean log-density per pixel: "
               "train {:.4f}, test {:.4f}\n",
               args.text("out"), options.num_components, options.rank, seconds,
               per_pixel(train.images), per_pixel(test.images));
  } catch (const std::exception& error) {
    std::cerr << "fit_mixture: " << error.what() << '\n';
    return 1;
  }
  return 0;
}
