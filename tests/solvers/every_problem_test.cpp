// The causes behind solvers that broke outside the paper's noiseless masks, each with a
// test on the shipped networks that failed before its fix:
// - DDRM (eta 0.85, 20 steps) and DiffPIR (zeta 0.3) kept part of the previous step's
//   noise estimate in the unobserved pixels while the observed ones were pinned to y:
//   below biharmonic inpainting on a random 30 % mask (16.4 and 17.0 dB against 19.3);
// - DAPS's absolute Langevin step (5e-5) hardly moved its chain at sigma_y > 0: 11 dB;
// - MAP-GA's prior score at sigma_eps with the step sigma_y^2 + sigma_eps^2 diverged at
//   sigma_y > 0: 9.5 dB;
// - DDRM refused every operator without a uniform singular value (blur, dense matrices).
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include <memory>
#include <string>

#include "mapinverse/baselines/classical.hpp"
#include "mapinverse/core/random.hpp"
#include "mapinverse/io/idx.hpp"
#include "mapinverse/metrics/image_quality.hpp"
#include "mapinverse/models/pretrained.hpp"
#include "mapinverse/operators/dense_matrix.hpp"
#include "mapinverse/operators/gaussian_blur.hpp"
#include "mapinverse/operators/inpainting.hpp"
#include "mapinverse/operators/masks.hpp"
#include "mapinverse/solvers/registry.hpp"

using namespace mapinverse;

namespace {

// Fashion-MNIST test images 9000-9003 (the tuning images, not a reported set).
torch::Tensor tuning_images() {
  static const auto images = read_fashion_mnist(kFashionMnistDirectory, FashionMnistSplit::kTest)
                                 .images.slice(0, 9000, 9004);
  return images;
}

const PriorModels& shipped_models() {
  static const PriorModels models{load_unet_denoiser(shipped_model_path(kDenoiserModelFile)),
                                  load_unet_consistency(shipped_model_path(kConsistencyModelFile))};
  return models;
}

Problem problem_for(std::shared_ptr<const ForwardOperator> op, double sigma_y) {
  const auto truth = tuning_images();
  Problem problem;
  auto generator = make_generator(99);
  auto y = op->apply(truth);
  if (sigma_y > 0) y = y + sigma_y * randn_like(y, generator);
  problem.measurement = y;
  problem.forward_operator = std::move(op);
  problem.sigma_y = sigma_y;
  problem.image_shape = {1, 28, 28};
  problem.seed = 5;
  return problem;
}

double mean_psnr(const torch::Tensor& estimate) {
  return psnr(estimate.clamp(-1.0, 1.0), tuning_images()).mean().item<double>();
}

double solver_psnr(const std::string& solver, const Problem& problem,
                   const SolverSettings& settings = {}) {
  return mean_psnr(make_solver(solver, shipped_models(), settings)->solve(problem).estimate);
}

double baseline_psnr(const Problem& problem) {
  return mean_psnr(classical_restoration(problem).estimate);
}

std::shared_ptr<const ForwardOperator> random_30() {
  return std::make_shared<Inpainting>(random_mask(28, 28, 0.3, 11));
}

}  // namespace

TEST_CASE("DDRM and DiffPIR at their defaults beat biharmonic inpainting on a random mask",
          "[solvers][every-problem]") {
  const auto problem = problem_for(random_30(), 0.0);
  const double baseline = baseline_psnr(problem);
  for (const auto* solver : {"ddrm", "diffpir"}) {
    INFO(solver << " against biharmonic inpainting's " << baseline << " dB");
    CHECK(solver_psnr(solver, problem) > baseline + 2.0);
  }
}

TEST_CASE("DAPS at its defaults holds up at sigma_y = 0.1", "[solvers][every-problem]") {
  const auto problem = problem_for(random_30(), 0.1);
  const double baseline = baseline_psnr(problem);
  const double pgdm = solver_psnr("pgdm", problem);
  const double daps = solver_psnr("daps", problem);
  INFO("DAPS " << daps << " dB, PGDM " << pgdm << ", biharmonic " << baseline);
  CHECK(daps > baseline);
  CHECK(daps > pgdm - 3.0);
}

TEST_CASE("MAP-GA with the prior term converges at sigma_y > 0", "[solvers][every-problem]") {
  const auto problem =
      problem_for(std::make_shared<Inpainting>(paper_mask(PaperMask::kBox50, 28, 28)), 0.05);
  SolverSettings settings;
  settings.time_steps = 10;
  settings.iterations = 5;
  const double baseline = baseline_psnr(problem);
  for (const auto* solver : {"map-ga", "map-ga-d"}) {
    const double value = solver_psnr(solver, problem, settings);
    INFO(solver << ": " << value << " dB, biharmonic " << baseline);
    CHECK(value > baseline);
  }
}

TEST_CASE("DDRM runs on a Gaussian blur through its Fourier decomposition",
          "[solvers][every-problem]") {
  GaussianBlur::Options options;
  options.sigma_pixels = 1.0;
  const auto problem = problem_for(std::make_shared<GaussianBlur>(options), 0.05);
  const double wiener = baseline_psnr(problem);
  const double ddrm = solver_psnr("ddrm", problem);
  INFO("DDRM " << ddrm << " dB, Wiener " << wiener);
  CHECK(ddrm > wiener);
}

TEST_CASE("DDRM runs on a dense matrix through its computed SVD", "[solvers][every-problem]") {
  // A random 392 x 784 compressed-sensing matrix, rows of unit norm on average.
  auto generator = make_generator(3);
  const auto matrix = randn({392, 784}, torch::TensorOptions(), generator) / std::sqrt(784.0);
  DenseMatrix::Options options;
  options.input_shape = {1, 28, 28};
  const auto problem = problem_for(std::make_shared<DenseMatrix>(matrix, options), 0.05);
  const double tikhonov = baseline_psnr(problem);
  const double ddrm = solver_psnr("ddrm", problem);
  INFO("DDRM " << ddrm << " dB, Tikhonov " << tikhonov);
  CHECK(ddrm > tikhonov);
}

TEST_CASE("The map-ga-tuned preset scores at least its first stage alone (PGDM, 25 steps)",
          "[solvers][every-problem]") {
  // Test images 200-203: outside the preset's tuning images (9000-9031). Measured: 23.63
  // against 23.28 dB noiseless (box50), 21.83 against 19.60 at sigma_y = 0.05 (half).
  // The hand-off (the second stage starts from the first's estimate) is checked in
  // warm_start_test.cpp: here a second stage started from zeros also passes this test,
  // since at its start time t = 5 the noise (sigma 5) outweighs the start image.
  const auto truth = read_fashion_mnist(kFashionMnistDirectory, FashionMnistSplit::kTest)
                         .images.slice(0, 200, 204);
  SolverSettings pgdm_settings;
  pgdm_settings.steps = 25;
  const auto pgdm = make_solver("pgdm", shipped_models(), pgdm_settings);
  const auto preset = make_solver("map-ga-tuned", shipped_models());
  for (const auto& [mask, sigma_y] :
       {std::pair{PaperMask::kBox50, 0.0}, std::pair{PaperMask::kHalf, 0.05}}) {
    const auto op = std::make_shared<Inpainting>(paper_mask(mask, 28, 28));
    Problem problem;
    auto generator = make_generator(98);
    problem.measurement = op->apply(truth) + sigma_y * randn_like(truth, generator);
    problem.forward_operator = op;
    problem.sigma_y = sigma_y;
    problem.image_shape = {1, 28, 28};
    problem.seed = 6;
    const auto score = [&](const Solver& solver) {
      return psnr(solver.solve(problem).estimate.clamp(-1.0, 1.0), truth).mean().item<double>();
    };
    const double pgdm_psnr = score(*pgdm);
    const double preset_psnr = score(*preset);
    INFO("sigma_y " << sigma_y << ": preset " << preset_psnr << " dB, PGDM-25 " << pgdm_psnr);
    CHECK(preset_psnr >= pgdm_psnr);
  }
}
