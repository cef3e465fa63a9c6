#include "mapinverse/solvers/dps.hpp"

#include <torch/torch.h>

namespace mapinverse {
namespace {

// sqrt(m) sigma_y per sample: the residual norm ||y - A(x)|| the true image leaves, with m
// the number of measurement entries that carry noise (for a linear operator, those in the
// range of H H^T: an inpainting mask's observed pixels; all entries otherwise).
at::Tensor noise_floor(const Problem& problem) {
  const auto& y = problem.measurement;
  at::Tensor counted;
  if (problem.forward_operator->is_linear()) {
    const auto& op = static_cast<const LinearOperator&>(*problem.forward_operator);
    counted = op.gram(at::ones_like(y)) != 0;
  } else {
    counted = at::ones_like(y, y.options().dtype(at::kBool));
  }
  const auto m = counted.reshape({y.size(0), -1}).sum(1).to(y.scalar_type());
  return problem.sigma_y * m.sqrt();
}

}  // namespace

Summary Dps::solve(const Problem& problem, const std::vector<IterationCallback>& callbacks) const {
  problem.validate();
  detail::SolveRecorder recorder(name(), callbacks, options_.schedule.num_steps);
  auto noise = detail::noise_source(problem);
  const auto& schedule = *models_.denoiser->schedule();
  const auto times = options_.schedule.times();
  const double sigma_floor = schedule.sigma(times.back());
  auto x = detail::initial_noise(problem, schedule.sigma(times.front()), noise);
  const auto floor = noise_floor(problem);
  for (size_t i = 0; i + 1 < times.size(); ++i) {
    const double sigma_t = schedule.sigma(times[i]);
    // With a = 1, b = 0 the guidance is (dx_hat/dx_t)^T A'^T (y - A(x_hat)) =
    // -1/2 grad_{x_t} ||y - A(x_hat)||^2.
    const auto guided =
        detail::guided_estimate(*models_.denoiser, problem, x, sigma_t, 1.0, 0.0, recorder);
    // Eq. 16's step, scaled by (1 - floor / ||r||)_+ so that it stops at the noise floor
    // instead of fitting the noise (1 when noiseless).
    const auto residual = guided.data.residual_norm.clamp_min(1e-12);
    const auto step_size = 2.0 * options_.zeta / residual * (1.0 - floor / residual).clamp_min(0.0);
    x = reverse_step(x, guided.estimate, sigma_t, schedule.sigma(times[i + 1]), sigma_floor,
                     options_.step, noise) +
        detail::per_sample_scalar(step_size, x) * guided.guidance;
    recorder.check_finite(x, "the iterate x_t", recorder.current_step(), sigma_t);
    if (!recorder.end_step(times[i], sigma_t, detail::batch_mean(guided.data.residual_norm),
                           detail::batch_mean(guided.data.objective))) {
      break;
    }
  }
  return recorder.finish(x);
}

}  // namespace mapinverse
