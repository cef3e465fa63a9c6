// GaussianMixturePrior::modes(): the fixed-point mode search.

#include <algorithm>
#include <cmath>

#include <torch/torch.h>

#include "mapinverse/models/gaussian_mixture_prior.hpp"

namespace mapinverse {

std::vector<GaussianMixtureMode> GaussianMixturePrior::modes(
    const MapSearchOptions& options) const {
  options.validate();
  at::NoGradGuard no_grad;
  const auto& p = parameters_;
  const auto zero_variance = at::zeros({1}, p.means.options());
  const auto precisions = component_precisions();
  const auto precision_means = at::einsum("knm,km->kn", {precisions, p.means});
  const auto joint_at = [&](const at::Tensor& points) {
    return component_terms(points, zero_variance).log_joint;
  };
  const auto starts = num_components();
  auto x = p.means.clone();
  auto joint = joint_at(x);
  auto log_p = at::logsumexp(joint, {1});
  auto active = at::ones({starts}, p.means.options().dtype(at::kBool));
  auto iterations = at::zeros({starts}, p.means.options().dtype(at::kLong));
  for (int64_t step = 0; step < options.max_iterations && active.any().item<bool>(); ++step) {
    const auto w = at::softmax(joint, 1);
    const auto system = at::einsum("sk,knm->snm", {w, precisions});
    const auto rhs = at::matmul(w, precision_means).unsqueeze(2);
    auto proposal = at::cholesky_solve(rhs, at::linalg_cholesky(system)).squeeze(2);
    auto proposal_joint = joint_at(proposal);
    auto proposal_log_p = at::logsumexp(proposal_joint, {1});
    // The step is an ascent direction, so halving it eventually increases log p; the
    // slack absorbs rounding once the iteration has converged.
    for (int64_t halving = 0; halving < kMaxStepHalvings; ++halving) {
      const auto decreased = proposal_log_p < log_p - 1e-12 * (1.0 + log_p.abs());
      if (!decreased.any().item<bool>()) break;
      proposal = at::where(decreased.unsqueeze(1), 0.5 * (x + proposal), proposal);
      proposal_joint = joint_at(proposal);
      proposal_log_p = at::logsumexp(proposal_joint, {1});
    }
    const auto step_size = (proposal - x).abs().amax(1);
    x = at::where(active.unsqueeze(1), proposal, x);
    joint = at::where(active.unsqueeze(1), proposal_joint, joint);
    log_p = at::where(active, proposal_log_p, log_p);
    iterations = iterations + active.to(at::kLong);
    active = active.logical_and(step_size > options.tolerance * (1.0 + x.abs().amax(1)));
  }
  std::vector<GaussianMixtureMode> found;
  const auto order = std::get<1>(log_p.cpu().sort(0, /*descending=*/true));
  for (int64_t i = 0; i < starts; ++i) {
    const auto s = order[i].item<int64_t>();
    const auto point = x[s];
    const double scale = 1.0 + point.abs().max().item<double>();
    const bool duplicate =
        std::any_of(found.begin(), found.end(), [&](const GaussianMixtureMode& mode) {
          return (mode.point.reshape({-1}) - point).abs().max().item<double>() <=
                 options.merge_tolerance * scale;
        });
    if (duplicate) continue;
    found.push_back({point.reshape(event_shape()), log_p[s].item<double>(), s,
                     iterations[s].item<int64_t>(), !active[s].item<bool>()});
  }
  return found;
}

}  // namespace mapinverse
