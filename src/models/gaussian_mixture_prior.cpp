#include "mapinverse/models/gaussian_mixture_prior.hpp"

#include <torch/torch.h>

namespace mapinverse {

std::shared_ptr<const GaussianMixturePrior> GaussianMixturePrior::from_full_covariances(
      const at::Tensor& weights, const at::Tensor& means, const at::Tensor& covariances,
      std::vector<int64_t> event_shape) {
  constexpr const char* where = "GaussianMixturePrior::from_full_covariances()";
  detail::check_floating(means, where, "means");
  detail::require(means.dim() == 2 && means.size(0) >= 1 && means.size(1) >= 1,
                  "{}: expected means of shape [K,n] with K >= 1 and n >= 1, got {}", where,
                  shape_string(means));
  detail::check_floating(covariances, where, "covariances");
  const auto k = means.size(0);
  const auto n = means.size(1);
  detail::require(covariances.dim() == 3 && covariances.size(0) == k &&
                      covariances.size(1) == n && covariances.size(2) == n,
                  "{}: expected covariances of shape [{},{},{}], got {}", where, k, n, n,
                  shape_string(covariances));
  const auto sigma = covariances.to(at::kDouble);
  detail::check_finite(sigma, where, "covariances");
  const double asymmetry = (sigma - sigma.transpose(1, 2)).abs().max().item<double>();
  const double scale = std::max(1.0, sigma.abs().max().item<double>());
  detail::require(asymmetry <= 1e-8 * scale,
                  "{}: expected symmetric covariances, got max |Sigma - Sigma^T| = {}", where,
                  asymmetry);
  auto [eigenvalues, eigenvectors] = at::linalg_eigh(0.5 * (sigma + sigma.transpose(1, 2)));
  const auto smallest = std::get<0>(eigenvalues.min(1));
  for (int64_t c = 0; c < k; ++c) {
    const double value = smallest[c].item<double>();
    detail::require(value > 0.0,
                    "{}: expected positive definite covariances, got covariances[{}] with "
                    "smallest eigenvalue {}",
                    where, c, value);
  }
  return std::make_shared<const GaussianMixturePrior>(
      Parameters{weights, means, eigenvectors, eigenvalues, at::ones({k}, sigma.options()),
                 std::move(event_shape)});
}

std::shared_ptr<const GaussianMixturePrior> GaussianMixturePrior::isotropic(const at::Tensor& mean,
                                                               double variance) {
  constexpr const char* where = "GaussianMixturePrior::isotropic()";
  detail::check_floating(mean, where, "mean");
  detail::require(mean.dim() >= 1 && mean.numel() >= 1,
                  "{}: expected a non-empty mean of the event shape, got {}", where,
                  shape_string(mean));
  detail::require(std::isfinite(variance) && variance > 0.0,
                  "{}: variance = {}. Violated constraint: variance > 0", where, variance);
  const auto options = mean.options().dtype(at::kDouble);
  const auto n = mean.numel();
  return std::make_shared<const GaussianMixturePrior>(
      Parameters{at::ones({1}, options), mean.to(at::kDouble).reshape({1, n}),
                 at::zeros({1, n, 0}, options), at::zeros({1, 0}, options),
                 at::full({1}, variance, options), mean.sizes().vec()});
}

/// is missing or is not such a file, std::invalid_argument when its contents are invalid.
  static std::shared_ptr<const GaussianMixturePrior> GaussianMixturePrior::load(const std::string& path) {
  constexpr const char* where = "GaussianMixturePrior::load()";
  if (!std::ifstream(path).good()) {
    throw std::runtime_error(fmt::format("{}: cannot open '{}'", where, path));
  }
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path);
  } catch (const c10::Error& error) {
    throw std::runtime_error(fmt::format("{}: '{}' is not a readable tensor archive ({})", where,
                                         path, error.what_without_backtrace()));
  }
  const auto read = [&](const char* key) {
    at::Tensor tensor;
    if (!archive.try_read(key, tensor)) {
      throw std::runtime_error(fmt::format(
          "{}: '{}' is not a GaussianMixturePrior file: it lacks '{}'", where, path, key));
    }
    return tensor;
  };
  Parameters parameters{read("weights"),
                        read("means"),
                        read("bases"),
                        read("eigenvalues"),
                        read("residual_variances"),
                        {}};
  const auto shape = read("event_shape").to(at::kLong).contiguous();
  parameters.event_shape.assign(shape.data_ptr<int64_t>(),
                                shape.data_ptr<int64_t>() + shape.numel());
  try {
    return std::make_shared<const GaussianMixturePrior>(std::move(parameters));
  } catch (const std::invalid_argument& error) {
    throw std::invalid_argument(
        fmt::format("{}: '{}' holds an invalid mixture: {}", where, path, error.what()));
  }
}

/// file renamed over `path`: an interrupted save never leaves a half-written file.
  void GaussianMixturePrior::save(const std::string& path) const {
  torch::serialize::OutputArchive archive;
  const auto& p = parameters_;
  archive.write("weights", p.weights.cpu());
  archive.write("means", p.means.cpu());
  archive.write("bases", p.bases.cpu());
  archive.write("eigenvalues", p.eigenvalues.cpu());
  archive.write("residual_variances", p.residual_variances.cpu());
  archive.write("event_shape", at::tensor(p.event_shape, at::kLong));
  const std::string temporary = path + ".tmp";
  try {
    archive.save_to(temporary);
    std::filesystem::rename(temporary, path);
  } catch (const std::exception& error) {
    std::error_code ignored;
    std::filesystem::remove(temporary, ignored);
    throw std::runtime_error(fmt::format("GaussianMixturePrior::save(): cannot write '{}' ({})",
                                         path, error.what()));
  }
}

at::Tensor GaussianMixturePrior::sample(int64_t count, at::Generator& generator) const {
  detail::require(count >= 0, "GaussianMixturePrior::sample(): expected count >= 0, got {}",
                  count);
  const auto& p = parameters_;
  const auto cpu = p.means.options().device(at::kCPU);
  const auto n = dimension();
  const auto components =
      count == 0 ? at::zeros({0}, cpu.dtype(at::kLong))
                 : at::multinomial(p.weights.cpu(), count, /*replacement=*/true, generator);
  const auto low_rank_noise =
      mapinverse::randn({count, rank()}, cpu, generator).to(p.means.device());
  const auto residual_noise =
      full_rank() ? at::Tensor()
                  : mapinverse::randn({count, n}, cpu, generator).to(p.means.device());
  auto samples = at::empty({count, n}, p.means.options());
  const auto on_device = components.to(p.means.device());
  for (int64_t k = 0; k < num_components(); ++k) {
    const auto index = (on_device == k).nonzero().reshape({-1});
    if (index.numel() == 0) continue;
    const auto basis = p.bases[k];
    auto value =
        p.means[k] +
        at::matmul(low_rank_noise.index_select(0, index) * p.eigenvalues[k].sqrt(), basis.t());
    if (!full_rank()) {
      const auto z = residual_noise.index_select(0, index);
      value = value + p.residual_variances[k].sqrt() *
                          (z - at::matmul(at::matmul(z, basis), basis.t()));
    }
    samples.index_copy_(0, index, value);
  }
  return samples.reshape(batched_shape(count));
}

at::Tensor GaussianMixturePrior::covariance() const {
  const auto& p = parameters_;
  const auto m = at::matmul(p.weights, p.means);
  const auto second_moment = at::einsum("k,knm->nm", {p.weights, component_covariances()}) +
                             at::einsum("k,kn,km->nm", {p.weights, p.means, p.means});
  return second_moment - at::outer(m, m);
}

/// step and start: meant for moderate n.
  std::vector<GaussianMixtureMode> GaussianMixturePrior::modes(const MapSearchOptions& options) const {
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

protected:
  at::Tensor GaussianMixturePrior::evaluate(const at::Tensor& x, const at::Tensor& sigma,
                         const at::Tensor& labels) const {
   detail::require(!labels.defined(),
                   "GaussianMixturePrior::denoise(): expected no labels (the prior is "
                   "unconditional), got labels of shape {}",
                   shape_string(labels));
   const auto flat = flatten(x, "GaussianMixturePrior::denoise()");
   const auto variance = sigma.reshape({-1}).to(at::kDouble).square();
   const auto terms = component_terms(flat, variance);
   const auto p = placed(flat.device());
   const auto w = at::softmax(terms.log_joint, 1);
   // mu_k + U_k diag(lambda_k / (lambda_k + sigma^2)) a_k + s_k^2 / (s_k^2 + sigma^2) d_perp_k.
   const auto shrunk = p.eigenvalues.unsqueeze(0) / terms.eigen_variances * terms.projections;
   auto denoised = at::matmul(w, p.means) +
                   at::einsum("bkr,knr->bn", {w.unsqueeze(2) * shrunk, p.bases});
   if (!full_rank()) {
     const auto residual_weight = w * p.residual_variances.unsqueeze(0) / terms.residual_variances;
     denoised = denoised + at::einsum("bk,bkn->bn", {residual_weight, terms.residuals});
   }
   return unflatten(denoised, x);
 }

at::Tensor GaussianMixturePrior::spectral_matrices(const at::Tensor& along_basis,
                                  const at::Tensor& orthogonal) const {
  const auto& p = parameters_;
  const auto isotropic_part = full_rank() ? at::zeros_like(orthogonal) : orthogonal;
  return at::einsum("knr,kr,kmr->knm",
                       {p.bases, along_basis - isotropic_part.unsqueeze(1), p.bases}) +
         isotropic_part.reshape({-1, 1, 1}) * at::eye(dimension(), p.means.options());
}

GaussianMixturePrior::Parameters GaussianMixturePrior::placed(const at::Device& device) const {
  const auto& p = parameters_;
  return {p.weights.to(device),
          p.means.to(device),
          p.bases.to(device),
          p.eigenvalues.to(device),
          p.residual_variances.to(device),
          p.event_shape};
}

GaussianMixturePrior::ComponentTerms GaussianMixturePrior::component_terms(const at::Tensor& x, const at::Tensor& variance) const {
  const auto p = placed(x.device());
  const auto n = dimension();
  const auto v = variance.to(x.device()).reshape({-1, 1});
  ComponentTerms terms;
  const auto d = x.unsqueeze(1) - p.means.unsqueeze(0);
  terms.projections = at::einsum("bkn,knr->bkr", {d, p.bases});
  terms.eigen_variances = p.eigenvalues.unsqueeze(0) + v.unsqueeze(2);
  auto quadratic = (terms.projections.square() / terms.eigen_variances).sum(2);
  auto log_det = terms.eigen_variances.log().sum(2);
  if (!full_rank()) {
    terms.residuals = d - at::einsum("bkr,knr->bkn", {terms.projections, p.bases});
    terms.residual_variances = p.residual_variances.unsqueeze(0) + v;
    quadratic = quadratic + terms.residuals.square().sum(2) / terms.residual_variances;
    log_det = log_det + static_cast<double>(n - rank()) * terms.residual_variances.log();
  }
  terms.log_joint = p.weights.log().unsqueeze(0) -
                    0.5 * (static_cast<double>(n) * kLogTwoPi + log_det + quadratic);
  return terms;
}

at::Tensor GaussianMixturePrior::score_from(const ComponentTerms& terms) const {
  const auto p = placed(terms.log_joint.device());
  const auto w = at::softmax(terms.log_joint, 1);
  auto score = at::einsum(
      "bkr,knr->bn", {w.unsqueeze(2) * terms.projections / terms.eigen_variances, p.bases});
  if (!full_rank()) {
    score = score + at::einsum("bk,bkn->bn", {w / terms.residual_variances, terms.residuals});
  }
  return -score;
}

at::Tensor GaussianMixturePrior::flatten(const at::Tensor& x, const char* where) const {
  detail::check_floating(x, where, "x");
  const auto& shape = event_shape();
  bool matches = x.dim() == static_cast<int64_t>(shape.size()) + 1;
  for (size_t d = 0; matches && d < shape.size(); ++d) {
    matches = x.size(static_cast<int64_t>(d) + 1) == shape[d];
  }
  detail::require(matches, "{}: expected x of shape [B,{}], got {}", where, fmt::join(shape, ","),
                  shape_string(x));
  return x.reshape({x.size(0), dimension()}).to(at::kDouble);
}

at::Tensor GaussianMixturePrior::noise_variance(const at::Tensor& sigma, const at::Tensor& x,
                                      const char* where) {
  const auto values = detail::per_sample(sigma, x, where).reshape({-1}).to(at::kDouble);
  detail::check_finite(values, where, "sigma");
  detail::require((values >= 0).all().item<bool>(), "{}: expected sigma >= 0, got {}", where,
                  values.min().item<double>());
  return values.square();
}

GaussianMixturePrior::Parameters GaussianMixturePrior::validated(Parameters p) {
  constexpr const char* where = "GaussianMixturePrior::GaussianMixturePrior()";
  const auto check = [&](const at::Tensor& tensor, const char* name) {
    detail::check_floating(tensor, where, name);
    detail::check_finite(tensor, where, name);
  };
  check(p.means, "means");
  detail::require(p.means.dim() == 2 && p.means.size(0) >= 1 && p.means.size(1) >= 1,
                  "{}: expected means of shape [K,n] with K >= 1 and n >= 1, got {}", where,
                  shape_string(p.means));
  const auto k = p.means.size(0);
  const auto n = p.means.size(1);
  const auto options = p.means.options().dtype(at::kDouble);
  const auto device = p.means.device();
  const auto to64 = [&](const at::Tensor& tensor) {
    return tensor.to(device, at::kDouble).contiguous();
  };
  p.means = to64(p.means);

  check(p.weights, "weights");
  detail::require(p.weights.dim() == 1 && p.weights.size(0) == k,
                  "{}: expected weights of shape [{}], got {}", where, k,
                  shape_string(p.weights));
  p.weights = to64(p.weights);
  detail::require((p.weights >= 0).all().item<bool>(),
                  "{}: expected weights >= 0, got a weight of {}", where,
                  p.weights.min().item<double>());
  const double total = p.weights.sum().item<double>();
  detail::require(std::abs(total - 1.0) <= 1e-6,
                  "{}: expected weights summing to 1 (within 1e-6), got a sum of {}", where,
                  total);
  p.weights = p.weights / total;

  check(p.bases, "bases");
  detail::require(
      p.bases.dim() == 3 && p.bases.size(0) == k && p.bases.size(1) == n && p.bases.size(2) <= n,
      "{}: expected bases of shape [{},{},r] with r <= {}, got {}", where, k, n, n,
      shape_string(p.bases));
  p.bases = to64(p.bases);
  const auto r = p.bases.size(2);
  const double orthonormality_error =
      r == 0 ? 0.0
             : (at::matmul(p.bases.transpose(1, 2), p.bases) - at::eye(r, options))
                   .abs()
                   .max()
                   .item<double>();
  detail::require(orthonormality_error <= 1e-6,
                  "{}: expected bases with orthonormal columns (within 1e-6), got max "
                  "|U^T U - I| = {}",
                  where, orthonormality_error);

  check(p.eigenvalues, "eigenvalues");
  detail::require(
      p.eigenvalues.dim() == 2 && p.eigenvalues.size(0) == k && p.eigenvalues.size(1) == r,
      "{}: expected eigenvalues of shape [{},{}], got {}", where, k, r,
      shape_string(p.eigenvalues));
  p.eigenvalues = to64(p.eigenvalues);
  detail::require(r == 0 || (p.eigenvalues > 0).all().item<bool>(),
                  "{}: expected eigenvalues > 0, got {}", where,
                  r == 0 ? 0.0 : p.eigenvalues.min().item<double>());

  check(p.residual_variances, "residual_variances");
  detail::require(p.residual_variances.dim() == 1 && p.residual_variances.size(0) == k,
                  "{}: expected residual_variances of shape [{}], got {}", where, k,
                  shape_string(p.residual_variances));
  p.residual_variances = to64(p.residual_variances);
  if (r == n) {
    p.residual_variances = at::ones({k}, options);
  } else {
    detail::require((p.residual_variances > 0).all().item<bool>(),
                    "{}: expected residual_variances > 0 when rank {} < dimension {}, got {}",
                    where, r, n, p.residual_variances.min().item<double>());
  }

  if (p.event_shape.empty()) p.event_shape = {n};
  int64_t event_size = 1;
  for (auto size : p.event_shape) event_size *= size;
  detail::require(std::all_of(p.event_shape.begin(), p.event_shape.end(),
                              [](int64_t size) { return size >= 1; }) &&
                      event_size == n,
                  "{}: expected an event_shape of {} elements, got {}", where, n,
                  shape_string(p.event_shape));
  return p;
}

}  // namespace mapinverse
