#include "mapinverse/solvers/ddrm.hpp"

#include <torch/torch.h>

#include "mapinverse/solvers/data_term.hpp"

namespace mapinverse {
namespace {

// The operator's spectral structure as DDRM uses it: P = H^T H / s^2 and y_bar = H^T y / s^2.
struct RowSpace {
  std::shared_ptr<const LinearOperator> op;
  double inverse_s_squared = 1.0;

  at::Tensor project(const at::Tensor& x) const {
    return op->adjoint(op->apply(x)) * inverse_s_squared;
  }
  at::Tensor pseudo_inverse(const at::Tensor& y) const {
    return op->adjoint(y) * inverse_s_squared;
  }
};

RowSpace row_space_of(const Problem& problem) {
  const auto& op = problem.forward_operator;
  auto linear = op->is_linear() ? std::static_pointer_cast<const LinearOperator>(op) : nullptr;
  // 0 stands for "none": a singular value is positive.
  const double s = linear ? linear->uniform_singular_value().value_or(0.0) : 0.0;
  require(std::isfinite(s) && s > 0.0,
          "Ddrm::solve(): expected a linear operator whose non-zero singular values are all "
          "equal (Inpainting, AveragePool), got {}",
          op->name());
  return {std::move(linear), 1.0 / (s * s)};
}

}  // namespace

Summary Ddrm::solve(const Problem& problem, const std::vector<IterationCallback>& callbacks) const {
  problem.validate();
  const auto rows = row_space_of(problem);
  at::NoGradGuard no_grad;
  detail::SolveRecorder recorder(name(), callbacks, options_.schedule.num_steps);
  auto noise = detail::noise_source(problem);
  const auto& schedule = *models_.denoiser->schedule();
  const auto times = options_.schedule.times();
  // y_bar and its noise level sigma_y / s, the same on every row-space coordinate.
  const auto y_bar = rows.pseudo_inverse(problem.measurement);
  const double sigma_y_bar = problem.sigma_y * std::sqrt(rows.inverse_s_squared);
  const double eta = options_.eta;
  const double eta_b = options_.eta_b;

  // Eq. 7: N(y_bar, sigma_T^2 - sigma_y_bar^2) on the row space, N(0, sigma_T^2) off it.
  const double sigma_start = schedule.sigma(times.front());
  const auto xi = noise.randn(problem.batch_shape(), problem.measurement.options());
  auto off_rows = sigma_start * xi;
  if (problem.start_image.defined()) off_rows = off_rows + problem.start_image.to(xi.options());
  const double start_spread =
      std::sqrt(std::max(sigma_start * sigma_start - sigma_y_bar * sigma_y_bar, 0.0));
  auto x = off_rows - rows.project(off_rows) + rows.project(y_bar + start_spread * xi);

  for (size_t i = 0; i + 1 < times.size(); ++i) {
    const double sigma_t = schedule.sigma(times[i]);
    const double sigma_s = schedule.sigma(times[i + 1]);
    const auto x_hat = models_.denoiser->denoise(x, sigma_t, problem.labels);
    recorder.count_forwards(models_.denoiser->network_calls_per_evaluation());
    const auto fresh = noise.randn_like(x);
    // Eq. 8, s_i = 0: DDIM(eta) from x_t towards x_hat.
    const double keep = std::sqrt(1.0 - eta * eta) * sigma_s / sigma_t;
    const auto null_update = x_hat + keep * (x - x_hat) + eta * sigma_s * fresh;
    // Eq. 8, s_i > 0: towards y_bar while sigma_s is below its noise, else around it.
    at::Tensor row_update;
    if (sigma_s < sigma_y_bar) {
      const double pull = std::sqrt(1.0 - eta * eta) * sigma_s / sigma_y_bar;
      row_update = x_hat + pull * (y_bar - x_hat) + eta * sigma_s * fresh;
    } else {
      const double spread =
          std::sqrt(std::max(sigma_s * sigma_s - eta_b * eta_b * sigma_y_bar * sigma_y_bar, 0.0));
      row_update = (1.0 - eta_b) * x_hat + eta_b * y_bar + spread * fresh;
    }
    x = null_update - rows.project(null_update) + rows.project(row_update);
    recorder.check_finite(x, "the iterate x_t", recorder.current_step(), sigma_t);
    const auto data =
        detail::data_term(problem, x_hat, problem.sigma_y * problem.sigma_y, sigma_t * sigma_t);
    if (!recorder.end_step(times[i], sigma_t, detail::batch_mean(data.residual_norm),
                           detail::batch_mean(data.objective))) {
      break;
    }
  }
  return recorder.finish(x);
}

}  // namespace mapinverse
