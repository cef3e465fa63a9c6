#pragma once

#include <cmath>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include "mapinverse/core/tensor.hpp"

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
    require(max_iterations >= 1,
            "MapSearchOptions::max_iterations = {}. Violated constraint: "
            "max_iterations >= 1",
            max_iterations);
    require(std::isfinite(tolerance) && tolerance > 0.0,
            "MapSearchOptions::tolerance = {}. Violated constraint: tolerance > 0", tolerance);
    require(std::isfinite(merge_tolerance) && merge_tolerance > 0.0,
            "MapSearchOptions::merge_tolerance = {}. Violated constraint: "
            "merge_tolerance > 0",
            merge_tolerance);
  }
};

/// A local maximum of a mixture density found by the mode search.
struct GaussianMixtureMode {
  /// The mode, shaped like one sample (the event shape), float64.
  at::Tensor point;
  /// log p(point), exact.
  double log_density = 0.0;
  /// The component whose mean the search started from.
  int64_t start_component = 0;
  /// Fixed-point steps taken.
  int64_t iterations = 0;
  /// Whether the step fell below MapSearchOptions::tolerance within max_iterations.
  bool converged = false;
};

/// The analytic prior p(x) = sum_k pi_k N(x; mu_k, Sigma_k) over x in R^n (docs/design.md §3),
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
    at::Tensor weights;
    /// mu, [K, n].
    at::Tensor means;
    /// U, [K, n, r] with orthonormal columns (within 1e-6).
    at::Tensor bases;
    /// lambda, [K, r], > 0: the variances along the columns of U.
    at::Tensor eigenvalues;
    /// s^2, [K]: the variance in the orthogonal complement of U; > 0 when r < n,
    /// ignored when r = n.
    at::Tensor residual_variances;
    /// The shape of one sample (e.g. {1, 28, 28}); empty means {n}.
    std::vector<int64_t> event_shape;
  };

  explicit GaussianMixturePrior(Parameters parameters)
      : parameters_(validated(std::move(parameters))) {}

  /// Full covariances [K, n, n] (symmetric positive definite), eigendecomposed.
  static std::shared_ptr<const GaussianMixturePrior> from_full_covariances(
      const at::Tensor& weights, const at::Tensor& means, const at::Tensor& covariances,
      std::vector<int64_t> event_shape = {});

  /// The single Gaussian N(mean, variance I); `mean` is one sample (its shape is the
  /// event shape).
  static std::shared_ptr<const GaussianMixturePrior> isotropic(const at::Tensor& mean,
                                                               double variance);

  /// Reads a mixture written by save(). Throws std::runtime_error naming the file when it
  /// is missing or is not such a file, std::invalid_argument when its contents are invalid.
  static std::shared_ptr<const GaussianMixturePrior> load(const std::string& path);

  /// Writes the parameters (on the CPU) as a torch tensor archive, through a temporary
  /// file renamed over `path`: an interrupted save never leaves a half-written file.
  void save(const std::string& path) const;

  int64_t num_components() const { return parameters_.means.size(0); }
  /// n, the number of scalars in one sample.
  int64_t dimension() const { return parameters_.means.size(1); }
  int64_t rank() const { return parameters_.bases.size(2); }
  const std::vector<int64_t>& event_shape() const { return parameters_.event_shape; }
  /// The validated float64 parameters (weights renormalised, event_shape filled in).
  const Parameters& parameters() const { return parameters_; }

  /// Dense Sigma_k, [K, n, n], float64.
  at::Tensor component_covariances() const;

  /// Dense precisions P_k = Sigma_k^{-1}, [K, n, n], float64.
  at::Tensor component_precisions() const;

  /// grad_x log p_sigma(x), p_sigma = p * N(0, sigma^2 I); x: [B, event...]; sigma: a
  /// scalar or [B], >= 0. Exact, also at sigma = 0.
  at::Tensor score(const at::Tensor& x, const at::Tensor& sigma) const;

  at::Tensor score(const at::Tensor& x, double sigma = 0.0) const;

  /// log p_sigma(x), [B], including every normalising constant; x: [B, event...];
  /// sigma: a scalar or [B], >= 0.
  at::Tensor log_density(const at::Tensor& x, const at::Tensor& sigma) const;

  at::Tensor log_density(const at::Tensor& x, double sigma = 0.0) const;

  /// `count` independent samples, [count, event...], float64 on the parameters' device.
  /// The component indices, then the low-rank and residual noise are drawn in this order
  /// from `generator` (on the CPU), so a seed fixes the samples.
  at::Tensor sample(int64_t count, at::Generator& generator) const;

  /// E[x], shaped like one sample, float64.
  at::Tensor mean() const;

  /// Cov[x], dense [n, n], float64 (O(K n^2) memory: meant for small n).
  at::Tensor covariance() const;

  /// The modes reached from every component mean, deduplicated, sorted by decreasing
  /// log-density (the first is the MAP estimate among them). Costs O(K n^2 + n^3) per
  /// step and start: meant for moderate n.
  std::vector<GaussianMixtureMode> modes(const MapSearchOptions& options = {}) const;

 protected:
  at::Tensor evaluate(const at::Tensor& x, const at::Tensor& sigma,
                      const at::Tensor& labels) const override;

 private:
  /// The per-component pieces of one evaluation at noise variance v: with d_k = x - mu_k,
  /// a_k = U_k^T d_k and d_perp_k = d_k - U_k a_k,
  /// log N(x; mu_k, Sigma_k + v I) = -(n log 2 pi + sum log(lambda_k + v)
  ///   + (n - r) log(s_k^2 + v) + sum a_k^2 / (lambda_k + v) + |d_perp_k|^2 / (s_k^2 + v)) / 2.
  struct ComponentTerms {
    at::Tensor log_joint;           // [B, K]: log pi_k + log N(x; mu_k, Sigma_k + v I)
    at::Tensor projections;         // a, [B, K, r]
    at::Tensor eigen_variances;     // lambda + v, [B or 1, K, r]
    at::Tensor residuals;           // d_perp, [B, K, n]; undefined when r = n
    at::Tensor residual_variances;  // s^2 + v, [B or 1, K]; undefined when r = n
  };

  static constexpr int64_t kMaxStepHalvings = 60;
  static constexpr double kLogTwoPi = 1.83787706640934548356;

  bool full_rank() const { return rank() == dimension(); }

  /// U_k diag(along_basis_k) U_k^T + orthogonal_k (I - U_k U_k^T), [K, n, n]: the matrices
  /// sharing the eigenvectors of the covariances (orthogonal is unused when r = n).
  at::Tensor spectral_matrices(const at::Tensor& along_basis, const at::Tensor& orthogonal) const;

  /// The parameters on `device` (no copy when they already live there).
  Parameters placed(const at::Device& device) const;

  /// x: [B, n] float64; variance: [B] or [1] float64 on x's device.
  ComponentTerms component_terms(const at::Tensor& x, const at::Tensor& variance) const;

  /// -sum_k w_k (Sigma_k + v I)^{-1} (x - mu_k), [B, n].
  at::Tensor score_from(const ComponentTerms& terms) const;

  std::vector<int64_t> batched_shape(int64_t batch) const;

  /// [B, event...] -> [B, n] float64; throws naming `where` on any other shape.
  at::Tensor flatten(const at::Tensor& x, const char* where) const;

  at::Tensor unflatten(const at::Tensor& flat, const at::Tensor& like) const;

  /// sigma (a scalar or [B], finite, >= 0) -> sigma^2 as [B] or [1] float64 on x's device.
  static at::Tensor noise_variance(const at::Tensor& sigma, const at::Tensor& x, const char* where);

  static Parameters validated(Parameters p);

  Parameters parameters_;
};

}  // namespace mapinverse
