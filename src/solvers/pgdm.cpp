#include "mapinverse/solvers/pgdm.hpp"

#include <torch/torch.h>

namespace mapinverse {

at::Tensor Pgdm::run(const Problem& problem, at::Tensor x, detail::SolveRecorder& recorder,
                     NoiseSource& noise) const {
  const auto& schedule = *models_.denoiser->schedule();
  const auto times = options_.schedule.times();
  const double sigma_floor = schedule.sigma(times.back());
  const double variance_y = problem.sigma_y * problem.sigma_y;
  const double variance_d = options_.sigma_d * options_.sigma_d;
  for (size_t i = 0; i + 1 < times.size(); ++i) {
    const double sigma_t = schedule.sigma(times[i]);
    const double variance_t = sigma_t * sigma_t;
    const double r_squared = variance_t * variance_d / (variance_t + variance_d);
    const auto guided = detail::guided_estimate(*models_.denoiser, problem, x, sigma_t, variance_y,
                                                r_squared, recorder);
    const auto conditional = guided.estimate + variance_t * guided.guidance;
    x = reverse_step(x, conditional, sigma_t, schedule.sigma(times[i + 1]), sigma_floor,
                     options_.step, noise);
    recorder.check_finite(x, "the iterate x_t", recorder.current_step(), sigma_t);
    if (!recorder.end_step(times[i], sigma_t, detail::batch_mean(guided.data.residual_norm),
                           detail::batch_mean(guided.data.objective))) {
      break;
    }
  }
  return x;
}

}  // namespace mapinverse
