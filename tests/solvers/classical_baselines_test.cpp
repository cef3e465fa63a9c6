// The non-learned restorations the problem matrix judges solvers against.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include <memory>

#include "mapinverse/baselines/classical.hpp"
#include "mapinverse/core/random.hpp"
#include "mapinverse/operators/average_pool.hpp"
#include "mapinverse/operators/masks.hpp"

using namespace mapinverse;

TEST_CASE("Biharmonic inpainting keeps y, fills constants exactly and solves its equations",
          "[baselines]") {
  const auto options = torch::TensorOptions().dtype(torch::kFloat64);
  const auto mask = random_mask(16, 16, 0.3, 4).to(torch::kFloat64);
  const auto constant = torch::full({1, 1, 16, 16}, 0.25, options);
  // Conjugate gradients stop at a relative residual of 1e-8.
  CHECK((biharmonic_inpainting(constant * mask, mask) - constant).abs().max().item<double>() <
        1e-6);
  auto generator = make_generator(8);
  const auto image = randn({2, 1, 16, 16}, options, generator);
  const auto filled = biharmonic_inpainting(image * mask, mask);
  CHECK(((filled - image) * mask).abs().max().item<double>() == 0.0);
  // Optimality: the gradient of ||L x||^2 vanishes on the missing pixels, i.e. L L x = 0
  // there. The Laplacian with reflecting boundaries via second differences:
  const auto laplacian = [](const torch::Tensor& x) {
    const auto padded = torch::nn::functional::pad(
        x, torch::nn::functional::PadFuncOptions({1, 1, 1, 1}).mode(torch::kReplicate));
    return padded.slice(2, 0, -2).slice(3, 1, -1) + padded.slice(2, 2).slice(3, 1, -1) +
           padded.slice(2, 1, -1).slice(3, 0, -2) + padded.slice(2, 1, -1).slice(3, 2) - 4 * x;
  };
  const auto stationarity = (laplacian(laplacian(filled)) * (1 - mask)).abs().max();
  CHECK(stationarity.item<double>() < 1e-6 * image.abs().max().item<double>());
}

TEST_CASE("Bicubic upsampling of a constant is that constant", "[baselines]") {
  const auto y = torch::full({1, 1, 7, 7}, -0.5);
  CHECK((bicubic_upsampling(y, 4) + 0.5).abs().max().item<double>() < 1e-6);
  CHECK(bicubic_upsampling(y, 4).sizes() == torch::IntArrayRef({1, 1, 28, 28}));
}

TEST_CASE("classical_restoration picks the operator's method", "[baselines]") {
  Problem problem;
  AveragePool::Options pool;
  pool.factor = 2;
  problem.forward_operator = std::make_shared<AveragePool>(pool);
  problem.measurement = torch::zeros({1, 1, 14, 14});
  problem.image_shape = {1, 28, 28};
  CHECK(classical_restoration(problem).method == "bicubic upsampling");
}
