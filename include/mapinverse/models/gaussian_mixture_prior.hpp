#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/torch.h>

#include "mapinverse/core/error.hpp"
#include "mapinverse/core/random.hpp"
#include "mapinverse/core/tensor_checks.hpp"
#include "mapinverse/models/denoiser.hpp"

namespace mapinverse {

/// Options of the mode search of a Gaussian mixture: the fixed-point iteration
/// x <- (sum_k w_k(x) P_k)^{-1} sum_k w_k(x) P_k mu_k, P_k = Sigma_k^{-1}, w_k(x) the
/// responsibilities (Carreira-Perpinan 2000, "Mode-finding for mixtures of Gaussian
/// distributions"), started from every component mean. Each step is the gradient of
/// log p preconditioned by sum_k w_k P_k; it is halved until log p does not decrease.
struct MapSearchOptions {
  /// Fixed-point steps per start. Must be >= 1.
  int64_t max_iterations = 500;
  /// A start has converged when its step's max-norm is <= tolerance * (1 + max|x|).
  /// Must be > 0.
  double tolerance = 1e-10;
  /// Two modes closer (max-norm) than merge_tolerance * (1 + max|x|) are reported once.
  /// Must be > 0.
  double merge_tolerance = 1e-6;

  void validate() const {
    detail::require(max_iterations >= 1,
                    "MapSearchOptions::max_iterations = {}. Violated constraint: "
                    "max_iterations >= 1",
                    max_iterations);
    detail::require(std::isfinite(tolerance) && tolerance > 0.0,
                    "MapSearchOptions::tolerance = {}. Violated constraint: tolerance > 0",
                    tolerance);
    detail::require(std::isfinite(merge_tolerance) && merge_tolerance > 0.0,
                    "MapSearchOptions::merge_tolerance = {}. Violated constraint: "
                    "merge_tolerance > 0",
                    merge_tolerance);
  }
};

/// A local maximum of a mixture density found by the mode search.
struct GaussianMixtureMode {
  /// The mode, shaped like one sample (the event shape), float64.
  torch::Tensor point;
  /// log p(point), exact.
  double log_density = 0.0;
  /// The component whose mean the search started from.
  int64_t start_component = 0;
  /// Fixed-point steps taken.
  int64_t iterations = 0;
  /// Whether the step fell below MapSearchOptions::tolerance within max_iterations.
  bool converged = false;
};

/// The analytic prior p(x) = sum_k pi_k N(x; mu_k, Sigma_k) over x in R^n (DESIGN.md §3),
/// with every covariance in eigen form
///   Sigma_k = U_k diag(lambda_k) U_k^T + s_k^2 (I - U_k U_k^T),  U_k in R^{n x r}, U_k^T U_k = I.
/// r = n is a full covariance (s_k unused); r < n is a rank-r PCA plus an isotropic
/// residual, which keeps image-sized n cheap: one evaluation costs O(B K n r).
/// As a Denoiser it is exact: D(x, sigma) = E[x0 | x0 + sigma n = x] =
///   sum_k w_k(x) [mu_k + Sigma_k (Sigma_k + sigma^2 I)^{-1} (x - mu_k)],
///   w_k(x) proportional to pi_k N(x; mu_k, Sigma_k + sigma^2 I).
/// Parameters are kept in float64 on the device they were given on; every result follows
/// the dtype and device of its input (the parameters are copied per call when the devices
/// differ). Built by the constructor, from_full_covariances(), isotropic(), load() or
/// fit_gaussian_mixture().
class GaussianMixturePrior final : public Denoiser {
 public:
  /// The mixture's parameters. K components, dimension n, rank r (0 <= r <= n).
  struct Parameters {
    /// pi, [K]: >= 0 and summing to 1 within 1e-6 (renormalised on construction).
    torch::Tensor weights;
    /// mu, [K, n].
    torch::Tensor means;
    /// U, [K, n, r] with orthonormal columns (within 1e-6).
    torch::Tensor bases;
    /// lambda, [K, r], > 0: the variances along the columns of U.
    torch::Tensor eigenvalues;
    /// s^2, [K]: the variance in the orthogonal complement of U; > 0 when r < n,
    /// ignored when r = n.
    torch::Tensor residual_variances;
    /// The shape of one sample (e.g. {1, 28, 28}); empty means {n}.
    std::vector<int64_t> event_shape;
  };

  explicit GaussianMixturePrior(Parameters parameters)
      : parameters_(validated(std::move(parameters))) {}

  /// Full covariances [K, n, n] (symmetric positive definite), eigendecomposed.
  static std::shared_ptr<const GaussianMixturePrior> from_full_covariances(
      const torch::Tensor& weights, const torch::Tensor& means, const torch::Tensor& covariances,
      std::vector<int64_t> event_shape = {}) {
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
    const auto sigma = covariances.to(torch::kFloat64);
    detail::check_finite(sigma, where, "covariances");
    const double asymmetry = (sigma - sigma.transpose(1, 2)).abs().max().item<double>();
    const double scale = std::max(1.0, sigma.abs().max().item<double>());
    detail::require(asymmetry <= 1e-8 * scale,
                    "{}: expected symmetric covariances, got max |Sigma - Sigma^T| = {}", where,
                    asymmetry);
    auto [eigenvalues, eigenvectors] = torch::linalg_eigh(0.5 * (sigma + sigma.transpose(1, 2)));
    const auto smallest = std::get<0>(eigenvalues.min(1));
    for (int64_t c = 0; c < k; ++c) {
      const double value = smallest[c].item<double>();
      detail::require(value > 0.0,
                      "{}: expected positive definite covariances, got covariances[{}] with "
                      "smallest eigenvalue {}",
                      where, c, value);
    }
    return std::make_shared<const GaussianMixturePrior>(
        Parameters{weights, means, eigenvectors, eigenvalues, torch::ones({k}, sigma.options()),
                   std::move(event_shape)});
  }

  /// The single Gaussian N(mean, variance I); `mean` is one sample (its shape is the
  /// event shape).
  static std::shared_ptr<const GaussianMixturePrior> isotropic(const torch::Tensor& mean,
                                                               double variance) {
    constexpr const char* where = "GaussianMixturePrior::isotropic()";
    detail::check_floating(mean, where, "mean");
    detail::require(mean.dim() >= 1 && mean.numel() >= 1,
                    "{}: expected a non-empty mean of the event shape, got {}", where,
                    shape_string(mean));
    detail::require(std::isfinite(variance) && variance > 0.0,
                    "{}: variance = {}. Violated constraint: variance > 0", where, variance);
    const auto options = mean.options().dtype(torch::kFloat64);
    const auto n = mean.numel();
    return std::make_shared<const GaussianMixturePrior>(
        Parameters{torch::ones({1}, options), mean.to(torch::kFloat64).reshape({1, n}),
                   torch::zeros({1, n, 0}, options), torch::zeros({1, 0}, options),
                   torch::full({1}, variance, options), mean.sizes().vec()});
  }

  /// Reads a mixture written by save(). Throws std::runtime_error naming the file when it
  /// is missing or is not such a file, std::invalid_argument when its contents are invalid.
  static std::shared_ptr<const GaussianMixturePrior> load(const std::string& path) {
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
      torch::Tensor tensor;
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
    const auto shape = read("event_shape").to(torch::kInt64).contiguous();
    parameters.event_shape.assign(shape.data_ptr<int64_t>(),
                                  shape.data_ptr<int64_t>() + shape.numel());
    try {
      return std::make_shared<const GaussianMixturePrior>(std::move(parameters));
    } catch (const std::invalid_argument& error) {
      throw std::invalid_argument(
          fmt::format("{}: '{}' holds an invalid mixture: {}", where, path, error.what()));
    }
  }

  /// Writes the parameters (on the CPU) as a torch tensor archive, through a temporary
  /// file renamed over `path`: an interrupted save never leaves a half-written file.
  void save(const std::string& path) const {
    torch::serialize::OutputArchive archive;
    const auto& p = parameters_;
    archive.write("weights", p.weights.cpu());
    archive.write("means", p.means.cpu());
    archive.write("bases", p.bases.cpu());
    archive.write("eigenvalues", p.eigenvalues.cpu());
    archive.write("residual_variances", p.residual_variances.cpu());
    archive.write("event_shape", torch::tensor(p.event_shape, torch::kInt64));
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

  int64_t num_components() const { return parameters_.means.size(0); }
  /// n, the number of scalars in one sample.
  int64_t dimension() const { return parameters_.means.size(1); }
  int64_t rank() const { return parameters_.bases.size(2); }
  const std::vector<int64_t>& event_shape() const { return parameters_.event_shape; }
  /// The validated float64 parameters (weights renormalised, event_shape filled in).
  const Parameters& parameters() const { return parameters_; }

  /// Dense Sigma_k, [K, n, n], float64.
  torch::Tensor component_covariances() const {
    return spectral_matrices(parameters_.eigenvalues, parameters_.residual_variances);
  }

  /// Dense precisions P_k = Sigma_k^{-1}, [K, n, n], float64.
  torch::Tensor component_precisions() const {
    return spectral_matrices(parameters_.eigenvalues.reciprocal(),
                             parameters_.residual_variances.reciprocal());
  }

  /// grad_x log p_sigma(x), p_sigma = p * N(0, sigma^2 I); x: [B, event...]; sigma: a
  /// scalar or [B], >= 0. Exact, also at sigma = 0.
  torch::Tensor score(const torch::Tensor& x, const torch::Tensor& sigma) const {
    const auto flat = flatten(x, "GaussianMixturePrior::score()");
    const auto terms =
        component_terms(flat, noise_variance(sigma, x, "GaussianMixturePrior::score()"));
    return unflatten(score_from(terms), x);
  }

  torch::Tensor score(const torch::Tensor& x, double sigma = 0.0) const {
    return score(x, torch::scalar_tensor(sigma, torch::kFloat64));
  }

  /// log p_sigma(x), [B], including every normalising constant; x: [B, event...];
  /// sigma: a scalar or [B], >= 0.
  torch::Tensor log_density(const torch::Tensor& x, const torch::Tensor& sigma) const {
    const auto flat = flatten(x, "GaussianMixturePrior::log_density()");
    const auto terms =
        component_terms(flat, noise_variance(sigma, x, "GaussianMixturePrior::log_density()"));
    return torch::logsumexp(terms.log_joint, {1}).to(x.scalar_type());
  }

  torch::Tensor log_density(const torch::Tensor& x, double sigma = 0.0) const {
    return log_density(x, torch::scalar_tensor(sigma, torch::kFloat64));
  }

  /// `count` independent samples, [count, event...], float64 on the parameters' device.
  /// The component indices, then the low-rank and residual noise are drawn in this order
  /// from `generator` (on the CPU), so a seed fixes the samples.
  torch::Tensor sample(int64_t count, torch::Generator& generator) const {
    detail::require(count >= 0, "GaussianMixturePrior::sample(): expected count >= 0, got {}",
                    count);
    const auto& p = parameters_;
    const auto cpu = p.means.options().device(torch::kCPU);
    const auto n = dimension();
    const auto components =
        count == 0 ? torch::zeros({0}, cpu.dtype(torch::kInt64))
                   : torch::multinomial(p.weights.cpu(), count, /*replacement=*/true, generator);
    const auto low_rank_noise =
        mapinverse::randn({count, rank()}, cpu, generator).to(p.means.device());
    const auto residual_noise =
        full_rank() ? torch::Tensor()
                    : mapinverse::randn({count, n}, cpu, generator).to(p.means.device());
    auto samples = torch::empty({count, n}, p.means.options());
    const auto on_device = components.to(p.means.device());
    for (int64_t k = 0; k < num_components(); ++k) {
      const auto index = (on_device == k).nonzero().reshape({-1});
      if (index.numel() == 0) continue;
      const auto basis = p.bases[k];
      auto value =
          p.means[k] +
          torch::matmul(low_rank_noise.index_select(0, index) * p.eigenvalues[k].sqrt(), basis.t());
      if (!full_rank()) {
        const auto z = residual_noise.index_select(0, index);
        value = value + p.residual_variances[k].sqrt() *
                            (z - torch::matmul(torch::matmul(z, basis), basis.t()));
      }
      samples.index_copy_(0, index, value);
    }
    return samples.reshape(batched_shape(count));
  }

  /// E[x], shaped like one sample, float64.
  torch::Tensor mean() const {
    return torch::matmul(parameters_.weights, parameters_.means).reshape(event_shape());
  }

  /// Cov[x], dense [n, n], float64 (O(K n^2) memory: meant for small n).
  torch::Tensor covariance() const {
    const auto& p = parameters_;
    const auto m = torch::matmul(p.weights, p.means);
    const auto second_moment = torch::einsum("k,knm->nm", {p.weights, component_covariances()}) +
                               torch::einsum("k,kn,km->nm", {p.weights, p.means, p.means});
    return second_moment - torch::outer(m, m);
  }

  /// The modes reached from every component mean, deduplicated, sorted by decreasing
  /// log-density (the first is the MAP estimate among them). Costs O(K n^2 + n^3) per
  /// step and start: meant for moderate n.
  std::vector<GaussianMixtureMode> modes(const MapSearchOptions& options = {}) const {
    options.validate();
    torch::NoGradGuard no_grad;
    const auto& p = parameters_;
    const auto zero_variance = torch::zeros({1}, p.means.options());
    const auto precisions = component_precisions();
    const auto precision_means = torch::einsum("knm,km->kn", {precisions, p.means});
    const auto joint_at = [&](const torch::Tensor& points) {
      return component_terms(points, zero_variance).log_joint;
    };
    const auto starts = num_components();
    auto x = p.means.clone();
    auto joint = joint_at(x);
    auto log_p = torch::logsumexp(joint, {1});
    auto active = torch::ones({starts}, p.means.options().dtype(torch::kBool));
    auto iterations = torch::zeros({starts}, p.means.options().dtype(torch::kInt64));
    for (int64_t step = 0; step < options.max_iterations && active.any().item<bool>(); ++step) {
      const auto w = torch::softmax(joint, 1);
      const auto system = torch::einsum("sk,knm->snm", {w, precisions});
      const auto rhs = torch::matmul(w, precision_means).unsqueeze(2);
      auto proposal = torch::cholesky_solve(rhs, torch::linalg_cholesky(system)).squeeze(2);
      auto proposal_joint = joint_at(proposal);
      auto proposal_log_p = torch::logsumexp(proposal_joint, {1});
      // The step is an ascent direction, so halving it eventually increases log p; the
      // slack absorbs rounding once the iteration has converged.
      for (int64_t halving = 0; halving < kMaxStepHalvings; ++halving) {
        const auto decreased = proposal_log_p < log_p - 1e-12 * (1.0 + log_p.abs());
        if (!decreased.any().item<bool>()) break;
        proposal = torch::where(decreased.unsqueeze(1), 0.5 * (x + proposal), proposal);
        proposal_joint = joint_at(proposal);
        proposal_log_p = torch::logsumexp(proposal_joint, {1});
      }
      const auto step_size = (proposal - x).abs().amax(1);
      x = torch::where(active.unsqueeze(1), proposal, x);
      joint = torch::where(active.unsqueeze(1), proposal_joint, joint);
      log_p = torch::where(active, proposal_log_p, log_p);
      iterations = iterations + active.to(torch::kInt64);
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
  torch::Tensor evaluate(const torch::Tensor& x, const torch::Tensor& sigma,
                         const torch::Tensor& labels) const override {
    detail::require(!labels.defined(),
                    "GaussianMixturePrior::denoise(): expected no labels (the prior is "
                    "unconditional), got labels of shape {}",
                    shape_string(labels));
    const auto flat = flatten(x, "GaussianMixturePrior::denoise()");
    const auto variance = sigma.reshape({-1}).to(torch::kFloat64).square();
    const auto terms = component_terms(flat, variance);
    const auto p = placed(flat.device());
    const auto w = torch::softmax(terms.log_joint, 1);
    // mu_k + U_k diag(lambda_k / (lambda_k + sigma^2)) a_k + s_k^2 / (s_k^2 + sigma^2) d_perp_k.
    const auto shrunk = p.eigenvalues.unsqueeze(0) / terms.eigen_variances * terms.projections;
    auto denoised = torch::matmul(w, p.means) +
                    torch::einsum("bkr,knr->bn", {w.unsqueeze(2) * shrunk, p.bases});
    if (!full_rank()) {
      const auto residual_weight = w * p.residual_variances.unsqueeze(0) / terms.residual_variances;
      denoised = denoised + torch::einsum("bk,bkn->bn", {residual_weight, terms.residuals});
    }
    return unflatten(denoised, x);
  }

 private:
  /// The per-component pieces of one evaluation at noise variance v: with d_k = x - mu_k,
  /// a_k = U_k^T d_k and d_perp_k = d_k - U_k a_k,
  /// log N(x; mu_k, Sigma_k + v I) = -(n log 2 pi + sum log(lambda_k + v)
  ///   + (n - r) log(s_k^2 + v) + sum a_k^2 / (lambda_k + v) + |d_perp_k|^2 / (s_k^2 + v)) / 2.
  struct ComponentTerms {
    torch::Tensor log_joint;           // [B, K]: log pi_k + log N(x; mu_k, Sigma_k + v I)
    torch::Tensor projections;         // a, [B, K, r]
    torch::Tensor eigen_variances;     // lambda + v, [B or 1, K, r]
    torch::Tensor residuals;           // d_perp, [B, K, n]; undefined when r = n
    torch::Tensor residual_variances;  // s^2 + v, [B or 1, K]; undefined when r = n
  };

  static constexpr int64_t kMaxStepHalvings = 60;
  static constexpr double kLogTwoPi = 1.83787706640934548356;

  bool full_rank() const { return rank() == dimension(); }

  /// U_k diag(along_basis_k) U_k^T + orthogonal_k (I - U_k U_k^T), [K, n, n]: the matrices
  /// sharing the eigenvectors of the covariances (orthogonal is unused when r = n).
  torch::Tensor spectral_matrices(const torch::Tensor& along_basis,
                                  const torch::Tensor& orthogonal) const {
    const auto& p = parameters_;
    const auto isotropic_part = full_rank() ? torch::zeros_like(orthogonal) : orthogonal;
    return torch::einsum("knr,kr,kmr->knm",
                         {p.bases, along_basis - isotropic_part.unsqueeze(1), p.bases}) +
           isotropic_part.reshape({-1, 1, 1}) * torch::eye(dimension(), p.means.options());
  }

  /// The parameters on `device` (no copy when they already live there).
  Parameters placed(const torch::Device& device) const {
    const auto& p = parameters_;
    return {p.weights.to(device),
            p.means.to(device),
            p.bases.to(device),
            p.eigenvalues.to(device),
            p.residual_variances.to(device),
            p.event_shape};
  }

  /// x: [B, n] float64; variance: [B] or [1] float64 on x's device.
  ComponentTerms component_terms(const torch::Tensor& x, const torch::Tensor& variance) const {
    const auto p = placed(x.device());
    const auto n = dimension();
    const auto v = variance.to(x.device()).reshape({-1, 1});
    ComponentTerms terms;
    const auto d = x.unsqueeze(1) - p.means.unsqueeze(0);
    terms.projections = torch::einsum("bkn,knr->bkr", {d, p.bases});
    terms.eigen_variances = p.eigenvalues.unsqueeze(0) + v.unsqueeze(2);
    auto quadratic = (terms.projections.square() / terms.eigen_variances).sum(2);
    auto log_det = terms.eigen_variances.log().sum(2);
    if (!full_rank()) {
      terms.residuals = d - torch::einsum("bkr,knr->bkn", {terms.projections, p.bases});
      terms.residual_variances = p.residual_variances.unsqueeze(0) + v;
      quadratic = quadratic + terms.residuals.square().sum(2) / terms.residual_variances;
      log_det = log_det + static_cast<double>(n - rank()) * terms.residual_variances.log();
    }
    terms.log_joint = p.weights.log().unsqueeze(0) -
                      0.5 * (static_cast<double>(n) * kLogTwoPi + log_det + quadratic);
    return terms;
  }

  /// -sum_k w_k (Sigma_k + v I)^{-1} (x - mu_k), [B, n].
  torch::Tensor score_from(const ComponentTerms& terms) const {
    const auto p = placed(terms.log_joint.device());
    const auto w = torch::softmax(terms.log_joint, 1);
    auto score = torch::einsum(
        "bkr,knr->bn", {w.unsqueeze(2) * terms.projections / terms.eigen_variances, p.bases});
    if (!full_rank()) {
      score = score + torch::einsum("bk,bkn->bn", {w / terms.residual_variances, terms.residuals});
    }
    return -score;
  }

  std::vector<int64_t> batched_shape(int64_t batch) const {
    std::vector<int64_t> shape{batch};
    shape.insert(shape.end(), event_shape().begin(), event_shape().end());
    return shape;
  }

  /// [B, event...] -> [B, n] float64; throws naming `where` on any other shape.
  torch::Tensor flatten(const torch::Tensor& x, const char* where) const {
    detail::check_floating(x, where, "x");
    const auto& shape = event_shape();
    bool matches = x.dim() == static_cast<int64_t>(shape.size()) + 1;
    for (size_t d = 0; matches && d < shape.size(); ++d) {
      matches = x.size(static_cast<int64_t>(d) + 1) == shape[d];
    }
    detail::require(matches, "{}: expected x of shape [B,{}], got {}", where, fmt::join(shape, ","),
                    shape_string(x));
    return x.reshape({x.size(0), dimension()}).to(torch::kFloat64);
  }

  torch::Tensor unflatten(const torch::Tensor& flat, const torch::Tensor& like) const {
    return flat.reshape(like.sizes()).to(like.scalar_type());
  }

  /// sigma (a scalar or [B], finite, >= 0) -> sigma^2 as [B] or [1] float64 on x's device.
  static torch::Tensor noise_variance(const torch::Tensor& sigma, const torch::Tensor& x,
                                      const char* where) {
    const auto values = detail::per_sample(sigma, x, where).reshape({-1}).to(torch::kFloat64);
    detail::check_finite(values, where, "sigma");
    detail::require((values >= 0).all().item<bool>(), "{}: expected sigma >= 0, got {}", where,
                    values.min().item<double>());
    return values.square();
  }

  static Parameters validated(Parameters p) {
    constexpr const char* where = "GaussianMixturePrior::GaussianMixturePrior()";
    const auto check = [&](const torch::Tensor& tensor, const char* name) {
      detail::check_floating(tensor, where, name);
      detail::check_finite(tensor, where, name);
    };
    check(p.means, "means");
    detail::require(p.means.dim() == 2 && p.means.size(0) >= 1 && p.means.size(1) >= 1,
                    "{}: expected means of shape [K,n] with K >= 1 and n >= 1, got {}", where,
                    shape_string(p.means));
    const auto k = p.means.size(0);
    const auto n = p.means.size(1);
    const auto options = p.means.options().dtype(torch::kFloat64);
    const auto device = p.means.device();
    const auto to64 = [&](const torch::Tensor& tensor) {
      return tensor.to(device, torch::kFloat64).contiguous();
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
               : (torch::matmul(p.bases.transpose(1, 2), p.bases) - torch::eye(r, options))
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
      p.residual_variances = torch::ones({k}, options);
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

  Parameters parameters_;
};

}  // namespace mapinverse
