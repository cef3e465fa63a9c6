#include "mapinverse/models/gaussian_mixture_prior.hpp"

#include <torch/torch.h>

namespace mapinverse {

std::shared_ptr<const GaussianMixturePrior> GaussianMixturePrior::from_full_covariances(
    const at::Tensor& weights, const at::Tensor& means, const at::Tensor& covariances,
    std::vector<int64_t> event_shape) {
  constexpr const char* where = "GaussianMixturePrior::from_full_covariances()";
  check_floating(means, where, "means");
  require(means.dim() == 2 && means.size(0) >= 1 && means.size(1) >= 1,
          "{}: expected means of shape [K,n] with K >= 1 and n >= 1, got {}", where,
          shape_string(means));
  check_floating(covariances, where, "covariances");
  const auto k = means.size(0);
  const auto n = means.size(1);
  require(covariances.dim() == 3 && covariances.size(0) == k && covariances.size(1) == n &&
              covariances.size(2) == n,
          "{}: expected covariances of shape [{},{},{}], got {}", where, k, n, n,
          shape_string(covariances));
  const auto sigma = covariances.to(at::kDouble);
  check_finite(sigma, where, "covariances");
  const double asymmetry = (sigma - sigma.transpose(1, 2)).abs().max().item<double>();
  const double scale = std::max(1.0, sigma.abs().max().item<double>());
  require(asymmetry <= 1e-8 * scale,
          "{}: expected symmetric covariances, got max |Sigma - Sigma^T| = {}", where, asymmetry);
  auto [eigenvalues, eigenvectors] = at::linalg_eigh(0.5 * (sigma + sigma.transpose(1, 2)));
  const auto smallest = std::get<0>(eigenvalues.min(1));
  for (int64_t c = 0; c < k; ++c) {
    const double value = smallest[c].item<double>();
    require(value > 0.0,
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
  check_floating(mean, where, "mean");
  require(mean.dim() >= 1 && mean.numel() >= 1,
          "{}: expected a non-empty mean of the event shape, got {}", where, shape_string(mean));
  require(std::isfinite(variance) && variance > 0.0,
          "{}: variance = {}. Violated constraint: variance > 0", where, variance);
  const auto options = mean.options().dtype(at::kDouble);
  const auto n = mean.numel();
  return std::make_shared<const GaussianMixturePrior>(Parameters{
      at::ones({1}, options), mean.to(at::kDouble).reshape({1, n}), at::zeros({1, n, 0}, options),
      at::zeros({1, 0}, options), at::full({1}, variance, options), mean.sizes().vec()});
}

at::Tensor GaussianMixturePrior::component_covariances() const {
  return spectral_matrices(parameters_.eigenvalues, parameters_.residual_variances);
}

at::Tensor GaussianMixturePrior::component_precisions() const {
  return spectral_matrices(parameters_.eigenvalues.reciprocal(),
                           parameters_.residual_variances.reciprocal());
}

at::Tensor GaussianMixturePrior::score(const at::Tensor& x, const at::Tensor& sigma) const {
  const auto flat = flatten(x, "GaussianMixturePrior::score()");
  const auto terms =
      component_terms(flat, noise_variance(sigma, x, "GaussianMixturePrior::score()"));
  return unflatten(score_from(terms), x);
}

at::Tensor GaussianMixturePrior::score(const at::Tensor& x, double sigma) const {
  return score(x, at::scalar_tensor(sigma, at::kDouble));
}

at::Tensor GaussianMixturePrior::log_density(const at::Tensor& x, const at::Tensor& sigma) const {
  const auto flat = flatten(x, "GaussianMixturePrior::log_density()");
  const auto terms =
      component_terms(flat, noise_variance(sigma, x, "GaussianMixturePrior::log_density()"));
  return at::logsumexp(terms.log_joint, {1}).to(x.scalar_type());
}

at::Tensor GaussianMixturePrior::log_density(const at::Tensor& x, double sigma) const {
  return log_density(x, at::scalar_tensor(sigma, at::kDouble));
}

at::Tensor GaussianMixturePrior::sample(int64_t count, at::Generator& generator) const {
  require(count >= 0, "GaussianMixturePrior::sample(): expected count >= 0, got {}", count);
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
      value = value +
              p.residual_variances[k].sqrt() * (z - at::matmul(at::matmul(z, basis), basis.t()));
    }
    samples.index_copy_(0, index, value);
  }
  return samples.reshape(batched_shape(count));
}

at::Tensor GaussianMixturePrior::mean() const {
  return at::matmul(parameters_.weights, parameters_.means).reshape(event_shape());
}

at::Tensor GaussianMixturePrior::covariance() const {
  const auto& p = parameters_;
  const auto m = at::matmul(p.weights, p.means);
  const auto second_moment = at::einsum("k,knm->nm", {p.weights, component_covariances()}) +
                             at::einsum("k,kn,km->nm", {p.weights, p.means, p.means});
  return second_moment - at::outer(m, m);
}

at::Tensor GaussianMixturePrior::evaluate(const at::Tensor& x, const at::Tensor& sigma,
                                          const at::Tensor& labels) const {
  require(!labels.defined(),
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
  auto denoised =
      at::matmul(w, p.means) + at::einsum("bkr,knr->bn", {w.unsqueeze(2) * shrunk, p.bases});
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

GaussianMixturePrior::ComponentTerms GaussianMixturePrior::component_terms(
    const at::Tensor& x, const at::Tensor& variance) const {
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
  auto score = at::einsum("bkr,knr->bn",
                          {w.unsqueeze(2) * terms.projections / terms.eigen_variances, p.bases});
  if (!full_rank()) {
    score = score + at::einsum("bk,bkn->bn", {w / terms.residual_variances, terms.residuals});
  }
  return -score;
}

std::vector<int64_t> GaussianMixturePrior::batched_shape(int64_t batch) const {
  std::vector<int64_t> shape{batch};
  shape.insert(shape.end(), event_shape().begin(), event_shape().end());
  return shape;
}

at::Tensor GaussianMixturePrior::flatten(const at::Tensor& x, const char* where) const {
  check_floating(x, where, "x");
  const auto& shape = event_shape();
  bool matches = x.dim() == static_cast<int64_t>(shape.size()) + 1;
  for (size_t d = 0; matches && d < shape.size(); ++d) {
    matches = x.size(static_cast<int64_t>(d) + 1) == shape[d];
  }
  require(matches, "{}: expected x of shape [B,{}], got {}", where, fmt::join(shape, ","),
          shape_string(x));
  return x.reshape({x.size(0), dimension()}).to(at::kDouble);
}

at::Tensor GaussianMixturePrior::unflatten(const at::Tensor& flat, const at::Tensor& like) const {
  return flat.reshape(like.sizes()).to(like.scalar_type());
}

at::Tensor GaussianMixturePrior::noise_variance(const at::Tensor& sigma, const at::Tensor& x,
                                                const char* where) {
  const auto values = per_sample(sigma, x, where).reshape({-1}).to(at::kDouble);
  check_finite(values, where, "sigma");
  require((values >= 0).all().item<bool>(), "{}: expected sigma >= 0, got {}", where,
          values.min().item<double>());
  return values.square();
}

GaussianMixturePrior::Parameters GaussianMixturePrior::validated(Parameters p) {
  constexpr const char* where = "GaussianMixturePrior::GaussianMixturePrior()";
  const auto check = [&](const at::Tensor& tensor, const char* name) {
    check_floating(tensor, where, name);
    check_finite(tensor, where, name);
  };
  check(p.means, "means");
  require(p.means.dim() == 2 && p.means.size(0) >= 1 && p.means.size(1) >= 1,
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
  require(p.weights.dim() == 1 && p.weights.size(0) == k,
          "{}: expected weights of shape [{}], got {}", where, k, shape_string(p.weights));
  p.weights = to64(p.weights);
  require((p.weights >= 0).all().item<bool>(), "{}: expected weights >= 0, got a weight of {}",
          where, p.weights.min().item<double>());
  const double total = p.weights.sum().item<double>();
  require(std::abs(total - 1.0) <= 1e-6,
          "{}: expected weights summing to 1 (within 1e-6), got a sum of {}", where, total);
  p.weights = p.weights / total;

  check(p.bases, "bases");
  require(
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
  require(orthonormality_error <= 1e-6,
          "{}: expected bases with orthonormal columns (within 1e-6), got max "
          "|U^T U - I| = {}",
          where, orthonormality_error);

  check(p.eigenvalues, "eigenvalues");
  require(p.eigenvalues.dim() == 2 && p.eigenvalues.size(0) == k && p.eigenvalues.size(1) == r,
          "{}: expected eigenvalues of shape [{},{}], got {}", where, k, r,
          shape_string(p.eigenvalues));
  p.eigenvalues = to64(p.eigenvalues);
  require(r == 0 || (p.eigenvalues > 0).all().item<bool>(), "{}: expected eigenvalues > 0, got {}",
          where, r == 0 ? 0.0 : p.eigenvalues.min().item<double>());

  check(p.residual_variances, "residual_variances");
  require(p.residual_variances.dim() == 1 && p.residual_variances.size(0) == k,
          "{}: expected residual_variances of shape [{}], got {}", where, k,
          shape_string(p.residual_variances));
  p.residual_variances = to64(p.residual_variances);
  if (r == n) {
    p.residual_variances = at::ones({k}, options);
  } else {
    require((p.residual_variances > 0).all().item<bool>(),
            "{}: expected residual_variances > 0 when rank {} < dimension {}, got {}", where, r, n,
            p.residual_variances.min().item<double>());
  }

  if (p.event_shape.empty()) p.event_shape = {n};
  int64_t event_size = 1;
  for (auto size : p.event_shape) event_size *= size;
  require(std::all_of(p.event_shape.begin(), p.event_shape.end(),
                      [](int64_t size) { return size >= 1; }) &&
              event_size == n,
          "{}: expected an event_shape of {} elements, got {}", where, n,
          shape_string(p.event_shape));
  return p;
}

}  // namespace mapinverse
