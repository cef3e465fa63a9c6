#include <cmath>
#include <memory>

// torch before Catch: glog, pulled in by torch, defines its own CHECK.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include "mapinverse/operators/dense_matrix.hpp"
#include "mapinverse/operators/inpainting.hpp"
#include "mapinverse/operators/masks.hpp"
#include "mapinverse/optimizers/adam.hpp"
#include "mapinverse/optimizers/momentum.hpp"
#include "mapinverse/solvers/map_ga.hpp"
#include "support/eigen_tensors.hpp"
#include "support/gaussian_prior.hpp"
#include "support/random_tensors.hpp"

using namespace mapinverse;
using Catch::Matchers::Contains;

namespace {

constexpr double kPriorVariance = 0.09;

// A Gaussian prior N(mu, s^2 I) on 8x8 images with its exact denoiser and consistency map.
struct GaussianInpainting {
  torch::Tensor mean = 0.2 * torch::sin(torch::arange(64, torch::kFloat64)).reshape({1, 1, 8, 8});
  torch::Tensor mask = paper_mask(PaperMask::kBox50, 8, 8).to(torch::kFloat64);
  PriorModels models{std::make_shared<testing::IsotropicGaussianDenoiser>(mean, kPriorVariance),
                     std::make_shared<testing::IsotropicGaussianConsistency>(mean, kPriorVariance)};

  Problem problem(double sigma_y, int64_t batch = 2) const {
    auto generator = make_generator(11);
    const auto truth =
        mean + std::sqrt(kPriorVariance) * randn({batch, 1, 8, 8}, torch::kFloat64, generator);
    auto y = mask * truth;
    if (sigma_y > 0) y = y + sigma_y * mask * randn_like(y, generator);
    Problem p;
    p.measurement = y;
    p.forward_operator = std::make_shared<Inpainting>(mask);
    p.sigma_y = sigma_y;
    p.image_shape = {1, 8, 8};
    p.seed = 5;
    return p;
  }

  // argmax_x log N(y; Mx, sigma_y^2) + log N(x; mu, s^2): per pixel, the precision-weighted
  // mean where observed and mu elsewhere (= the posterior mean for a Gaussian prior).
  torch::Tensor map_estimate(const Problem& p) const {
    const auto observed = (kPriorVariance * p.measurement + p.sigma_y * p.sigma_y * mean) /
                          (kPriorVariance + p.sigma_y * p.sigma_y);
    return mask * observed + (1 - mask) * mean;
  }
};

double relative_error(const torch::Tensor& estimate, const torch::Tensor& truth) {
  return ((estimate - truth).norm() / truth.norm()).item<double>();
}

// An n x n orthogonal matrix, the Q factor of a seeded standard normal draw.
Eigen::MatrixXd random_orthogonal(int64_t n, uint64_t seed) {
  const Eigen::MatrixXd draw = testing::to_matrix(testing::normal({n, n}, seed));
  return draw.householderQr().householderQ();
}

// An anisotropic Gaussian prior N(mu, Sigma), Sigma = U diag(lambda) U^T with lambda from
// 0.1 to 0.3 and U a random rotation, on 1x2x3 images, observed through a dense 4 x 6
// matrix H = W diag(s) V^T (W, V random orthonormal) with singular values s = 1, 0.7,
// 0.5, 0.3: H is not square and H H^T (eigenvalues 1, 0.49, 0.25, 0.09) is far from I,
// so H^T != H and (a I + b H H^T)^{-1} != I / (a + b), unlike an inpainting mask.
struct AnisotropicDenseProblem {
  static constexpr int64_t kPixels = 6;
  static constexpr int64_t kRows = 4;
  Eigen::MatrixXd eigenvectors = random_orthogonal(kPixels, 31);
  Eigen::VectorXd variances =
      (Eigen::VectorXd(kPixels) << 0.3, 0.24, 0.19, 0.15, 0.12, 0.1).finished();
  Eigen::VectorXd mean = 0.3 * testing::to_vector(testing::normal({kPixels}, 32));
  Eigen::MatrixXd matrix = random_orthogonal(kRows, 33) *
                           Eigen::Vector4d(1.0, 0.7, 0.5, 0.3).asDiagonal() *
                           random_orthogonal(kPixels, 34).leftCols(kRows).transpose();
  testing::AnisotropicGaussian prior{testing::to_tensor(mean).reshape({1, 1, 2, 3}),
                                     testing::to_tensor(eigenvectors),
                                     testing::to_tensor(variances)};

  Eigen::MatrixXd covariance() const {
    return eigenvectors * variances.asDiagonal() * eigenvectors.transpose();
  }

  // The models, with a consistency function that maps to time `epsilon`.
  PriorModels models(double epsilon = kEpsilon) const {
    return {std::make_shared<testing::AnisotropicGaussianDenoiser>(prior),
            std::make_shared<testing::AnisotropicGaussianConsistency>(prior, epsilon)};
  }

  // Two samples: x drawn from the prior, y = H x + sigma_y noise.
  Problem problem(double sigma_y) const {
    const Eigen::MatrixXd truth =
        (covariance().llt().matrixL() * testing::to_matrix(testing::normal({kPixels, 2}, 35)))
            .colwise() +
        mean;
    const Eigen::MatrixXd y =
        matrix * truth + sigma_y * testing::to_matrix(testing::normal({kRows, 2}, 36));
    Problem p;
    p.measurement = testing::to_tensor(Eigen::MatrixXd(y.transpose()));
    p.forward_operator =
        std::make_shared<DenseMatrix>(testing::to_tensor(matrix), DenseMatrix::Options{{1, 2, 3}});
    p.sigma_y = sigma_y;
    p.image_shape = {1, 2, 3};
    p.seed = 37;
    return p;
  }

  // Per sample, the maximiser of log N(y; H x, noise_covariance) + log N(x; mu, P) with
  // P = Sigma + sigma_eps^2 I: x = mu + P H^T (H P H^T + noise_covariance)^{-1} (y - H mu).
  // sigma_eps = 0 and noise_covariance = sigma_y^2 I give the exact posterior's MAP (= its
  // mean, the posterior being Gaussian). MAP-GA ascends eq. 16 with grad log p(y | x) =
  // H^T (sigma_y^2 I + sigma_eps^2 H H^T)^{-1} (y - H x) and grad log p(x) = (D(x, sigma_eps)
  // - x) / sigma_eps^2 = -P^{-1} (x - mu) (§3.3), so it converges to the maximiser for
  // noise_covariance = sigma_y^2 I + sigma_eps^2 H H^T.
  torch::Tensor gaussian_map(const Problem& p, double sigma_eps,
                             const Eigen::MatrixXd& noise_covariance) const {
    const Eigen::MatrixXd smoothed =
        covariance() + sigma_eps * sigma_eps * Eigen::MatrixXd::Identity(kPixels, kPixels);
    const Eigen::MatrixXd system = matrix * smoothed * matrix.transpose() + noise_covariance;
    const Eigen::MatrixXd y = testing::to_matrix(p.measurement).transpose();
    const Eigen::MatrixXd x =
        (smoothed * matrix.transpose() * system.llt().solve(y.colwise() - matrix * mean))
            .colwise() +
        mean;
    return testing::to_tensor(Eigen::MatrixXd(x.transpose())).reshape({2, 1, 2, 3});
  }
};

}  // namespace

TEST_CASE("MAP-GA with the prior reaches the closed-form MAP of a Gaussian prior") {
  const GaussianInpainting fixture;
  const auto problem = fixture.problem(0.1);
  MapGa::Options options;
  options.num_time_steps = 10;
  options.num_iter = 20;
  const auto summary = MapGa(fixture.models, options).solve(problem);
  const double error = relative_error(summary.estimate, fixture.map_estimate(problem));
  INFO(summary.brief_report() << ", relative error " << error);
  CHECK(error <= 1e-2);
  CHECK(summary.termination == TerminationReason::kCompleted);
  CHECK(summary.history.size() == 10);
  CHECK(summary.network_vjps == 200);
  // Each inner iteration: one C forward and one D forward; plus one C per time step.
  CHECK(summary.network_forwards == 2 * 200 + 10);
}

TEST_CASE("MAP-GA reaches the closed-form MAP of an anisotropic prior under a dense H") {
  // Measured relative errors: 9e-6 and 2.6e-5, what the last renoise leaves after 50
  // ascent steps, plus (first section) MAP-GA's O(sigma_eps^2) offset from the exact MAP.
  constexpr double kTolerance = 1e-4;
  const AnisotropicDenseProblem fixture;
  const auto problem = fixture.problem(0.2);
  const double variance_y = problem.sigma_y * problem.sigma_y;
  const Eigen::MatrixXd gram = fixture.matrix * fixture.matrix.transpose();
  const Eigen::MatrixXd identity = Eigen::MatrixXd::Identity(gram.rows(), gram.cols());
  MapGa::Options options;
  options.num_time_steps = 10;
  options.num_iter = 50;
  options.prior_at_noise_level = false;  // the paper's prior score at sigma_eps

  SECTION("default: the MAP under the prior smoothed to sigma_p^2 = sigma_y^2 + sigma_eps^2") {
    const double sigma_eps = 0.002;
    const double sigma_p = std::sqrt(variance_y + sigma_eps * sigma_eps);
    const auto target = fixture.gaussian_map(problem, sigma_p,
                                             variance_y * identity + sigma_eps * sigma_eps * gram);
    options.prior_at_noise_level = true;
    const auto summary = MapGa(fixture.models(), options).solve(problem);
    const double error = relative_error(summary.estimate, target);
    INFO(summary.brief_report() << ", relative error " << error);
    CHECK(error <= kTolerance);
    // 0.05 away from the exact MAP: the two settings are told apart.
    const auto exact_map = fixture.gaussian_map(problem, 0.0, variance_y * identity);
    CHECK(relative_error(target, exact_map) > 100 * kTolerance);
  }
  SECTION("sigma_eps = 0.002: the exact posterior's MAP") {
    // Here the data term's Gram matrix sigma_y^2 I + 4e-6 H H^T is practically a multiple
    // of I: a Gram solve that ignored H H^T would pass; the next section catches it.
    const auto exact_map = fixture.gaussian_map(problem, 0.0, variance_y * identity);
    const auto summary = MapGa(fixture.models(), options).solve(problem);
    const double error = relative_error(summary.estimate, exact_map);
    INFO(summary.brief_report() << ", relative error " << error);
    CHECK(error <= kTolerance);
  }
  SECTION("sigma_eps = 0.2: the point eq. 16's ascent converges to, where H H^T enters") {
    // A consistency function that maps to sigma_eps = 0.2 makes the data term's Gram
    // matrix sigma_y^2 I + sigma_eps^2 H H^T as far from a multiple of I as H H^T is.
    const double sigma_eps = 0.2;
    const double variance_eps = sigma_eps * sigma_eps;
    const auto target =
        fixture.gaussian_map(problem, sigma_eps, variance_y * identity + variance_eps * gram);
    const auto summary = MapGa(fixture.models(sigma_eps), options).solve(problem);
    const double error = relative_error(summary.estimate, target);
    INFO(summary.brief_report() << ", relative error " << error);
    CHECK(error <= kTolerance);
    // Where a Gram solve that took H H^T for I would lead: 0.13 away (relative).
    const auto gram_as_identity =
        fixture.gaussian_map(problem, sigma_eps, (variance_y + variance_eps) * identity);
    CHECK(relative_error(gram_as_identity, target) > 100 * kTolerance);
  }
}

TEST_CASE("MAP-GA's default step stays stable on noisy data when ||H|| > 1") {
  // H scaled by 2.5 (singular values 2.5 ... 0.75): at sigma_y = 0.2 the data term is
  // kappa = 6.2 times stiffer than the paper's lambda = sigma_y^2 + sigma_eps^2 allows,
  // and that step's ascent grows without bound (to 1e10 and beyond in 50 steps). The
  // default step is lambda / kappa and converges to the same point as in the test above.
  AnisotropicDenseProblem fixture;
  fixture.matrix *= 2.5;
  const auto problem = fixture.problem(0.2);
  const double variance_y = problem.sigma_y * problem.sigma_y;
  const double sigma_eps = 0.002;
  const double variance_eps = sigma_eps * sigma_eps;
  const double paper_step = variance_y + variance_eps;
  const double norm_squared = 6.25;
  const double kappa = norm_squared * paper_step / (variance_y + variance_eps * norm_squared);
  CHECK(MapGa::default_learning_rate(problem, sigma_eps) ==
        Approx(paper_step / kappa).epsilon(1e-6));

  MapGa::Options options;
  options.num_time_steps = 10;
  options.num_iter = 400;  // the step is kappa times shorter: more steps to converge
  const Eigen::MatrixXd gram = fixture.matrix * fixture.matrix.transpose();
  const Eigen::MatrixXd identity = Eigen::MatrixXd::Identity(gram.rows(), gram.cols());
  const auto target = fixture.gaussian_map(problem, std::sqrt(paper_step),
                                           variance_y * identity + variance_eps * gram);
  const auto summary = MapGa(fixture.models(), options).solve(problem);
  const double error = relative_error(summary.estimate, target);
  INFO(summary.brief_report() << ", relative error " << error);
  CHECK(error <= 1e-3);
  // Noiseless, the data term's curvature is 1 / sigma_eps^2 whatever H's scale: the
  // paper's step stands.
  Problem noiseless = fixture.problem(0.0);
  CHECK(MapGa::default_learning_rate(noiseless, sigma_eps) == Approx(variance_eps));
}

TEST_CASE("MAP-GA on noiseless inpainting matches y on the observed pixels") {
  const GaussianInpainting fixture;
  const auto problem = fixture.problem(0.0);
  MapGa::Options options;
  options.num_time_steps = 10;
  options.num_iter = 10;
  for (bool use_prior : {true, false}) {
    options.use_prior = use_prior;
    const auto summary = MapGa(fixture.models, options).solve(problem);
    const double error =
        (fixture.mask * (summary.estimate - problem.measurement)).abs().max().item<double>();
    INFO(summary.solver_name << ": max observed-pixel error " << error);
    CHECK(error < 1e-3);
  }
}

TEST_CASE("the four Table 1 variants are one option away and named as in the paper") {
  const GaussianInpainting fixture;
  MapGa::Options options;
  CHECK(MapGa(fixture.models, options).name() == "MAP-GA");
  options.use_prior = false;
  CHECK(MapGa(fixture.models, options).name() == "MAP-GA(NP)");
  options.consistency_source = ConsistencySource::kDenoiser;
  CHECK(MapGa(fixture.models, options).name() == "MAP-GA(D,NP)");
  options.use_prior = true;
  CHECK(MapGa(fixture.models, options).name() == "MAP-GA(D)");
}

TEST_CASE("MAP-GA's oracle start begins at tau_hat around the given image (seed Table 2)") {
  const GaussianInpainting fixture;
  const auto problem = fixture.problem(0.05);
  const auto start = fixture.map_estimate(problem);
  MapGa::Options options;
  options.t_max = 0.5;
  options.num_time_steps = 1;
  options.num_iter = 0;
  const MapGa solver(fixture.models, options);
  auto oracle = problem;
  oracle.start_image = start;
  CHECK(solver.time_steps() == std::vector<double>{0.5, kEpsilon});
  // Without ascent steps the result is C(z, 0.5) for z = start + sigma(0.5) xi, with xi
  // the first draw from the problem's seed.
  auto generator = make_generator(problem.seed);
  const auto z = start + 0.5 * randn(problem.batch_shape(), torch::kFloat64, generator);
  const auto expected = fixture.models.consistency->origin(z, 0.5);
  CHECK(torch::allclose(solver.solve(oracle).estimate, expected, 0.0, 1e-12));
  // With ascent the estimate settles at the MAP; the prior term's step lambda/s^2 is
  // small for sigma_y = 0.05, hence the long inner loop.
  options.num_time_steps = 4;
  options.num_iter = 150;
  CHECK(relative_error(MapGa(fixture.models, options).solve(oracle).estimate, start) < 1e-2);
}

TEST_CASE("MAP-GA accepts other optimizers and a stopping noise level") {
  const GaussianInpainting fixture;
  const auto problem = fixture.problem(0.1);
  MapGa::Options options;
  options.num_time_steps = 5;
  options.num_iter = 40;
  Momentum::Options momentum_options;
  momentum_options.momentum = 0.5;
  options.optimizer = std::make_shared<Momentum>(momentum_options);
  options.learning_rate = 0.005;
  const auto momentum = MapGa(fixture.models, options).solve(problem);
  CHECK(relative_error(momentum.estimate, fixture.map_estimate(problem)) < 2e-2);
  options.stop_sigma = 0.1;
  const MapGa stopping(fixture.models, options);
  CHECK(stopping.time_steps().back() == Approx(0.1));
}

TEST_CASE("a callback sees every step and can stop the solve") {
  const GaussianInpainting fixture;
  MapGa::Options options;
  options.num_time_steps = 6;
  options.num_iter = 2;
  int64_t seen = 0;
  const auto summary =
      MapGa(fixture.models, options).solve(fixture.problem(0.1), {[&](const IterationSummary& s) {
                                             ++seen;
                                             CHECK(s.total_steps == 6);
                                             return s.step == 3 ? CallbackResult::kStop
                                                                : CallbackResult::kContinue;
                                           }});
  CHECK(seen == 3);
  CHECK(summary.termination == TerminationReason::kStoppedByCallback);
  CHECK(summary.history.size() == 3);
  CHECK_THAT(summary.brief_report(), Contains("STOPPED_BY_CALLBACK"));
  CHECK_THAT(summary.full_report(), Contains("residual"));
}

TEST_CASE("the same seed gives bit-identical MAP-GA results") {
  const GaussianInpainting fixture;
  MapGa::Options options;
  options.num_time_steps = 3;
  options.num_iter = 3;
  const MapGa solver(fixture.models, options);
  auto problem = fixture.problem(0.1);
  const auto first = solver.solve(problem).estimate;
  CHECK(torch::equal(first, solver.solve(problem).estimate));
  problem.seed = 6;
  CHECK_FALSE(torch::equal(first, solver.solve(problem).estimate));
}

TEST_CASE("MapGa validates its options and models") {
  const GaussianInpainting fixture;
  MapGa::Options options;
  options.num_time_steps = 0;
  CHECK_THROWS_WITH(MapGa(fixture.models, options), Contains("num_time_steps = 0"));
  options = MapGa::Options{};
  options.learning_rate = std::nan("");
  CHECK_THROWS_WITH(MapGa(fixture.models, options), Contains("learning_rate = nan"));
  options = MapGa::Options{};
  CHECK_THROWS_WITH(MapGa(PriorModels{nullptr, fixture.models.consistency}, options),
                    Contains("use_prior = true needs PriorModels::denoiser"));
  auto problem = fixture.problem(0.1);
  problem.sigma_y = -1;
  options.num_time_steps = 2;
  CHECK_THROWS_WITH(MapGa(fixture.models, options).solve(problem), Contains("sigma_y = -1"));
  problem = fixture.problem(0.1);
  problem.image_shape = {1, 4, 4};
  CHECK_THROWS_AS(MapGa(fixture.models, options).solve(problem), std::invalid_argument);
}
