// One cell of the matrix: a solver (or the non-learned baseline) on one problem.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "mapinverse/solvers/registry.hpp"
#include "problems.hpp"

namespace matrix {

/// The images and the noise of an image problem: y = A(x) + sigma_y xi, xi from a
/// generator seeded with `seed`.
struct ImageCase {
  const ImageProblem* problem;
  double sigma_y;
  torch::Tensor truth;  // [B,1,H,W] in [-1, 1]
  uint64_t seed;
};

/// {"status": "ok", "psnr", "ssim", "psnr_per_image", "calls_per_image",
/// "seconds_per_image"} for `solver` on the case; {"status": "refused", "message"} when
/// the solver throws std::invalid_argument (it does not take the problem);
/// {"status": "failed", "message"} on any other error (a defect).
nlohmann::json run_image_cell(const std::string& solver, const mapinverse::PriorModels& models,
                              const ImageCase& image_case);

/// The same record for the operator's non-learned restoration, with its "method".
nlohmann::json run_image_baseline(const ImageCase& image_case);

/// {"status": "ok", "sliced_wasserstein", "calls_per_sample", "seconds"} for `solver` at
/// its defaults drawing `samples` samples (one batch) on the mixture problem; the
/// distance is to `exact_draws` draws of the exact posterior (100 slices).
nlohmann::json run_mixture_cell(const std::string& solver, const MixtureProblem& problem,
                                const torch::Tensor& exact_draws, int64_t samples);

/// The mixture problem's reference figures: {"floor"} (exact vs exact) and
/// {"prior_distance"} (prior draws vs exact), with the exact draws returned.
nlohmann::json mixture_reference(const MixtureProblem& problem, int64_t draws,
                                 torch::Tensor& exact_draws);

}  // namespace matrix
