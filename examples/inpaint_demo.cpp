// Restores Fashion-MNIST test images under each of the paper's six masks (§5) with
// MAP-GA(D) and PGDM over a Gaussian-mixture prior fitted to the training set, prints
// PSNR/SSIM per mask and solver, and writes a figure grid (rows: masks; columns:
// original, masked, MAP-GA(D), PGDM).
//
//   inpaint_demo [--images 4] [--out out] [--prior models/fmnist_gmm.pt] [--threads 1]

#include <chrono>
#include <filesystem>
#include <iostream>
#include <memory>
#include <vector>

#include <fmt/format.h>

#include "mapinverse/mapinverse.hpp"
#include "training/arguments.hpp"

using namespace mapinverse;

namespace {

std::shared_ptr<const GaussianMixturePrior> load_or_fit_prior(const std::string& path,
                                                              const std::string& data) {
  if (std::filesystem::exists(path)) {
    fmt::print("prior: Gaussian mixture from {}\n", path);
    return GaussianMixturePrior::load(path);
  }
  fmt::print("prior: fitting a Gaussian mixture to the Fashion-MNIST training set ({} absent)\n",
             path);
  const auto train = read_fashion_mnist(data, FashionMnistSplit::kTrain);
  FitOptions options;
  options.num_components = 20;
  options.rank = 24;
  return fit_gaussian_mixture(train.images, options);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const examples::Arguments args(argc, argv,
                                   {{"images", "4"},
                                    {"out", "out"},
                                    {"prior", "models/fmnist_gmm.pt"},
                                    {"data", kFashionMnistDirectory},
                                    {"threads", "1"}});
    torch::set_num_threads(static_cast<int>(args.integer("threads")));
    const int64_t count = args.integer("images");
    mapinverse::detail::require(count >= 1 && count <= 64, "--images = {}: expected 1 to 64", count);
    const auto start = std::chrono::steady_clock::now();

    const auto prior = load_or_fit_prior(args.text("prior"), args.text("data"));
    const auto test = read_fashion_mnist(args.text("data"), FashionMnistSplit::kTest);
    const auto originals = test.images.narrow(0, 0, count);

    MapGa::Options map_ga_options;
    map_ga_options.num_time_steps = 20;
    map_ga_options.num_iter = 10;
    map_ga_options.consistency_source = ConsistencySource::kDenoiser;
    const PriorModels models{prior, nullptr};
    const std::vector<std::shared_ptr<const Solver>> solvers = {
        std::make_shared<MapGa>(models, map_ga_options), std::make_shared<Pgdm>(models)};

    fmt::print("\n| mask | solver | PSNR (dB) | SSIM | NFE | seconds |\n|---|---|---|---|---|---|\n");
    std::vector<torch::Tensor> rows;
    for (const auto mask_kind : all_paper_masks()) {
      Problem problem;
      const auto mask = paper_mask(mask_kind, 28, 28);
      problem.forward_operator = std::make_shared<Inpainting>(mask);
      problem.measurement = problem.forward_operator->apply(originals);
      problem.image_shape = {1, 28, 28};
      problem.seed = 1;
      // The masked image shows missing pixels in mid grey.
      std::vector<torch::Tensor> row{originals[0],
                                     problem.measurement[0] + (1 - mask[0]) * -0.4};
      for (const auto& solver : solvers) {
        const auto summary = solver->solve(problem);
        fmt::print("| {} | {} | {:.2f} | {:.3f} | {} | {:.1f} |\n", to_string(mask_kind),
                   solver->name(), psnr(summary.estimate, originals).mean().item<double>(),
                   ssim(summary.estimate, originals).mean().item<double>(),
                   summary.network_evaluations(), summary.total_time_in_seconds);
        row.push_back(summary.estimate[0].clamp(-1, 1));
      }
      rows.push_back(torch::stack(row));
    }

    std::filesystem::create_directories(args.text("out"));
    const auto grid_path = (std::filesystem::path(args.text("out")) / "inpaint_grid.png").string();
    const auto tiles = torch::cat(rows);
    write_png(grid_path, make_grid(to_unit_range(tiles), tiles.size(0) / rows.size()));
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    fmt::print("\nfigure: {} (rows: masks; columns: original, masked, MAP-GA(D), PGDM)\n"
               "total: {:.1f} s\n",
               grid_path, seconds);
    return 0;
  } catch (const std::exception& error) {
    std::cerr << "inpaint_demo: " << error.what() << "\n";
    return 1;
  }
}
