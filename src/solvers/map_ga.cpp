#include "mapinverse/solvers/map_ga.hpp"

#include <algorithm>

#include <torch/torch.h>

namespace mapinverse {

at::Tensor MapGa::run(const Problem& problem, detail::SolveRecorder& recorder,
                      NoiseSource& noise) const {
  const auto& schedule = *consistency_->schedule();
  const auto times = time_steps();
  const double sigma_floor = schedule.sigma(times.back());
  const double sigma_eps = schedule.sigma(consistency_->epsilon());
  const double variance_y = problem.sigma_y * problem.sigma_y;
  const double learning_rate =
      options_.learning_rate.value_or(default_learning_rate(problem, sigma_eps));
  auto z = detail::initial_noise(problem, schedule.sigma(times.front()), noise);

  at::Tensor estimate;
  for (size_t i = 0; i + 1 < times.size(); ++i) {
    const double t = times[i];
    const double sigma_t = schedule.sigma(t);
    z = ascend(problem, z, t, learning_rate * learning_rate_factor(i), sigma_eps, recorder);
    estimate = evaluate_without_grad(z, t, problem.labels);
    recorder.count_forwards(consistency_->network_calls_per_evaluation());
    recorder.check_finite(estimate, "the estimate C(z, t)", recorder.current_step(), sigma_t);
    const double sigma_next = schedule.sigma(times[i + 1]);
    const double scale =
        std::sqrt(std::max(sigma_next * sigma_next - sigma_floor * sigma_floor, 0.0));
    z = scale > 0.0 ? estimate + scale * noise.randn_like(estimate) : estimate;
    const auto fit = detail::data_term(problem, estimate, variance_y, sigma_eps * sigma_eps);
    if (!recorder.end_step(t, sigma_t, detail::batch_mean(fit.residual_norm),
                           detail::batch_mean(fit.objective))) {
      break;
    }
  }
  return estimate;
}

double MapGa::default_learning_rate(const Problem& problem, double sigma_eps) {
  const double a = problem.sigma_y * problem.sigma_y;
  const double b = sigma_eps * sigma_eps;
  // The paper's lambda = a + b (§5) is a unit step for the data term (eq. 17) along every
  // direction of singular value s <= 1: its curvature there is s^2 / (a + b s^2) <= 1 / (a + b).
  // An operator with ||A|| > 1 is stiffer by kappa = ||A||^2 (a + b) / (a + b ||A||^2) (1 when
  // noiseless), and gradient ascent diverges once kappa > 2 (a random dense 2 x 8 matrix at
  // sigma_y = 0.05: kappa = 2.3 and estimates of 10^6); the step is divided by kappa there.
  const double norm_squared = detail::operator_norm_squared(problem);
  const double kappa = norm_squared * (a + b) / (a + b * norm_squared);
  return (a + b) / std::max(1.0, kappa);
}

at::Tensor MapGa::ascend(const Problem& problem, at::Tensor z, double t, double learning_rate,
                         double sigma_eps, detail::SolveRecorder& recorder) const {
  const double variance_eps = sigma_eps * sigma_eps;
  const double variance_y = problem.sigma_y * problem.sigma_y;
  const int64_t calls = consistency_->network_calls_per_evaluation();
  // The prior's score at sigma_p^2 = sigma_y^2 + sigma_eps^2 (header) or at sigma_eps.
  const double prior_variance =
      options_.prior_at_noise_level ? variance_y + variance_eps : variance_eps;
  const double prior_sigma = std::sqrt(prior_variance);
  auto state = options_.optimizer->start();
  for (int64_t j = 0; j < options_.num_iter; ++j) {
    c10::InferenceMode inference_off(false);
    at::AutoGradMode grad_on(true);
    const auto input = z.detach().requires_grad_(true);
    const auto estimate = consistency_->origin(input, t, problem.labels);
    recorder.count_forwards(calls);
    auto posterior_gradient =
        detail::data_term(problem, estimate, variance_y, variance_eps, /*with_fit=*/false).gradient;
    if (options_.use_prior) {
      at::NoGradGuard no_grad;
      const auto clean = estimate.detach();
      const auto denoised = denoise_for_inference(clean, prior_sigma, problem.labels);
      recorder.count_forwards(models_.denoiser->network_calls_per_evaluation());
      posterior_gradient = posterior_gradient + (denoised - clean) / prior_variance;
    }
    const auto gradient = vector_jacobian_product(estimate, input, posterior_gradient);
    recorder.count_vjps(calls);
    z = state->step(z.detach(), gradient, learning_rate);
  }
  return z.detach();
}

}  // namespace mapinverse
