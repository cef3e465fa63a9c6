#include "cells.hpp"

#include <chrono>
#include <stdexcept>

#include "mapinverse/baselines/classical.hpp"
#include "mapinverse/core/error.hpp"
#include "mapinverse/core/random.hpp"
#include "mapinverse/metrics/distribution_distances.hpp"
#include "mapinverse/metrics/image_quality.hpp"
#include "mapinverse/models/gaussian_mixture_posterior.hpp"
#include "mapinverse/models/ode_consistency.hpp"

using namespace mapinverse;
using nlohmann::json;

namespace matrix {
namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

Problem image_problem(const ImageCase& image_case) {
  Problem problem;
  problem.forward_operator =
      image_case.problem->make(image_case.truth.size(2), image_case.truth.size(3));
  auto generator = make_generator(image_case.seed);
  auto y = problem.forward_operator->apply(image_case.truth);
  if (image_case.sigma_y > 0) y = y + image_case.sigma_y * randn_like(y, generator);
  problem.measurement = y;
  problem.sigma_y = image_case.sigma_y;
  problem.image_shape = {1, image_case.truth.size(2), image_case.truth.size(3)};
  problem.seed = image_case.seed;
  return problem;
}

json image_scores(const torch::Tensor& estimate, const ImageCase& image_case) {
  const auto clamped = estimate.clamp(-1.0, 1.0);
  const auto psnr_values = psnr(clamped, image_case.truth).to(torch::kDouble).contiguous();
  const auto ssim_values = ssim(clamped, image_case.truth);
  std::vector<double> per_image(psnr_values.data_ptr<double>(),
                                psnr_values.data_ptr<double>() + psnr_values.numel());
  return {{"status", "ok"},
          {"psnr", psnr_values.mean().item<double>()},
          {"ssim", ssim_values.mean().item<double>()},
          {"psnr_per_image", per_image}};
}

// A solver's refusal is std::invalid_argument; everything else it throws is a defect.
template <class Run>
json guarded(Run&& run) {
  try {
    return run();
  } catch (const std::invalid_argument& error) {
    return {{"status", "refused"}, {"message", error.what()}};
  } catch (const std::exception& error) {
    return {{"status", "failed"}, {"message", error.what()}};
  }
}

}  // namespace

json run_image_cell(const std::string& solver, const PriorModels& models,
                    const ImageCase& image_case) {
  return guarded([&] {
    const auto problem = image_problem(image_case);
    const auto instance = make_solver(solver, models, SolverSettings{});
    const auto start = std::chrono::steady_clock::now();
    const auto summary = instance->solve(problem);
    const double seconds = seconds_since(start);
    auto record = image_scores(summary.estimate, image_case);
    const auto images = static_cast<double>(image_case.truth.size(0));
    record["calls_per_image"] = summary.network_evaluations();
    record["seconds_per_image"] = seconds / images;
    return record;
  });
}

json run_image_baseline(const ImageCase& image_case) {
  return guarded([&] {
    const auto problem = image_problem(image_case);
    const auto start = std::chrono::steady_clock::now();
    const auto restoration = classical_restoration(problem);
    const double seconds = seconds_since(start);
    auto record = image_scores(restoration.estimate, image_case);
    record["method"] = restoration.method;
    record["calls_per_image"] = 0;
    record["seconds_per_image"] = seconds / static_cast<double>(image_case.truth.size(0));
    return record;
  });
}

json mixture_reference(const MixtureProblem& problem, int64_t draws, torch::Tensor& exact_draws) {
  auto generator = make_generator(4242);
  const auto exact = posterior(*problem.prior, *problem.op, problem.measurement, problem.sigma_y);
  const auto flat = [](const torch::Tensor& x) { return x.reshape({x.size(0), -1}); };
  exact_draws = flat(exact.sample(draws, generator));
  const double floor = sliced_wasserstein(flat(exact.sample(draws, generator)), exact_draws, 100);
  const double prior_distance =
      sliced_wasserstein(flat(problem.prior->sample(draws, generator)), exact_draws, 100);
  return {{"status", "ok"}, {"floor", floor}, {"prior_distance", prior_distance}};
}

json run_mixture_cell(const std::string& solver, const MixtureProblem& problem,
                      const torch::Tensor& exact_draws, int64_t samples) {
  return guarded([&] {
    OdeConsistency::Options ode;
    ode.num_steps = 8;
    const PriorModels models{problem.prior, std::make_shared<OdeConsistency>(problem.prior, ode)};
    Problem batch;
    auto sizes = problem.measurement.sizes().vec();
    sizes[0] = samples;
    batch.measurement = problem.measurement.expand(sizes).contiguous();
    batch.forward_operator = problem.op;
    batch.sigma_y = problem.sigma_y;
    batch.image_shape = {1, 1, problem.prior->dimension()};
    batch.seed = 17;
    const auto instance = make_solver(solver, models, SolverSettings{});
    const auto start = std::chrono::steady_clock::now();
    const auto summary = instance->solve(batch);
    const double seconds = seconds_since(start);
    const auto drawn = summary.estimate.reshape({samples, -1}).to(exact_draws.scalar_type());
    return json{{"status", "ok"},
                {"sliced_wasserstein", sliced_wasserstein(drawn, exact_draws, 100)},
                {"calls_per_sample", summary.network_evaluations()},
                {"seconds", seconds}};
  });
}

}  // namespace matrix
