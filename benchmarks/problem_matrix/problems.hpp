// The problems of the solver x problem matrix: image problems on Fashion-MNIST test
// images (an operator and a noise level) and Gaussian-mixture problems with exact
// posteriors.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "mapinverse/models/gaussian_mixture_prior.hpp"
#include "mapinverse/operators/forward_operator.hpp"

namespace matrix {

struct ImageProblem {
  std::string name;
  /// Builds the operator for images of `height` x `width`.
  std::function<std::shared_ptr<const mapinverse::ForwardOperator>(int64_t height, int64_t width)>
      make;
};

/// The paper's six masks; random masks keeping 10, 30 and 60 % of the pixels; the
/// committed mask PNG (`mask_png`); 2x and 4x average pooling; Gaussian blur of 1 and 2
/// pixels. `reduced`: random-30 and blur-1 only (a scattered mask and a non-uniform
/// spectrum: the problems that broke DDRM, DiffPIR, DAPS and MAP-GA).
std::vector<ImageProblem> image_problems(const std::string& mask_png, bool reduced);

/// A linear-Gaussian problem on a Gaussian-mixture prior: y = A x + N(0, sigma_y^2 I).
struct MixtureProblem {
  std::string name;
  std::shared_ptr<const mapinverse::GaussianMixturePrior> prior;
  std::shared_ptr<const mapinverse::LinearOperator> op;
  double sigma_y = 0.0;
  torch::Tensor measurement;  // [1, ...]
};

/// benchmark_exact_posterior's kind of problem (random full-covariance mixtures of four
/// components, a random dense A): dimension 8 with 2 observed directions (sigma_y 0.05),
/// dimension 80 with 4 (sigma_y 0.23), and dimension 8 half inpainted (noiseless).
/// `reduced`: the first only.
std::vector<MixtureProblem> mixture_problems(bool reduced);

}  // namespace matrix
