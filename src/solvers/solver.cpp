#include "mapinverse/solvers/solver.hpp"

#include <torch/torch.h>

namespace mapinverse {

at::Tensor detail::initial_noise(const Problem& problem, double sigma, NoiseSource& noise) {
  const auto options = problem.measurement.options();
  auto x = sigma * noise.randn(problem.batch_shape(), options);
  return problem.start_image.defined() ? x + problem.start_image.to(options) : x;
}

void detail::SolveRecorder::check_finite(const at::Tensor& value, const char* what, int64_t step,
                                         double sigma) const {
  if (!at::isfinite(value).all().item<bool>()) {
    throw NumericalError(fmt::format("{}: {} became NaN or infinite at step {} (sigma = {:.6g})",
                                     summary_.solver_name, what, step, sigma));
  }
}

}  // namespace mapinverse
