#include "mapinverse/solvers/daps.hpp"

#include <torch/torch.h>

#include "mapinverse/core/random.hpp"
#include "mapinverse/solvers/data_term.hpp"

namespace mapinverse {

at::Tensor Daps::ode_estimate(const Problem& problem, at::Tensor x, double sigma_t,
                              detail::SolveRecorder& recorder) const {
  // Grid sigma_t = s_0 > ... > s_{k-1} >= ode_sigma_min, then s_k = 0: the last Euler
  // step x + (0 - s)(x - D(x, s)) / s lands on D(x, s).
  std::vector<double> grid{sigma_t};
  if (options_.ode_steps > 1) {
    const double low = std::min(options_.ode_sigma_min, sigma_t);
    grid = sigma_t > low ? TimeSteps({options_.ode_steps, sigma_t, low, 7.0}).values()
                         : std::vector<double>(static_cast<size_t>(options_.ode_steps), sigma_t);
  }
  grid.push_back(0.0);
  for (size_t j = 0; j + 1 < grid.size(); ++j) {
    const auto denoised = models_.denoiser->denoise(x, grid[j], problem.labels);
    recorder.count_forwards(models_.denoiser->network_calls_per_evaluation());
    x = denoised + (grid[j + 1] / grid[j]) * (x - denoised);
  }
  return x;
}

at::Tensor Daps::langevin(const Problem& problem, const at::Tensor& x0_hat, double sigma_t,
                          double step_size, double temperature, double tau,
                          NoiseSource& noise) const {
  const double prior_weight = 1.0 / (sigma_t * sigma_t);
  const double spread = std::sqrt(2.0 * step_size * temperature);
  auto x0 = x0_hat;
  for (int64_t j = 0; j < options_.langevin_steps; ++j) {
    // data_term with a = tau^2, b = 0: A'(x0)^T (y - A(x0)) / tau^2 = grad log p(y | x0).
    const auto likelihood = detail::data_term(problem, x0, tau * tau, 0.0, false).gradient;
    x0 = x0 + step_size * (likelihood - prior_weight * (x0 - x0_hat)) +
         spread * noise.randn_like(x0);
  }
  return x0;
}

double Daps::step_size(int64_t i, int64_t levels, double sigma_t, double tau,
                       double operator_norm_squared) const {
  if (options_.langevin_step_size) {
    const double progress =
        levels > 1 ? static_cast<double>(i) / static_cast<double>(levels - 1) : 1.0;
    return *options_.langevin_step_size * (1.0 + progress * (options_.step_size_floor - 1.0));
  }
  const double stiffness = 1.0 / (sigma_t * sigma_t) + operator_norm_squared / (tau * tau);
  return options_.langevin_step_fraction / stiffness;
}

Summary Daps::solve(const Problem& problem, const std::vector<IterationCallback>& callbacks) const {
  problem.validate();
  at::NoGradGuard no_grad;
  detail::SolveRecorder recorder(name(), callbacks, options_.schedule.num_steps);
  auto noise = detail::noise_source(problem);
  const auto& schedule = *models_.denoiser->schedule();
  // num_steps levels from t_max down to t_min, then 0: no noise after the last level.
  const auto& grid = options_.schedule;
  const auto levels = grid.num_steps >= 2
                          ? TimeSteps({grid.num_steps, grid.t_max, grid.t_min, grid.rho}).values()
                          : std::vector<double>{grid.t_max};
  const double tau = options_.tau.value_or(std::max(problem.sigma_y, options_.tau_floor));
  const auto steps = options_.schedule.num_steps;
  const double norm_squared =
      options_.langevin_step_size
          ? 1.0
          : 1.05 * detail::operator_norm_squared(problem);  // 5 % margin: only shortens the step
  auto x = detail::initial_noise(problem, schedule.sigma(levels.front()), noise);
  at::Tensor x0;
  for (int64_t i = 0; i < steps; ++i) {
    const double sigma_t = schedule.sigma(levels[static_cast<size_t>(i)]);
    const double sigma_s = i + 1 < steps ? schedule.sigma(levels[static_cast<size_t>(i + 1)]) : 0.0;
    const auto x0_hat = ode_estimate(problem, x, sigma_t, recorder);
    // The Langevin noise's temperature: 1 at the first level, 0 at the last when cooling.
    const double temperature = options_.cool_langevin && steps > 1
                                   ? 1.0 - static_cast<double>(i) / static_cast<double>(steps - 1)
                                   : 1.0;
    x0 = langevin(problem, x0_hat, sigma_t, step_size(i, steps, sigma_t, tau, norm_squared),
                  temperature, tau, noise);
    recorder.check_finite(x0, "the Langevin sample x0", recorder.current_step(), sigma_t);
    x = sigma_s > 0.0 ? x0 + sigma_s * noise.randn_like(x0) : x0;
    const auto data = detail::data_term(problem, x0, tau * tau, 0.0);
    if (!recorder.end_step(levels[static_cast<size_t>(i)], sigma_t,
                           detail::batch_mean(data.residual_norm),
                           detail::batch_mean(data.objective))) {
      break;
    }
  }
  return recorder.finish(x0);
}

}  // namespace mapinverse
