#include "mapinverse/solvers/diffpir.hpp"

#include <torch/torch.h>

#include "mapinverse/solvers/data_term.hpp"

namespace mapinverse {

Summary DiffPir::solve(const Problem& problem,
                       const std::vector<IterationCallback>& callbacks) const {
  problem.validate();
  require(problem.forward_operator->is_linear(),
          "DiffPir::solve(): expected a linear operator, got the non-linear {}",
          problem.forward_operator->name());
  const auto& op = static_cast<const LinearOperator&>(*problem.forward_operator);
  at::NoGradGuard no_grad;
  detail::SolveRecorder recorder(name(), callbacks, options_.schedule.num_steps);
  auto noise = detail::noise_source(problem);
  const auto& schedule = *models_.denoiser->schedule();
  const auto times = options_.schedule.times();
  const double variance_y = problem.sigma_y * problem.sigma_y;
  const double keep = std::sqrt(1.0 - options_.zeta);
  const double fresh = std::sqrt(options_.zeta);
  auto x = detail::initial_noise(problem, schedule.sigma(times.front()), noise);
  for (size_t i = 0; i + 1 < times.size(); ++i) {
    const double sigma_t = schedule.sigma(times[i]);
    const double sigma_s = schedule.sigma(times[i + 1]);
    const auto x0 = models_.denoiser->denoise(x, sigma_t, problem.labels);
    recorder.count_forwards(models_.denoiser->network_calls_per_evaluation());
    // The data step: the proximal point of ||y - H x||^2 with weight rho_t around x0.
    const double rho = options_.lambda * variance_y / (sigma_t * sigma_t);
    const auto residual = problem.measurement - op.apply(x0);
    const auto x0_hat = x0 + op.adjoint(op.solve_gram(residual, rho, 1.0));
    const auto eps_hat = (x - x0_hat) / sigma_t;
    x = x0_hat + sigma_s * (keep * eps_hat + fresh * noise.randn_like(x0_hat));
    recorder.check_finite(x, "the iterate x_t", recorder.current_step(), sigma_t);
    const auto norm = residual.reshape({residual.size(0), -1}).norm(2, 1);
    const auto objective = -0.5 * norm.square() / (variance_y + sigma_t * sigma_t);
    if (!recorder.end_step(times[i], sigma_t, detail::batch_mean(norm),
                           detail::batch_mean(objective))) {
      break;
    }
  }
  return recorder.finish(x);
}

}  // namespace mapinverse
