// A forward operator written outside the library: y = x * gain + offset per pixel,
// checked like the library's own (require, check_floating, check_shape), differentiated
// by autograd for the solvers, and solved with DPS on an exact Gaussian-mixture prior.

#include <iostream>
#include <memory>
#include <string>

#include <torch/torch.h>

#include <mapinverse/mapinverse.hpp>

namespace {

using namespace mapinverse;

/// A(x) = gain * x + offset, elementwise: linear plus a constant, so not a
/// LinearOperator; the solvers linearise it through autograd.
class AffineIntensity final : public ForwardOperator {
 public:
  AffineIntensity(double gain, double offset) : gain_(gain), offset_(offset) {
    require(gain != 0.0, "AffineIntensity: gain = 0. Violated constraint: gain != 0");
  }

  at::Tensor apply(const at::Tensor& x) const override {
    check_floating(x, "AffineIntensity::apply()", "x");
    check_shape(x, {-1, 1, 4, 4}, "AffineIntensity::apply()", "x");
    return gain_ * x + offset_;
  }

  std::string name() const override { return "AffineIntensity"; }

 private:
  double gain_;
  double offset_;
};

}  // namespace

int main() try {
  // A two-component mixture over 4x4 images whose exact posterior the library knows.
  const auto options64 = torch::TensorOptions().dtype(torch::kFloat64);
  const auto means =
      torch::stack({torch::full({16}, -0.5, options64), torch::full({16}, 0.5, options64)});
  const auto covariances = 0.04 * torch::eye(16, options64).expand({2, 16, 16});
  const auto prior = GaussianMixturePrior::from_full_covariances(torch::full({2}, 0.5, options64),
                                                                 means, covariances, {1, 4, 4});

  Problem problem;
  problem.forward_operator = std::make_shared<AffineIntensity>(2.0, 0.1);
  problem.image_shape = {1, 4, 4};
  problem.sigma_y = 0.05;
  problem.seed = 3;
  const auto truth = torch::full({1, 1, 4, 4}, 0.45, torch::kFloat64);
  problem.measurement = problem.forward_operator->apply(truth);

  Dps::Options dps_options;
  dps_options.schedule.num_steps = 100;
  const auto summary = Dps({prior, nullptr}, dps_options).solve(problem);
  std::cout << summary.brief_report() << "\n"
            << "mean of the estimate: " << summary.estimate.mean().item<double>()
            << " (truth 0.45)\n";
  return 0;
} catch (const std::exception& error) {
  std::cerr << "error: " << error.what() << "\n";
  return 1;
}
