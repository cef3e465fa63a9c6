#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include <Eigen/Dense>
// torch before Catch: glog (via torch) also defines CHECK, and Catch's must win.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include "mapinverse/core/random.hpp"
#include "mapinverse/models/gaussian_mixture_posterior.hpp"
#include "mapinverse/operators/dense_matrix.hpp"
#include "mapinverse/operators/dense_matrix_eigen.hpp"
#include "mapinverse/operators/dense_matrix_eigen.hpp"
#include "mapinverse/operators/inpainting.hpp"
#include "support/eigen_tensors.hpp"
#include "support/invalid_argument.hpp"
#include "support/mixtures.hpp"
#include "support/random_tensors.hpp"

using namespace mapinverse;
using namespace mapinverse::testing;
using Catch::Matchers::Contains;

namespace {

/// Textbook Gaussian conditioning of every component on y = H x + N(0, sigma_y^2 I),
/// written with Eigen from the prior's dense covariances (sigma_y = 0 included).
struct ReferencePosterior {
  std::vector<double> weights;
  std::vector<Eigen::VectorXd> means;
  std::vector<Eigen::MatrixXd> covariances;
  /// log p(y), the mixture's evidence.
  double log_evidence = 0.0;

  ReferencePosterior(const GaussianMixturePrior& prior, const Eigen::MatrixXd& h,
                     const Eigen::VectorXd& y, double sigma_y) {
    const auto& p = prior.parameters();
    const auto dense = prior.component_covariances();
    std::vector<double> log_weights;
    for (int64_t k = 0; k < prior.num_components(); ++k) {
      const Eigen::VectorXd mu = to_vector(p.means[k]);
      const Eigen::MatrixXd sigma = to_matrix(dense[k]);
      const Eigen::MatrixXd s = h * sigma * h.transpose() +
                                sigma_y * sigma_y * Eigen::MatrixXd::Identity(h.rows(), h.rows());
      const Eigen::MatrixXd gain = sigma * h.transpose() * s.inverse();
      means.push_back(mu + gain * (y - h * mu));
      covariances.push_back(sigma - gain * h * sigma);
      log_weights.push_back(std::log(p.weights[k].item<double>()) + log_normal(y, h * mu, s));
    }
    log_evidence = log_sum_exp(log_weights);
    for (double value : log_weights) weights.push_back(std::exp(value - log_evidence));
  }

  void check(const GaussianMixturePosterior& posterior, double tolerance) const {
    const auto posterior_means = posterior.component_means();
    const auto posterior_covariances = posterior.component_covariances();
    for (size_t k = 0; k < weights.size(); ++k) {
      INFO("component " << k);
      const auto index = static_cast<int64_t>(k);
      CHECK(posterior.weights()[index].item<double>() ==
            Approx(weights[k]).epsilon(0).margin(tolerance));
      CHECK((to_vector(posterior_means[index]) - means[k]).cwiseAbs().maxCoeff() < tolerance);
      CHECK((to_matrix(posterior_covariances[index]) - covariances[k]).cwiseAbs().maxCoeff() <
            tolerance);
    }
  }

  Eigen::VectorXd mean() const {
    Eigen::VectorXd result = Eigen::VectorXd::Zero(means.front().size());
    for (size_t k = 0; k < weights.size(); ++k) result += weights[k] * means[k];
    return result;
  }
};

/// Three components with full random covariances in n = 6, event shape [1,2,3].
std::shared_ptr<const GaussianMixturePrior> mixture() {
  return random_full_mixture({0.25, 0.45, 0.3}, /*n=*/6, /*jitter=*/0.3,
                             /*mean_scale=*/1.5, /*seed=*/21, {1, 2, 3});
}

/// A random m x n matrix (fixed by `seed`).
Eigen::MatrixXd random_matrix(int64_t m, int64_t n, uint64_t seed) {
  return to_matrix(normal({m, n}, seed));
}

/// y = H x_true + sigma_y noise for x_true drawn from the prior.
Eigen::VectorXd measure(const GaussianMixturePrior& prior, const Eigen::MatrixXd& h, double sigma_y,
                        uint64_t seed) {
  auto generator = make_generator(seed);
  const Eigen::VectorXd x = to_vector(prior.sample(1, generator));
  return h * x + sigma_y * to_vector(randn({h.rows()}, kDouble, generator));
}

torch::Tensor observation_mask() {
  return torch::tensor({1.0, 0.0, 1.0, 0.0, 0.0, 1.0}, kDouble).reshape({1, 1, 2, 3});
}

/// The rows of the identity that Inpainting with observation_mask() keeps.
Eigen::MatrixXd selection_matrix() {
  Eigen::MatrixXd h = Eigen::MatrixXd::Zero(3, 6);
  h(0, 0) = h(1, 2) = h(2, 5) = 1.0;
  return h;
}

}  // namespace

TEST_CASE("Mixture posterior with noise equals dense Gaussian conditioning") {
  const auto prior = mixture();
  const Eigen::MatrixXd h = random_matrix(2, 6, 22);
  const double sigma_y = 0.3;
  const Eigen::VectorXd y = measure(*prior, h, sigma_y, 23);
  const ReferencePosterior reference(*prior, h, y, sigma_y);

  const auto from_matrix = posterior(*prior, to_tensor(h), to_tensor(y).reshape({-1}), sigma_y);
  reference.check(from_matrix, 1e-8);
  CHECK(from_matrix.support_dimension() == 6);

  const DenseMatrix op(eigen_to_tensor(h), DenseMatrix::Options{{1, 2, 3}});
  const auto from_operator = posterior(*prior, op, to_tensor(y).reshape({1, 2}), sigma_y);
  reference.check(from_operator, 1e-8);
  CHECK((to_vector(from_operator.mean()) - reference.mean()).cwiseAbs().maxCoeff() < 1e-8);
}

TEST_CASE("Noiseless inpainting posterior equals dense Gaussian conditioning") {
  const auto prior = mixture();
  const Inpainting op(observation_mask());
  auto generator = make_generator(24);
  const auto x_true = prior->sample(1, generator);
  const auto y = op.apply(x_true);  // zero-padded, [1,1,2,3]
  const auto result = posterior(*prior, op, y, 0.0);
  CHECK(result.support_dimension() == 3);

  const Eigen::MatrixXd h = selection_matrix();
  const ReferencePosterior reference(*prior, h, h * to_vector(x_true), 0.0);
  reference.check(result, 1e-8);
  // The observed pixels are known exactly.
  const auto means = result.component_means();
  for (int64_t k = 0; k < 3; ++k) {
    CHECK((h * to_vector(means[k]) - h * to_vector(x_true)).cwiseAbs().maxCoeff() < 1e-12);
  }
  // The unbatched measurement gives the same posterior.
  const auto unbatched = posterior(*prior, op, y[0], 0.0);
  CHECK(max_error(unbatched.component_means(), means) < 1e-14);
}

TEST_CASE("Noiseless posterior of a dense operator equals dense Gaussian conditioning") {
  const auto prior = mixture();
  const Eigen::MatrixXd h = random_matrix(4, 6, 25);
  const Eigen::VectorXd y = measure(*prior, h, 0.0, 26);
  const DenseMatrix op(eigen_to_tensor(h), DenseMatrix::Options{{1, 2, 3}});
  const auto result = posterior(*prior, op, to_tensor(y).reshape({1, 4}), 0.0);
  CHECK(result.support_dimension() == 2);
  const ReferencePosterior reference(*prior, h, y, 0.0);
  reference.check(result, 1e-8);
  CHECK((to_vector(result.mean()) - reference.mean()).cwiseAbs().maxCoeff() < 1e-8);
  CHECK(max_error(torch::matmul(result.basis().t(), result.basis()), torch::eye(2, kDouble)) <
        1e-12);
}

TEST_CASE("Mixture posterior log-density is Bayes' rule") {
  const auto prior = mixture();
  auto generator = make_generator(27);

  SECTION("noisy: log p(x | y) = log p(x) + log N(y; H x, sigma_y^2 I) - log p(y)") {
    const Eigen::MatrixXd h = random_matrix(3, 6, 28);
    const double sigma_y = 0.5;
    const Eigen::VectorXd y = measure(*prior, h, sigma_y, 29);
    const ReferencePosterior reference(*prior, h, y, sigma_y);
    const auto result = posterior(*prior, to_tensor(h), to_tensor(y).reshape({1, -1}), sigma_y);
    const auto x = randn({4, 1, 2, 3}, kDouble, generator);
    const auto log_posterior = result.log_density(x);
    const auto log_prior = prior->log_density(x);
    for (int64_t b = 0; b < 4; ++b) {
      const Eigen::VectorXd point = to_vector(x[b]);
      const double expected =
          log_prior[b].item<double>() +
          log_normal(y, h * point, sigma_y * sigma_y * Eigen::MatrixXd::Identity(3, 3)) -
          reference.log_evidence;
      CHECK(log_posterior[b].item<double>() == Approx(expected).epsilon(0).margin(1e-10));
    }
  }

  SECTION("noiseless: on {H x = y}, log p(x | y) = log p(x) - log p(R^T x), R = basis of row(H)") {
    const Eigen::MatrixXd h = random_matrix(4, 6, 30);
    const Eigen::VectorXd y = measure(*prior, h, 0.0, 31);
    const auto result = posterior(*prior, to_tensor(h), to_tensor(y), 0.0);
    const Eigen::HouseholderQR<Eigen::MatrixXd> qr(h.transpose());
    const Eigen::MatrixXd row_basis = qr.householderQ() * Eigen::MatrixXd::Identity(6, 4);
    const auto x = result.sample(4, generator);
    const auto log_posterior = result.log_density(x);
    const auto log_prior = prior->log_density(x);
    const auto& p = prior->parameters();
    const auto dense = prior->component_covariances();
    for (int64_t b = 0; b < 4; ++b) {
      const Eigen::VectorXd point = to_vector(x[b]);
      CHECK((h * point - y).cwiseAbs().maxCoeff() < 1e-10);
      std::vector<double> log_marginal;
      for (int64_t k = 0; k < 3; ++k) {
        log_marginal.push_back(std::log(p.weights[k].item<double>()) +
                               log_normal(row_basis.transpose() * point,
                                          row_basis.transpose() * to_vector(p.means[k]),
                                          row_basis.transpose() * to_matrix(dense[k]) * row_basis));
      }
      const double expected = log_prior[b].item<double>() - log_sum_exp(log_marginal);
      CHECK(log_posterior[b].item<double>() == Approx(expected).epsilon(0).margin(1e-9));
    }
  }
}

TEST_CASE("Mixture posterior samples have the exact posterior moments") {
  const auto prior = mixture();
  const Inpainting op(observation_mask());
  auto generator = make_generator(32);
  const auto x_true = prior->sample(1, generator);
  for (double sigma_y : {0.0, 0.2}) {
    INFO("sigma_y = " << sigma_y);
    const auto y = op.apply(x_true) + sigma_y * op.apply(randn({1, 1, 2, 3}, kDouble, generator));
    const auto result = posterior(*prior, op, y, sigma_y);
    const int64_t count = 20000;
    const auto samples = result.sample(count, generator).reshape({count, -1});
    const auto covariance = result.covariance();
    // 5 standard errors of the largest variance: sqrt(v / N) for the mean, v sqrt(2 / N)
    // for the covariance.
    const double largest_variance = covariance.diagonal().max().item<double>();
    CHECK(max_error(samples.mean(0), result.mean().reshape({-1})) <
          5.0 * std::sqrt(largest_variance / count));
    const auto centered = samples - samples.mean(0);
    CHECK(max_error(torch::matmul(centered.t(), centered) / (count - 1), covariance) <
          5.0 * largest_variance * std::sqrt(2.0 / count));
    if (sigma_y == 0.0) {
      const auto observed = observation_mask().reshape({1, -1}).to(torch::kBool).expand({count, 6});
      CHECK(max_error(samples.masked_select(observed),
                      x_true.reshape({1, -1}).expand({count, 6}).masked_select(observed)) < 1e-12);
    }
  }
}

TEST_CASE("Mixture posterior MAP of a single Gaussian is the posterior mean") {
  auto generator = make_generator(33);
  const auto factor = randn({4, 4}, kDouble, generator);
  const auto prior = GaussianMixturePrior::from_full_covariances(
      torch::ones({1}, kDouble), randn({1, 4}, kDouble, generator),
      (torch::matmul(factor, factor.t()) + 0.5 * torch::eye(4, kDouble)).unsqueeze(0));
  const Eigen::MatrixXd h = random_matrix(2, 4, 34);
  for (double sigma_y : {0.0, 0.1}) {
    INFO("sigma_y = " << sigma_y);
    const Eigen::VectorXd y = measure(*prior, h, sigma_y, 35);
    const auto result = posterior(*prior, to_tensor(h), to_tensor(y), sigma_y);
    const auto map = result.map();
    CHECK(map.converged);
    CHECK(max_error(map.point, result.mean()) < 1e-8);
    CHECK(map.log_density == Approx(result.log_density(map.point.unsqueeze(0)).item<double>()));
  }
}

TEST_CASE("Mixture posterior MAP picks the heavier of two separated modes") {
  // x_1 is not measured, so the posterior keeps both prior modes along it.
  const auto means = torch::tensor({{-3.0, 0.0, 0.5}, {3.0, 0.5, 0.0}}, kDouble);
  const auto covariances = torch::stack({torch::diag(torch::tensor({0.4, 1.0, 0.8}, kDouble)),
                                         torch::diag(torch::tensor({0.3, 0.6, 1.2}, kDouble))});
  Eigen::MatrixXd h = Eigen::MatrixXd::Zero(2, 3);
  h(0, 1) = h(1, 2) = 1.0;
  const Eigen::VectorXd y = Eigen::Vector2d(0.3, 0.2);
  for (const auto& weights : {std::vector<double>{0.3, 0.7}, std::vector<double>{0.8, 0.2}}) {
    const auto prior = GaussianMixturePrior::from_full_covariances(torch::tensor(weights, kDouble),
                                                                   means, covariances);
    const auto result = posterior(*prior, to_tensor(h), to_tensor(y), 0.1);
    const auto heavier = result.weights().argmax().item<int64_t>();
    INFO("weights " << weights[0] << ", " << weights[1] << "; heavier posterior component "
                    << heavier);
    const auto modes = result.modes();
    REQUIRE(modes.size() == 2);
    const auto map = result.map();
    CHECK(map.converged);
    // Separated by ~10 standard deviations, each mode sits on its component's mean.
    CHECK(max_error(map.point, result.component_means()[heavier]) < 1e-8);
    CHECK(map.log_density > modes[1].log_density);
    const auto at_means = result.log_density(result.component_means());
    CHECK(map.log_density >= at_means.max().item<double>());
  }
}

TEST_CASE("Mixture posterior MAP of overlapping components is a stationary point") {
  // Two overlapping components: one mode, between the component means.
  const auto prior = GaussianMixturePrior::from_full_covariances(
      torch::tensor({0.4, 0.6}, kDouble),
      torch::tensor({{-0.5, 0.0, 0.0}, {0.6, 0.3, 0.0}}, kDouble),
      torch::stack({torch::eye(3, kDouble), 1.5 * torch::eye(3, kDouble) + 0.3}));
  Eigen::MatrixXd h = Eigen::MatrixXd::Zero(1, 3);
  h(0, 2) = 1.0;
  const auto result = posterior(*prior, to_tensor(h), torch::tensor({0.4}, kDouble), 0.0);
  const auto modes = result.modes();
  REQUIRE(modes.size() == 1);
  const auto& map = modes.front();
  CHECK(map.converged);
  const auto u = result.reduce(map.point.unsqueeze(0));
  CHECK(result.reduced().score(u).abs().max().item<double>() < 1e-8);
  const auto at_means = result.log_density(result.component_means());
  CHECK(map.log_density > at_means.max().item<double>());
  CHECK(map.log_density > result.log_density(result.mean().unsqueeze(0)).item<double>());
}

TEST_CASE("Mixture posterior rejects invalid measurements naming them") {
  const auto prior = mixture();
  const Inpainting op(observation_mask());
  const auto y = torch::zeros({1, 1, 2, 3}, kDouble);
  CHECK_THAT(invalid_argument_message([&] { posterior(*prior, op, y, -0.1); }),
             Contains("sigma_y = -0.1"));
  CHECK_THAT(invalid_argument_message([&] { posterior(*prior, op, y, NAN); }), Contains("sigma_y"));
  CHECK_THAT(invalid_argument_message([&] {
               posterior(*prior, op, torch::zeros({1, 1, 3, 2}, kDouble), 0.1);
             }),
             Contains("expected y of shape [1,1,2,3] or [1,2,3]"));
  CHECK_THAT(invalid_argument_message([&] {
               posterior(*prior, op, torch::zeros({2, 1, 2, 3}, kDouble), 0.1);
             }),
             Contains("got [2,1,2,3]"));
  auto bad = y.clone();
  bad[0][0][0][0] = std::numeric_limits<double>::infinity();
  CHECK_THAT(invalid_argument_message([&] { posterior(*prior, op, bad, 0.1); }),
             Contains("y contains NaN or infinite"));
  CHECK_THAT(invalid_argument_message([&] {
               posterior(*prior, torch::zeros({2, 5}, kDouble), torch::zeros({2}, kDouble), 0.1);
             }),
             Contains("expected H of shape [m,6], got [2,5]"));
  CHECK_THAT(invalid_argument_message([&] {
               posterior(*prior, torch::ones({2, 6}, kDouble), torch::zeros({3}, kDouble), 0.1);
             }),
             Contains("expected y of shape [2] or [1,2], got [3]"));
  // Without noise y must be reachable: rows 1 and 2 of H are equal.
  CHECK_THAT(
      invalid_argument_message([&] {
        posterior(*prior, torch::ones({2, 6}, kDouble), torch::tensor({1.0, 2.0}, kDouble), 0.0);
      }),
      Contains("range of H"));
  CHECK_THAT(invalid_argument_message([&] {
               posterior(*prior, torch::eye(6, kDouble), torch::zeros({6}, kDouble), 0.0);
             }),
             Contains("full column rank"));
}

TEST_CASE("MapSearchOptions::validate() names the field") {
  MapSearchOptions options;
  REQUIRE_NOTHROW(options.validate());
  options.max_iterations = 0;
  CHECK_THROWS_WITH(options.validate(),
                    "MapSearchOptions::max_iterations = 0. Violated constraint: "
                    "max_iterations >= 1");
  options = MapSearchOptions{};
  options.tolerance = -1.0;
  CHECK_THROWS_WITH(options.validate(), Contains("MapSearchOptions::tolerance = -1"));
  options = MapSearchOptions{};
  options.merge_tolerance = 0.0;
  CHECK_THROWS_WITH(options.validate(), Contains("MapSearchOptions::merge_tolerance = 0"));
}
