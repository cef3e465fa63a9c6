#pragma once

#include "mapinverse/core/autograd.hpp"
#include "mapinverse/core/tensor.hpp"
#include "mapinverse/models/denoiser.hpp"
#include "mapinverse/solvers/data_term.hpp"
#include "mapinverse/solvers/solver.hpp"

namespace mapinverse::detail {

/// The network part of one guided reverse-diffusion step, shared by PGDM and DPS:
/// x_hat = D(x_t, sigma_t) and the guidance (dx_hat/dx_t)^T H^T (a I + b H H^T)^{-1}
/// (y - A(x_hat)) by one vector-Jacobian product through the denoiser.
struct GuidedEstimate {
  at::Tensor estimate;
  at::Tensor guidance;
  DataTerm data;
};

inline GuidedEstimate guided_estimate(const Denoiser& denoiser, const Problem& problem,
                                      const at::Tensor& x_t, double sigma_t, double a, double b,
                                      SolveRecorder& recorder) {
  c10::InferenceMode inference_off(false);
  at::AutoGradMode grad_on(true);
  const auto input = x_t.detach().requires_grad_(true);
  const auto estimate = denoiser.denoise(input, sigma_t, problem.labels);
  recorder.count_forwards(denoiser.network_calls_per_evaluation());
  auto data = data_term(problem, estimate, a, b);
  const auto guidance = vector_jacobian_product(estimate, input, data.gradient);
  recorder.count_vjps(denoiser.network_calls_per_evaluation());
  return {estimate.detach(), guidance.detach(), std::move(data)};
}

}  // namespace mapinverse::detail
