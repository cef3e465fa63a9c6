// Restores the first Fashion-MNIST test image with its right half missing, with MAP-GA
// on the shipped networks, and prints the PSNR before and after.
//
//   example_restore_fashion_mnist [folder with Fashion-MNIST's IDX files]

#include <iostream>
#include <memory>

#include <mapinverse/mapinverse.hpp>

int main(int argc, char** argv) try {
  using namespace mapinverse;
  const std::string folder = argc > 1 ? argv[1] : kFashionMnistDirectory;
  const auto test_set = read_fashion_mnist(folder, FashionMnistSplit::kTest);
  const auto image = test_set.images.slice(0, 0, 1);  // [1,1,28,28] in [-1,1]

  Problem problem;
  problem.forward_operator = std::make_shared<Inpainting>(paper_mask(PaperMask::kHalf, 28, 28));
  problem.measurement = problem.forward_operator->apply(image);
  problem.image_shape = {1, 28, 28};
  problem.seed = 7;

  PriorModels models;
  models.denoiser = load_unet_denoiser(shipped_model_path(kDenoiserModelFile));
  models.consistency = load_unet_consistency(shipped_model_path(kConsistencyModelFile));
  MapGa::Options options;  // the paper's 20 time steps x 50 ascent iterations, cut short here
  options.num_time_steps = 10;
  options.num_iter = 5;
  const MapGa solver(models, options);
  const auto summary = solver.solve(problem);

  std::cout << summary.brief_report() << "\n"
            << "PSNR of the masked image: " << psnr(problem.measurement, image).item<double>()
            << " dB\n"
            << "PSNR of MAP-GA's estimate: " << psnr(summary.estimate, image).item<double>()
            << " dB\n";
  return 0;
} catch (const std::exception& error) {
  std::cerr << "error: " << error.what() << "\n";
  return 1;
}
