#include "mapinverse/solvers/warm_start.hpp"

#include <fmt/format.h>
#include <torch/torch.h>

#include "mapinverse/core/error.hpp"

namespace mapinverse {
namespace {

// Added to the seeds of the second stage (the 64-bit golden ratio, as in splitmix64):
// far from any seed a user would pick next to the first.
constexpr uint64_t kSecondStageSeedOffset = 0x9E3779B97F4A7C15ULL;

Problem second_stage_problem(const Problem& problem, const at::Tensor& start) {
  Problem next = problem;
  next.start_image = start.detach();
  next.seed = problem.seed + kSecondStageSeedOffset;
  for (auto& seed : next.sample_seeds) seed += kSecondStageSeedOffset;
  return next;
}

// `tail` after `head`: steps and cumulative network calls of tail's history continue
// from head's.
Summary concatenate(Summary head, Summary tail, std::string name) {
  const auto steps = static_cast<int64_t>(head.history.size());
  for (auto entry : tail.history) {
    entry.step += steps;
    entry.total_steps += steps;
    entry.network_forwards += head.network_forwards;
    entry.network_vjps += head.network_vjps;
    entry.elapsed_time_in_seconds += head.total_time_in_seconds;
    head.history.push_back(entry);
  }
  tail.solver_name = std::move(name);
  tail.history = std::move(head.history);
  tail.network_forwards += head.network_forwards;
  tail.network_vjps += head.network_vjps;
  tail.total_time_in_seconds += head.total_time_in_seconds;
  return tail;
}

}  // namespace

WarmStart::WarmStart(std::shared_ptr<const Solver> first, std::shared_ptr<const Solver> second)
    : first_(std::move(first)), second_(std::move(second)) {
  require(first_ != nullptr, "WarmStart: expected a first solver, got a null pointer");
  require(second_ != nullptr, "WarmStart: expected a second solver, got a null pointer");
}

Summary WarmStart::solve(const Problem& problem,
                         const std::vector<IterationCallback>& callbacks) const {
  auto head = solve_stage(*first_, "first", problem, callbacks);
  if (head.termination == TerminationReason::kStoppedByCallback) {
    head.solver_name = name();
    return head;
  }
  const auto next = second_stage_problem(problem, head.estimate);
  auto tail = solve_stage(*second_, "second", next, callbacks);
  return concatenate(std::move(head), std::move(tail), name());
}

// A stage's NumericalError names the stage ("PGDM: ... NaN at step 1"); the user chose
// this solver, so the message leads with its name.
Summary WarmStart::solve_stage(const Solver& stage, const char* which, const Problem& problem,
                               const std::vector<IterationCallback>& callbacks) const {
  try {
    return stage.solve(problem, callbacks);
  } catch (const NumericalError& error) {
    throw NumericalError(fmt::format("{}: its {} stage failed: {}", name(), which, error.what()));
  }
}

WarmStartedMapGa::WarmStartedMapGa(const PriorModels& models, Options options)
    : options_(std::move(options)),
      noise_floor_(0.0),
      noiseless_(std::make_shared<Pgdm>(models, options_.warm_start),
                 std::make_shared<MapGa>(models, options_.map_ga)),
      noisy_(std::make_shared<Pgdm>(models, options_.warm_start),
             std::make_shared<MapGaPgdm>(models, options_.map_ga_pgdm)) {
  noise_floor_ = models.denoiser->schedule()->sigma(kEpsilon);
}

std::string WarmStartedMapGa::name() const {
  const auto noisy = noisy_.name();
  return noiseless_.name() + " | " + noisy.substr(noisy.find(" -> ") + 4);
}

std::string WarmStartedMapGa::name_at_noise(double sigma_y) const {
  return is_noisy(sigma_y) ? noisy_.name() : noiseless_.name();
}

Summary WarmStartedMapGa::solve(const Problem& problem,
                                const std::vector<IterationCallback>& callbacks) const {
  return is_noisy(problem.sigma_y) ? noisy_.solve(problem, callbacks)
                                   : noiseless_.solve(problem, callbacks);
}

}  // namespace mapinverse
