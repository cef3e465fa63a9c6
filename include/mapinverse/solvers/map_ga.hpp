#pragma once

#include <cmath>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mapinverse/core/autograd.hpp"
#include "mapinverse/core/tensor.hpp"
#include "mapinverse/core/error.hpp"
#include "mapinverse/core/random.hpp"
#include "mapinverse/core/time_steps.hpp"
#include "mapinverse/models/denoiser_as_consistency.hpp"
#include "mapinverse/optimizers/gradient_ascent.hpp"
#include "mapinverse/solvers/data_term.hpp"
#include "mapinverse/solvers/solver.hpp"

namespace mapinverse {

/// Which network plays the consistency function C in MAP-GA.
enum class ConsistencySource {
  /// The consistency model (paper Alg. 2 as written).
  kConsistencyModel,
  /// The denoiser, C(z, t) = D(z, sigma(t)): the paper's "D" variants (§4, Table 1).
  kDenoiser,
};

/// What MapGa and the MAP-GA stage of MapGaPgdm share: the time steps, the ascent
/// budget and rule, and the consistency function.
struct MapGaSchedule {
  /// Outer time steps n (paper's best budget: 20 x 50 = 1000).
  int64_t num_time_steps = 20;
  /// Ascent iterations per time step.
  int64_t num_iter = 50;
  /// tau_n, the first time step (paper: T = 80; seed Table 2's oracle start: 0.5).
  double t_max = kTimeMax;
  /// Karras spacing of the time steps (Karras et al. 2022, eq. 5).
  double rho = 7.0;
  /// kDenoiser gives the paper's "D" variants (Table 1, Table 3's MAP-GA-PGDM(D)).
  ConsistencySource consistency_source = ConsistencySource::kConsistencyModel;
  /// Step size lambda. Unset: sigma_y^2 + sigma_eps^2, the paper's choice (§5), divided,
  /// for a noisy problem whose operator has ||A|| > 1, by the factor kappa > 1 by which
  /// the data term is then stiffer than that step allows (MapGa::default_learning_rate).
  std::optional<double> learning_rate;
  /// Ratio of the last time step's step size to the first's: time step i of n ascends
  /// with lambda_i = lambda decay^(i / (n - 1)) (paper eq. 12 with a per-step lambda);
  /// 1 keeps the paper's constant lambda.
  double learning_rate_decay = 1.0;
  /// The ascent rule; null means GradientAscent (paper eq. 12). Its state is restarted
  /// at every time step, since renoising changes the objective.
  std::shared_ptr<const Optimizer> optimizer;

  /// Throws std::invalid_argument naming `owner` (e.g. "MapGa::Options") and the field.
  void validate_schedule(std::string_view owner) const {
    require(num_time_steps >= 1,
            "{}::num_time_steps = {}. Violated constraint: num_time_steps >= 1", owner,
            num_time_steps);
    require(num_iter >= 0, "{}::num_iter = {}. Violated constraint: num_iter >= 0", owner,
            num_iter);
    require(std::isfinite(t_max) && t_max > 0.0, "{}::t_max = {}. Violated constraint: t_max > 0",
            owner, t_max);
    require(std::isfinite(rho) && rho > 0.0, "{}::rho = {}. Violated constraint: rho > 0", owner,
            rho);
    require(std::isfinite(learning_rate_decay) && learning_rate_decay > 0.0,
            "{}::learning_rate_decay = {}. Violated constraint: learning_rate_decay > 0 and finite",
            owner, learning_rate_decay);
    if (learning_rate) {
      require(std::isfinite(*learning_rate) && *learning_rate > 0.0,
              "{}::learning_rate = {}. Violated constraint: learning_rate > 0 and finite", owner,
              *learning_rate);
    }
  }
};

/// MAP-GA, paper Algorithms 1-2: MAP estimation through a consistency model. For each
/// time step t = tau_n ... tau_1 it runs `num_iter` ascent steps on z of
///   log p(C(z, t) | y)  (eqs. 14-17; gradient = (dC/dz)^T grad_x log p(x | y), eq. 16),
/// with grad_x log p(y | x) = H^T (sigma_y^2 I + sigma_eps^2 H H^T)^{-1} (y - H x) and,
/// when use_prior, grad_x log p(x) ~ (D(x, sigma_p) - x) / sigma_p^2 (§3.3). The paper
/// takes sigma_p = sigma_eps; by default (prior_at_noise_level) sigma_p^2 = sigma_y^2 +
/// sigma_eps^2: the same on noiseless problems, and on noisy ones the prior's score at
/// the noise level the data term allows, so that both terms have the curvature
/// 1 / (sigma_y^2 + sigma_eps^2) and the paper's step lambda = sigma_y^2 + sigma_eps^2
/// is a unit step for each. The ascent then converges to the MAP under the prior smoothed
/// to sigma_p rather than the exact one; with the paper's sigma_eps the prior's curvature
/// on a network prior is up to (sigma_y / sigma_eps)^2 times the step's limit (626 at
/// sigma_y = 0.05) and the ascent diverged (9.5 dB on box50). Then renoises
/// z = C(z, t) + sqrt(sigma(tau_{i-1})^2 - sigma(tau_0)^2) xi. The Table 1 variants are
/// one option away: NP = use_prior false, D = consistency_source kDenoiser.
class MapGa final : public Solver {
 public:
  struct Options : MapGaSchedule {
    /// sigma(tau_0), where the schedule ends. Unset: sigma(epsilon) of the consistency
    /// function. Alg. 3 sets it to sigma_y.
    std::optional<double> stop_sigma;
    /// Include the prior gradient (needs a denoiser). False = the "NP" variant.
    bool use_prior = true;
    /// The prior's score at sigma_p^2 = sigma_y^2 + sigma_eps^2 (true) or at sigma_eps,
    /// the paper's (false); the two agree on noiseless problems (class comment).
    bool prior_at_noise_level = true;

    void validate() const {
      validate_schedule("MapGa::Options");
      if (stop_sigma) {
        require(std::isfinite(*stop_sigma) && *stop_sigma > 0.0,
                "MapGa::Options::stop_sigma = {}. Violated constraint: stop_sigma > 0",
                *stop_sigma);
      }
    }
  };

  explicit MapGa(PriorModels models) : MapGa(std::move(models), Options{}) {}
  MapGa(PriorModels models, Options options)
      : models_(std::move(models)), options_(std::move(options)) {
    options_.validate();
    if (options_.consistency_source == ConsistencySource::kDenoiser) {
      require(models_.denoiser != nullptr,
              "MapGa: consistency_source = kDenoiser needs PriorModels::denoiser");
      consistency_ = std::make_shared<DenoiserAsConsistency>(models_.denoiser);
    } else {
      require(models_.consistency != nullptr,
              "MapGa: consistency_source = kConsistencyModel needs PriorModels::consistency");
      consistency_ = models_.consistency;
    }
    require(!options_.use_prior || models_.denoiser != nullptr,
            "MapGa: use_prior = true needs PriorModels::denoiser");
    if (!options_.optimizer) options_.optimizer = std::make_shared<GradientAscent>();
    const double floor = stop_sigma();
    require(consistency_->schedule()->sigma(options_.t_max) > floor,
            "MapGa::Options::t_max = {}: sigma(t_max) must exceed the final noise level {}",
            options_.t_max, floor);
  }

  std::string name() const override {
    std::string label = "MAP-GA";
    const bool denoiser = options_.consistency_source == ConsistencySource::kDenoiser;
    if (denoiser || !options_.use_prior) {
      label += std::string("(") + (denoiser ? "D" : "") +
               (denoiser && !options_.use_prior ? "," : "") + (options_.use_prior ? "" : "NP") +
               ")";
    }
    return label;
  }

  const Options& options() const { return options_; }

  /// lambda when Options::learning_rate is unset: the paper's sigma_y^2 + sigma_eps^2 over
  /// max(1, kappa), kappa = ||A||^2 (sigma_y^2 + sigma_eps^2) / (sigma_y^2 + sigma_eps^2
  /// ||A||^2): 1 on noiseless problems and wherever ||A|| <= 1 (masks, pooling, blur).
  static double default_learning_rate(const Problem& problem, double sigma_eps);

  /// The time steps tau_n ... tau_0 (n + 1 values, decreasing).
  std::vector<double> time_steps() const {
    TimeSteps::Options grid;
    grid.num_steps = options_.num_time_steps + 1;
    grid.t_max = options_.t_max;
    grid.t_min = consistency_->schedule()->time(stop_sigma());
    grid.rho = options_.rho;
    return TimeSteps(grid).values();
  }

  Summary solve(const Problem& problem,
                const std::vector<IterationCallback>& callbacks = {}) const override {
    problem.validate();
    detail::SolveRecorder recorder(name(), callbacks, options_.num_time_steps);
    auto noise = detail::noise_source(problem);
    return recorder.finish(run(problem, recorder, noise));
  }

 private:
  friend class MapGaPgdm;  // runs MAP-GA as Algorithm 3's first phase

  // The algorithm on a validated problem, recording into `recorder`: returns the final
  // clean estimate C(z, tau_1) (= z after the last renoise to sigma(tau_0)).
  at::Tensor run(const Problem& problem, detail::SolveRecorder& recorder, NoiseSource& noise) const;

  // num_iter ascent steps on z at time t (the inner loop of Alg. 2).
  at::Tensor ascend(const Problem& problem, at::Tensor z, double t, double learning_rate,
                    double sigma_eps, detail::SolveRecorder& recorder) const;

  // The prior's denoiser only ever gives a value: inference mode skips autograd's
  // bookkeeping altogether. Its output is an inference tensor, used here only as the
  // input of out-of-place arithmetic, which gives ordinary tensors.
  at::Tensor denoise_for_inference(const at::Tensor& x, double sigma,
                                   const at::Tensor& labels) const {
    c10::InferenceMode inference;
    return models_.denoiser->denoise(x, sigma, labels);
  }

  at::Tensor evaluate_without_grad(const at::Tensor& z, double t, const at::Tensor& labels) const {
    at::NoGradGuard no_grad;
    return consistency_->origin(z, t, labels);
  }

  // decay^(i / (n - 1)) for time step i of n (learning_rate_decay).
  double learning_rate_factor(size_t step) const {
    if (options_.num_time_steps < 2) return 1.0;
    const double position =
        static_cast<double>(step) / static_cast<double>(options_.num_time_steps - 1);
    return std::pow(options_.learning_rate_decay, position);
  }

  double stop_sigma() const {
    return options_.stop_sigma.value_or(consistency_->schedule()->sigma(consistency_->epsilon()));
  }

  PriorModels models_;
  Options options_;
  std::shared_ptr<const ConsistencyModel> consistency_;
};

}  // namespace mapinverse
