#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <Eigen/Dense>
// torch before Catch: glog (via torch) also defines CHECK, and Catch's must win.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include "mapinverse/core/random.hpp"
#include "mapinverse/models/gaussian_mixture_fit.hpp"
#include "support/eigen_tensors.hpp"
#include "support/invalid_argument.hpp"
#include "support/random_tensors.hpp"

using namespace mapinverse;
using namespace mapinverse::testing;
using Catch::Matchers::Contains;

namespace {

/// 1200 + 2800 points of two Gaussians in n = 4, far apart (20 standard deviations), as
/// [N,1,2,2]; the first 1200 rows come from the first component.
struct TwoClusters {
  static constexpr int64_t kFirst = 1200;
  static constexpr int64_t kSecond = 2800;
  torch::Tensor means = torch::tensor({{-5.0, -5.0, 0.0, 1.0}, {5.0, 4.0, -1.0, 0.0}}, kDouble);
  torch::Tensor data;

  TwoClusters() {
    auto generator = make_generator(41);
    const auto factors = torch::tensor(
        {{{1.0, 0.0, 0.0, 0.0}, {0.5, 0.8, 0.0, 0.0}, {0.0, 0.3, 0.6, 0.0}, {0.2, 0.0, 0.1, 0.4}},
         {{0.7, 0.0, 0.0, 0.0}, {0.0, 1.1, 0.0, 0.0}, {-0.3, 0.2, 0.5, 0.0}, {0.0, 0.0, 0.4, 0.9}}},
        kDouble);
    const auto first =
        means[0] + torch::matmul(randn({kFirst, 4}, kDouble, generator), factors[0].t());
    const auto second =
        means[1] + torch::matmul(randn({kSecond, 4}, kDouble, generator), factors[1].t());
    data = torch::cat({first, second}).reshape({kFirst + kSecond, 1, 2, 2});
  }

  /// Rows [begin, begin + count) of the data as an Eigen matrix [count, 4].
  Eigen::MatrixXd cluster(int64_t begin, int64_t count) const {
    return to_matrix(data.reshape({-1, 4}).narrow(0, begin, count));
  }
};

/// Index of the fitted component whose mean is nearest to `mean`.
int64_t nearest_component(const GaussianMixturePrior& fitted, const torch::Tensor& mean) {
  return (fitted.parameters().means - mean).square().sum(1).argmin().item<int64_t>();
}

/// FitOptions with `num_components` and `rank` set and every other field at its default.
FitOptions fit_options(int64_t num_components, int64_t rank) {
  FitOptions options;
  options.num_components = num_components;
  options.rank = rank;
  return options;
}

}  // namespace

TEST_CASE("fit_gaussian_mixture recovers two separated clusters") {
  const TwoClusters clusters;
  const auto fitted = fit_gaussian_mixture(clusters.data, fit_options(2, 2));
  REQUIRE(fitted->num_components() == 2);
  REQUIRE(fitted->rank() == 2);
  CHECK(fitted->event_shape() == std::vector<int64_t>{1, 2, 2});

  const std::vector<int64_t> begins{0, TwoClusters::kFirst};
  const std::vector<int64_t> counts{TwoClusters::kFirst, TwoClusters::kSecond};
  std::vector<int64_t> matched;
  for (int64_t c = 0; c < 2; ++c) {
    INFO("true component " << c);
    const auto k = nearest_component(*fitted, clusters.means[c]);
    matched.push_back(k);
    // The means are recovered up to sampling error (std <= 1.1, >= 1200 points: 0.03).
    CHECK(max_error(fitted->parameters().means[k], clusters.means[c]) < 0.15);

    // With the clusters separated, k-means assigns exactly, and the fit is the cluster's
    // sample mean, its top-2 PCA and the mean of the remaining eigenvalues.
    const Eigen::MatrixXd points = clusters.cluster(begins[c], counts[c]);
    const Eigen::RowVectorXd mean = points.colwise().mean();
    const Eigen::MatrixXd centered = points.rowwise() - mean;
    const Eigen::MatrixXd scatter =
        centered.transpose() * centered / static_cast<double>(counts[c]);
    const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> solver(scatter);
    const Eigen::VectorXd values = solver.eigenvalues();  // ascending
    const auto& p = fitted->parameters();
    CHECK(p.weights[k].item<double>() ==
          Approx(static_cast<double>(counts[c]) / (TwoClusters::kFirst + TwoClusters::kSecond)));
    for (int64_t i = 0; i < 4; ++i) {
      CHECK(p.means[k][i].item<double>() == Approx(mean(i)).epsilon(0).margin(1e-12));
    }
    CHECK(p.eigenvalues[k][0].item<double>() == Approx(values(3)).epsilon(1e-10));
    CHECK(p.eigenvalues[k][1].item<double>() == Approx(values(2)).epsilon(1e-10));
    CHECK(p.residual_variances[k].item<double>() ==
          Approx(0.5 * (values(0) + values(1))).epsilon(1e-10));
    // The kept directions span the top eigenvectors (up to sign).
    const Eigen::MatrixXd top = solver.eigenvectors().rightCols(2);
    Eigen::MatrixXd basis(4, 2);
    for (int64_t i = 0; i < 4; ++i) {
      for (int64_t j = 0; j < 2; ++j) basis(i, j) = p.bases[k][i][j].item<double>();
    }
    CHECK((basis * basis.transpose() - top * top.transpose()).cwiseAbs().maxCoeff() < 1e-10);
  }
  CHECK(matched[0] != matched[1]);
}

TEST_CASE("fit_gaussian_mixture with rank >= n fits full covariances") {
  const TwoClusters clusters;
  const auto fitted = fit_gaussian_mixture(clusters.data, fit_options(2, 10));
  REQUIRE(fitted->rank() == 4);
  const auto covariances = fitted->component_covariances();
  const Eigen::MatrixXd points = clusters.cluster(0, TwoClusters::kFirst);
  const Eigen::MatrixXd centered = points.rowwise() - points.colwise().mean();
  const Eigen::MatrixXd scatter = centered.transpose() * centered / TwoClusters::kFirst;
  const auto k = nearest_component(*fitted, clusters.means[0]);
  for (int64_t i = 0; i < 4; ++i) {
    for (int64_t j = 0; j < 4; ++j) {
      CHECK(covariances[k][i][j].item<double>() == Approx(scatter(i, j)).epsilon(0).margin(1e-12));
    }
  }
}

TEST_CASE("fit_gaussian_mixture floors variances and is deterministic") {
  const TwoClusters clusters;
  auto options = fit_options(3, 1);
  options.min_variance = 2.0;
  options.seed = 5;
  const auto first = fit_gaussian_mixture(clusters.data, options);
  const auto second = fit_gaussian_mixture(clusters.data, options);
  CHECK(torch::equal(first->parameters().means, second->parameters().means));
  CHECK(torch::equal(first->parameters().bases, second->parameters().bases));
  CHECK(first->parameters().eigenvalues.min().item<double>() >= 2.0);
  CHECK(first->parameters().residual_variances.min().item<double>() >= 2.0);

  // A fitted mixture's samples are fixed by the seed.
  auto generator = make_generator(8);
  const auto samples = first->sample(50, generator);
  auto same_seed = make_generator(8);
  CHECK(torch::equal(first->sample(50, same_seed), samples));
  auto other_seed = make_generator(9);
  CHECK(!torch::equal(first->sample(50, other_seed), samples));
}

TEST_CASE("fit_gaussian_mixture rejects invalid options and data") {
  const TwoClusters clusters;
  FitOptions options;
  options.num_components = 0;
  CHECK_THROWS_WITH(options.validate(),
                    "FitOptions::num_components = 0. Violated constraint: num_components >= 1");
  options = FitOptions{};
  options.rank = -1;
  CHECK_THROWS_WITH(options.validate(), Contains("FitOptions::rank = -1"));
  options = FitOptions{};
  options.kmeans_iterations = -2;
  CHECK_THROWS_WITH(options.validate(), Contains("FitOptions::kmeans_iterations = -2"));
  options = FitOptions{};
  options.min_variance = 0.0;
  CHECK_THROWS_WITH(options.validate(), Contains("FitOptions::min_variance = 0"));

  options = FitOptions{};
  options.num_components = 2;
  CHECK_THAT(invalid_argument_message(
                 [&] { fit_gaussian_mixture(clusters.data.narrow(0, 0, 1), options); }),
             Contains("N >= num_components = 2, got [1,1,2,2]"));
  CHECK_THAT(
      invalid_argument_message([&] { fit_gaussian_mixture(torch::zeros({10}, kDouble), options); }),
      Contains("expected data of shape [N,...]"));
  auto bad = clusters.data.clone();
  bad[3][0][1][1] = std::numeric_limits<double>::quiet_NaN();
  CHECK_THAT(invalid_argument_message([&] { fit_gaussian_mixture(bad, options); }),
             Contains("data contains NaN"));
  CHECK_THAT(invalid_argument_message([&] {
               fit_gaussian_mixture(torch::zeros({10, 4}, torch::kInt64), options);
             }),
             Contains("floating-point"));
}
