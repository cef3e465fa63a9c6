#include <cmath>
#include <fstream>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include <Eigen/Dense>
// torch before Catch: glog (via torch) also defines CHECK, and Catch's must win.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include "mapinverse/core/random.hpp"
#include "mapinverse/models/gaussian_mixture_prior.hpp"
#include "support/eigen_tensors.hpp"
#include "support/invalid_argument.hpp"
#include "support/mixtures.hpp"
#include "support/random_tensors.hpp"
#include "support/temporary_directory.hpp"

using namespace mapinverse;
using namespace mapinverse::testing;
using Catch::Matchers::Contains;

namespace {

/// A Gaussian mixture written with Eigen directly from its dense covariances: the
/// reference the library's eigen-form computations are checked against.
struct ReferenceMixture {
  std::vector<double> weights;
  std::vector<Eigen::VectorXd> means;
  std::vector<Eigen::MatrixXd> covariances;

  explicit ReferenceMixture(const GaussianMixturePrior& prior) {
    const auto& p = prior.parameters();
    const auto dense = prior.component_covariances();
    for (int64_t k = 0; k < prior.num_components(); ++k) {
      weights.push_back(p.weights[k].item<double>());
      means.push_back(to_vector(p.means[k]));
      covariances.push_back(to_matrix(dense[k]));
    }
  }

  /// log pi_k + log N(x; mu_k, Sigma_k + sigma^2 I) for every k.
  std::vector<double> log_joint(const Eigen::VectorXd& x, double sigma) const {
    std::vector<double> values;
    for (size_t k = 0; k < weights.size(); ++k) {
      values.push_back(std::log(weights[k]) + log_normal(x, means[k], noisy_covariance(k, sigma)));
    }
    return values;
  }

  double log_density(const Eigen::VectorXd& x, double sigma) const {
    return log_sum_exp(log_joint(x, sigma));
  }

  Eigen::VectorXd denoise(const Eigen::VectorXd& x, double sigma) const {
    const auto values = log_joint(x, sigma);
    const double log_p = log_density(x, sigma);
    Eigen::VectorXd result = Eigen::VectorXd::Zero(x.size());
    for (size_t k = 0; k < weights.size(); ++k) {
      const Eigen::MatrixXd noisy = noisy_covariance(k, sigma);
      result += std::exp(values[k] - log_p) *
                (means[k] + covariances[k] * noisy.llt().solve(x - means[k]));
    }
    return result;
  }

  /// Sigma_k + sigma^2 I, the covariance of component k after adding noise of level sigma.
  Eigen::MatrixXd noisy_covariance(size_t k, double sigma) const {
    const auto n = covariances[k].rows();
    return covariances[k] + sigma * sigma * Eigen::MatrixXd::Identity(n, n);
  }
};

/// Three components in n = 4 with full random covariances.
std::shared_ptr<const GaussianMixturePrior> full_mixture() {
  return random_full_mixture({0.2, 0.5, 0.3}, /*n=*/4, /*jitter=*/0.2, /*mean_scale=*/2.0,
                             /*seed=*/11);
}

/// Two components in n = 6 of rank 2 plus an isotropic residual, event shape [1,2,3].
std::shared_ptr<const GaussianMixturePrior> low_rank_mixture() {
  auto generator = make_generator(12);
  const auto bases = std::get<0>(torch::linalg_qr(randn({2, 6, 2}, kDouble, generator)));
  return std::make_shared<const GaussianMixturePrior>(
      GaussianMixturePrior::Parameters{torch::tensor({0.6, 0.4}, kDouble),
                                       randn({2, 6}, kDouble, generator),
                                       bases,
                                       torch::tensor({{2.0, 0.7}, {1.5, 0.9}}, kDouble),
                                       torch::tensor({0.1, 0.3}, kDouble),
                                       {1, 2, 3}});
}

/// The shape [count, event_shape...] of a batch of `count` points of `prior`.
std::vector<int64_t> batch_shape(const GaussianMixturePrior& prior, int64_t count) {
  std::vector<int64_t> shape{count};
  shape.insert(shape.end(), prior.event_shape().begin(), prior.event_shape().end());
  return shape;
}

}  // namespace

TEST_CASE("GaussianMixturePrior of one isotropic Gaussian matches its closed forms") {
  const auto mean = torch::tensor({0.3, -0.2, 0.1, 0.0, 1.0, -1.5}, kDouble).reshape({2, 3});
  const double variance = 0.25;
  const auto prior = GaussianMixturePrior::isotropic(mean, variance);
  REQUIRE(prior->event_shape() == std::vector<int64_t>{2, 3});
  REQUIRE(prior->rank() == 0);

  const auto x = normal({3, 2, 3}, 1);
  const auto sigma = torch::tensor({0.0, 0.5, 3.0}, kDouble);
  const auto noisy_variance = (variance + sigma.square()).reshape({3, 1, 1});

  const auto expected_denoised = mean + (x - mean) * variance / noisy_variance;
  CHECK(max_error(prior->denoise(x, sigma), expected_denoised) < 1e-10);

  const auto expected_score = -(x - mean) / noisy_variance;
  CHECK(max_error(prior->score(x, sigma), expected_score) < 1e-10);

  const auto expected_log_density =
      -0.5 * (6.0 * torch::log(2.0 * M_PI * noisy_variance.reshape({3})) +
              (x - mean).square().sum({1, 2}) / noisy_variance.reshape({3}));
  CHECK(max_error(prior->log_density(x, sigma), expected_log_density) < 1e-10);

  CHECK(max_error(prior->mean(), mean) < 1e-15);
  CHECK(max_error(prior->covariance(), variance * torch::eye(6, kDouble)) < 1e-15);
}

TEST_CASE("GaussianMixturePrior log-density and denoiser match a dense Eigen computation") {
  for (const auto& prior : {full_mixture(), low_rank_mixture()}) {
    INFO("rank " << prior->rank() << " of " << prior->dimension());
    const ReferenceMixture reference(*prior);
    const auto x = 2.0 * normal(batch_shape(*prior, 4), 2);
    for (double sigma : {0.0, 0.3, 2.0}) {
      INFO("sigma = " << sigma);
      const auto log_density = prior->log_density(x, sigma);
      const auto denoised = prior->denoise(x, sigma);
      for (int64_t b = 0; b < 4; ++b) {
        const auto point = to_vector(x[b]);
        CHECK(log_density[b].item<double>() ==
              Approx(reference.log_density(point, sigma)).epsilon(0).margin(1e-10));
        CHECK(max_error(denoised[b].reshape({-1}), to_tensor(reference.denoise(point, sigma))) <
              1e-10);
      }
    }
  }
}

TEST_CASE("GaussianMixturePrior denoiser and score satisfy Tweedie's formula") {
  // D(x, sigma) = x + sigma^2 grad log p_sigma(x), the gradient taken by autograd through
  // log_density(): an independent path from the closed-form denoiser and score.
  for (const auto& prior : {full_mixture(), low_rank_mixture()}) {
    INFO("rank " << prior->rank() << " of " << prior->dimension());
    const auto x = normal(batch_shape(*prior, 3), 3).requires_grad_();
    const auto sigma = torch::tensor({0.05, 0.8, 4.0}, torch::kFloat64);
    const auto gradient = torch::autograd::grad({prior->log_density(x, sigma).sum()}, {x})[0];
    const auto variance = sigma.square().reshape({-1, 1});
    const auto flat_x = x.detach().reshape({3, -1});
    const auto tweedie = flat_x + variance * gradient.reshape({3, -1});
    CHECK(max_error(prior->denoise(x.detach(), sigma).reshape({3, -1}), tweedie) < 1e-10);
    CHECK(max_error(prior->score(x.detach(), sigma), gradient) < 1e-10);

    const auto clean_gradient = torch::autograd::grad({prior->log_density(x).sum()}, {x})[0];
    CHECK(max_error(prior->score(x.detach()), clean_gradient) < 1e-10);
  }
}

TEST_CASE("GaussianMixturePrior denoiser is differentiable and follows the input's dtype") {
  const auto prior = low_rank_mixture();
  const auto x = normal({2, 1, 2, 3}, 4, torch::kFloat32).requires_grad_();
  const auto denoised = prior->denoise(x, 0.5);
  CHECK(denoised.scalar_type() == torch::kFloat32);
  CHECK(denoised.sizes() == x.sizes());
  CHECK(prior->log_density(x.detach()).scalar_type() == torch::kFloat32);
  const auto gradient = torch::autograd::grad({denoised.sum()}, {x})[0];
  CHECK(gradient.sizes() == x.sizes());
  CHECK(torch::isfinite(gradient).all().item<bool>());
  CHECK(gradient.abs().sum().item<double>() > 0.0);
}

TEST_CASE("GaussianMixturePrior mean and covariance match the mixture moments") {
  const auto prior = full_mixture();
  const ReferenceMixture reference(*prior);
  Eigen::VectorXd mean = Eigen::VectorXd::Zero(4);
  Eigen::MatrixXd second = Eigen::MatrixXd::Zero(4, 4);
  for (size_t k = 0; k < reference.weights.size(); ++k) {
    mean += reference.weights[k] * reference.means[k];
    second += reference.weights[k] *
              (reference.covariances[k] + reference.means[k] * reference.means[k].transpose());
  }
  const Eigen::MatrixXd covariance = second - mean * mean.transpose();
  CHECK((to_vector(prior->mean()) - mean).cwiseAbs().maxCoeff() < 1e-12);
  CHECK((to_matrix(prior->covariance()) - covariance).cwiseAbs().maxCoeff() < 1e-12);
}

TEST_CASE("GaussianMixturePrior samples have the mixture's moments and follow the seed") {
  for (const auto& prior : {full_mixture(), low_rank_mixture()}) {
    INFO("rank " << prior->rank() << " of " << prior->dimension());
    auto generator = make_generator(5);
    const int64_t count = 20000;
    const auto samples = prior->sample(count, generator);
    REQUIRE(samples.sizes() == torch::IntArrayRef(batch_shape(*prior, count)));
    const auto flat = samples.reshape({count, -1});
    const auto covariance = prior->covariance();
    // Standard errors: sqrt(var / N) for the mean, about var sqrt(2 / N) for the covariance;
    // the bounds below are 5 of them for the largest variance.
    const double largest_variance = covariance.diagonal().max().item<double>();
    CHECK(max_error(flat.mean(0), prior->mean().reshape({-1})) <
          5.0 * std::sqrt(largest_variance / count));
    const auto centered = flat - flat.mean(0);
    const auto sample_covariance = torch::matmul(centered.t(), centered) / (count - 1);
    CHECK(max_error(sample_covariance, covariance) <
          5.0 * largest_variance * std::sqrt(2.0 / count));

    auto same_seed = make_generator(5);
    CHECK(torch::equal(prior->sample(count, same_seed), samples));
    auto other_seed = make_generator(6);
    CHECK(!torch::equal(prior->sample(count, other_seed), samples));
  }
}

TEST_CASE("GaussianMixturePrior low-rank form equals its full-covariance form") {
  const auto low_rank = low_rank_mixture();
  const auto& p = low_rank->parameters();
  const auto full = GaussianMixturePrior::from_full_covariances(
      p.weights, p.means, low_rank->component_covariances(), low_rank->event_shape());
  REQUIRE(full->rank() == 6);
  const auto x = normal({5, 1, 2, 3}, 7);
  CHECK(max_error(low_rank->log_density(x, 0.4), full->log_density(x, 0.4)) < 1e-10);
  CHECK(max_error(low_rank->denoise(x, 0.4), full->denoise(x, 0.4)) < 1e-10);
  CHECK(max_error(low_rank->component_precisions(),
                  torch::linalg_inv(low_rank->component_covariances())) < 1e-10);
}

TEST_CASE("GaussianMixturePrior modes are stationary points of the density") {
  const auto prior = full_mixture();
  const auto modes = prior->modes();
  REQUIRE(!modes.empty());
  for (size_t i = 0; i < modes.size(); ++i) {
    INFO("mode " << i);
    CHECK(modes[i].converged);
    const auto point = modes[i].point.unsqueeze(0);
    CHECK(prior->score(point).abs().max().item<double>() < 1e-6);
    CHECK(prior->log_density(point).item<double>() == Approx(modes[i].log_density));
    if (i > 0) CHECK(modes[i].log_density <= modes[i - 1].log_density);
  }
  const auto means = prior->parameters().means;
  const auto at_means = prior->log_density(means);
  CHECK(modes.front().log_density >= at_means.max().item<double>());
}

TEST_CASE("GaussianMixturePrior saves and loads its parameters") {
  const auto prior = low_rank_mixture();
  const TemporaryDirectory directory("gaussian_mixture_prior_save");
  const auto path = directory.file("gaussian_mixture_prior.pt");
  prior->save(path);
  const auto loaded = GaussianMixturePrior::load(path);
  CHECK(loaded->event_shape() == prior->event_shape());
  CHECK(torch::equal(loaded->parameters().weights, prior->parameters().weights));
  CHECK(torch::equal(loaded->parameters().means, prior->parameters().means));
  CHECK(torch::equal(loaded->parameters().bases, prior->parameters().bases));
  CHECK(torch::equal(loaded->parameters().eigenvalues, prior->parameters().eigenvalues));
  CHECK(torch::equal(loaded->parameters().residual_variances,
                     prior->parameters().residual_variances));
}

TEST_CASE("GaussianMixturePrior::load() names the file it cannot use") {
  const TemporaryDirectory directory("gaussian_mixture_prior_load");
  const auto missing = directory.file("no_such_mixture.pt");
  CHECK_THROWS_WITH(GaussianMixturePrior::load(missing), Contains(missing));

  const auto corrupt = directory.file("corrupt_mixture.pt");
  std::ofstream(corrupt) << "not a tensor archive";
  CHECK_THROWS_WITH(GaussianMixturePrior::load(corrupt), Contains(corrupt));

  const auto incomplete = directory.file("incomplete_mixture.pt");
  torch::serialize::OutputArchive archive;
  archive.write("weights", torch::ones({1}, torch::kFloat64));
  archive.save_to(incomplete);
  CHECK_THROWS_WITH(GaussianMixturePrior::load(incomplete),
                    Contains(incomplete) && Contains("means"));
}

TEST_CASE("GaussianMixturePrior rejects invalid parameters naming the field") {
  const auto valid = [&] {
    return GaussianMixturePrior::Parameters{torch::tensor({0.5, 0.5}, kDouble),
                                            torch::zeros({2, 3}, kDouble),
                                            torch::eye(3, 1, kDouble).expand({2, 3, 1}).clone(),
                                            torch::ones({2, 1}, kDouble),
                                            torch::ones({2}, kDouble),
                                            {}};
  };
  const auto construct = [](GaussianMixturePrior::Parameters p) {
    return [p] { GaussianMixturePrior prior(p); };
  };
  REQUIRE_NOTHROW(GaussianMixturePrior(valid()));

  auto p = valid();
  p.weights = torch::tensor({-0.5, 1.5}, kDouble);
  CHECK_THAT(invalid_argument_message(construct(p)), Contains("weights >= 0"));
  p = valid();
  p.weights = torch::tensor({0.5, 0.6}, kDouble);
  CHECK_THAT(invalid_argument_message(construct(p)), Contains("summing to 1"));
  p = valid();
  p.weights = torch::tensor({1.0}, kDouble);
  CHECK_THAT(invalid_argument_message(construct(p)), Contains("weights of shape [2]"));
  p = valid();
  p.means = torch::zeros({2, 3, 1}, kDouble);
  CHECK_THAT(invalid_argument_message(construct(p)), Contains("means of shape [K,n]"));
  p = valid();
  p.bases = torch::ones({2, 3, 1}, kDouble);
  CHECK_THAT(invalid_argument_message(construct(p)), Contains("orthonormal"));
  p = valid();
  p.bases = torch::zeros({2, 4, 1}, kDouble);
  CHECK_THAT(invalid_argument_message(construct(p)), Contains("bases of shape [2,3,r]"));
  p = valid();
  p.eigenvalues = torch::zeros({2, 1}, kDouble);
  CHECK_THAT(invalid_argument_message(construct(p)), Contains("eigenvalues > 0"));
  p = valid();
  p.residual_variances = torch::tensor({1.0, -1.0}, kDouble);
  CHECK_THAT(invalid_argument_message(construct(p)), Contains("residual_variances > 0"));
  p = valid();
  p.means = torch::tensor({{0.0, std::numeric_limits<double>::quiet_NaN(), 0.0}, {0.0, 0.0, 0.0}},
                          kDouble);
  CHECK_THAT(invalid_argument_message(construct(p)), Contains("means contains NaN"));
  p = valid();
  p.event_shape = {2, 2};
  CHECK_THAT(invalid_argument_message(construct(p)), Contains("event_shape of 3 elements"));

  CHECK_THAT(invalid_argument_message([&] {
               GaussianMixturePrior::from_full_covariances(
                   torch::ones({1}, kDouble), torch::zeros({1, 2}, kDouble),
                   torch::tensor({{{1.0, 2.0}, {2.0, 1.0}}}, kDouble));
             }),
             Contains("positive definite"));
  CHECK_THAT(invalid_argument_message(
                 [&] { GaussianMixturePrior::isotropic(torch::zeros({3}, kDouble), -1.0); }),
             Contains("variance = -1"));
}

TEST_CASE("GaussianMixturePrior rejects inputs of the wrong shape or noise level") {
  const auto prior = low_rank_mixture();
  CHECK_THAT(invalid_argument_message([&] {
               prior->denoise(torch::zeros({2, 6}, kDouble), 0.1);
             }),
             Contains("expected x of shape [B,1,2,3], got [2,6]"));
  CHECK_THAT(invalid_argument_message([&] {
               prior->log_density(torch::zeros({2, 1, 3, 2}, kDouble));
             }),
             Contains("GaussianMixturePrior::log_density()"));
  CHECK_THAT(invalid_argument_message([&] {
               prior->score(torch::zeros({2, 1, 2, 3}, kDouble), -0.5);
             }),
             Contains("sigma >= 0"));
  CHECK_THAT(
      invalid_argument_message([&] {
        prior->score(torch::zeros({2, 1, 2, 3}, kDouble), torch::tensor({0.1, 0.2, 0.3}, kDouble));
      }),
      Contains("sigma"));
  CHECK_THAT(
      invalid_argument_message([&] {
        prior->denoise(torch::zeros({2, 1, 2, 3}, kDouble), 0.1, torch::zeros({2}, torch::kInt64));
      }),
      Contains("labels"));
  auto generator = make_generator(0);
  CHECK_THAT(invalid_argument_message([&] { prior->sample(-1, generator); }),
             Contains("count >= 0"));
}
