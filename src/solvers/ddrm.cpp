#include "mapinverse/solvers/ddrm.hpp"

#include <limits>

#include <torch/torch.h>

#include "mapinverse/solvers/data_term.hpp"

namespace mapinverse {
namespace {

// One coordinate-wise DDRM update (eq. 8) from sigma_t to sigma_s, in the coefficients of
// V^T: `s` holds each coordinate's singular value (0: unobserved), `y_bar` the
// measurement's coefficients S^+ U^T y and `fresh` white noise in the same basis. Every
// argument is a coefficient tensor or broadcasts against one.
struct DdrmStep {
  double sigma_t;
  double sigma_s;
  double sigma_y;
  double eta;
  double eta_b;
  double eta_null;

  at::Tensor operator()(const at::Tensor& x, const at::Tensor& x_hat, const at::Tensor& y_bar,
                        const at::Tensor& s, const at::Tensor& fresh) const {
    // s_i = 0: DDIM(eta_null) from x_t towards x_hat.
    const double keep = std::sqrt(1.0 - eta_null * eta_null) * sigma_s / sigma_t;
    const auto null_update = x_hat + keep * (x - x_hat) + eta_null * sigma_s * fresh;
    const auto observed = s > 0;
    // The noise of y_bar_i, sigma_y / s_i (infinite where s_i = 0, never used there).
    const auto y_noise = at::where(observed, sigma_y / at::where(observed, s, at::ones_like(s)),
                                   at::full_like(s, std::numeric_limits<double>::infinity()));
    // s_i > 0 and sigma_s < sigma_y / s_i: towards y_bar, whose noise exceeds the step's.
    const auto pull = std::sqrt(1.0 - eta * eta) * sigma_s / y_noise;
    const auto pull_update = x_hat + pull * (y_bar - x_hat) + eta * sigma_s * fresh;
    // s_i > 0 and sigma_s >= sigma_y / s_i: around y_bar.
    const auto spread = (sigma_s * sigma_s - (eta_b * y_noise).square()).clamp_min(0.0).sqrt();
    const auto spread_update = (1.0 - eta_b) * x_hat + eta_b * y_bar + spread * fresh;
    const auto row_update = at::where(y_noise > sigma_s, pull_update, spread_update);
    return at::where(observed, row_update, null_update);
  }
};

// Eq. 7: N(y_bar, sigma_T^2 - (sigma_y / s)^2) where y_bar is less noisy than sigma_T,
// N(0, sigma_T^2) elsewhere (`null_start` is the mean there: 0 or a start image).
at::Tensor ddrm_start(double sigma_start, double sigma_y, const at::Tensor& y_bar,
                      const at::Tensor& s, const at::Tensor& null_start, const at::Tensor& xi) {
  const auto y_noise = sigma_y / at::where(s > 0, s, at::ones_like(s));
  const auto anchored = (s > 0).logical_and(y_noise < sigma_start);
  const auto spread = (sigma_start * sigma_start - y_noise.square()).clamp_min(0.0).sqrt();
  return at::where(anchored, y_bar + spread * xi, null_start + sigma_start * xi);
}

// The operator's V^T, V, S and S^+ U^T as DDRM uses them, in one of two forms:
// - spectral: the operator's SpectralDecomposition, coefficients c = V^T x;
// - uniform: every non-zero singular value equals s, so with P = H^T H / s^2 the
//   coefficients can stay in image space: the update of a coordinate depends on s_i only,
//   and applying it to P x (s_i = s) and (I - P) x (s_i = 0) separately is the same as
//   applying it in the SVD's basis, without forming V.
struct DdrmBasis {
  std::shared_ptr<const LinearOperator> op;
  std::shared_ptr<const SpectralDecomposition> spectral;
  double uniform_s = 0.0;

  at::Tensor to_basis(const at::Tensor& x) const { return spectral ? spectral->to_spectral(x) : x; }
  at::Tensor from_basis(const at::Tensor& c) const {
    return spectral ? spectral->from_spectral(c) : c;
  }
  at::Tensor y_bar(const at::Tensor& y) const {
    return spectral ? spectral->pseudo_inverse(y) : op->adjoint(y) / (uniform_s * uniform_s);
  }
  at::Tensor row_projection(const at::Tensor& x) const {
    return op->adjoint(op->apply(x)) / (uniform_s * uniform_s);
  }

  // Applies `update(s)` coordinate-wise: once with the spectral s, or twice (s, 0) and
  // recombined through the projector.
  template <class Update>
  at::Tensor apply(const at::Tensor& like, const Update& update) const {
    if (spectral) return update(spectral->singular_values(like));
    const auto ones = at::ones({}, like.options());
    const auto rows = update(ones * uniform_s);
    const auto nulls = update(ones * 0.0);
    return nulls - row_projection(nulls) + row_projection(rows);
  }
};

DdrmBasis basis_of(const Problem& problem) {
  const auto& op = problem.forward_operator;
  require(op->is_linear(),
          "Ddrm::solve(): expected a linear operator, got the non-linear {}; use "
          "PGDM or DPS (any differentiable operator)",
          op->name());
  auto linear = std::static_pointer_cast<const LinearOperator>(op);
  if (const auto s = linear->uniform_singular_value()) {
    require(std::isfinite(*s) && *s > 0.0, "Ddrm::solve(): {} reports a singular value of {}",
            op->name(), *s);
    return {linear, nullptr, *s};
  }
  const auto like = at::zeros(problem.batch_shape(), problem.measurement.options());
  auto spectral = linear->spectral_decomposition(like);
  require(spectral != nullptr,
          "Ddrm::solve(): {} has no singular value decomposition (spectral_decomposition()); "
          "use PGDM, which needs only its adjoint",
          op->name());
  return {linear, std::move(spectral), 0.0};
}

}  // namespace

Summary Ddrm::solve(const Problem& problem, const std::vector<IterationCallback>& callbacks) const {
  problem.validate();
  const auto basis = basis_of(problem);
  at::NoGradGuard no_grad;
  detail::SolveRecorder recorder(name(), callbacks, options_.schedule.num_steps);
  auto noise = detail::noise_source(problem);
  const auto& schedule = *models_.denoiser->schedule();
  const auto times = options_.schedule.times();
  const auto y_bar = basis.y_bar(problem.measurement);

  const double sigma_start = schedule.sigma(times.front());
  const auto xi = noise.randn(problem.batch_shape(), problem.measurement.options());
  const auto null_start =
      problem.start_image.defined() ? problem.start_image.to(xi.options()) : at::zeros_like(xi);
  auto x = basis.from_basis(basis.apply(xi, [&](const at::Tensor& s) {
    return ddrm_start(sigma_start, problem.sigma_y, y_bar, s, basis.to_basis(null_start),
                      basis.to_basis(xi));
  }));

  for (size_t i = 0; i + 1 < times.size(); ++i) {
    const double sigma_t = schedule.sigma(times[i]);
    const DdrmStep step{sigma_t,         schedule.sigma(times[i + 1]),
                        problem.sigma_y, options_.eta,
                        options_.eta_b,  options_.eta_null};
    const auto x_hat = models_.denoiser->denoise(x, sigma_t, problem.labels);
    recorder.count_forwards(models_.denoiser->network_calls_per_evaluation());
    const auto fresh = basis.to_basis(noise.randn_like(x));
    const auto x_coefficients = basis.to_basis(x);
    const auto x_hat_coefficients = basis.to_basis(x_hat);
    x = basis.from_basis(basis.apply(x, [&](const at::Tensor& s) {
      return step(x_coefficients, x_hat_coefficients, y_bar, s, fresh);
    }));
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
