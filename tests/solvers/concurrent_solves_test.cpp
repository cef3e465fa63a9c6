// Solvers are immutable and may serve several threads at once (solvers/solver.hpp): one
// solver object, four threads, four different problems, and each result must be the one
// the same problem gives when solved alone. The shipped U-Nets take part for their
// mutex-guarded cache of noise embeddings; the Gaussian mixture for an exact prior.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "mapinverse/core/random.hpp"
#include "mapinverse/models/pretrained.hpp"
#include "mapinverse/operators/inpainting.hpp"
#include "mapinverse/operators/masks.hpp"
#include "mapinverse/optimizers/adam.hpp"
#include "mapinverse/solvers/registry.hpp"
#include "support/mixture_problem.hpp"

using namespace mapinverse;

namespace {

constexpr int kThreads = 4;

/// Sets LibTorch's intra-op thread count for a scope. Results are compared bit for bit,
/// which needs one intra-op thread: parallel reductions split their work by thread count,
/// and OpenMP may give callers that run at the same time fewer threads than one alone.
class IntraOpThreads {
 public:
  explicit IntraOpThreads(int threads) : before_(torch::get_num_threads()) {
    torch::set_num_threads(threads);
  }
  ~IntraOpThreads() { torch::set_num_threads(before_); }

 private:
  int before_;
};

/// Solves each problem alone, then all of them at once from their own threads (every
/// thread solving its problem twice, so that the solves overlap), and checks that each
/// concurrent result equals the lone one bit for bit.
void check_concurrent_solves(const Solver& solver, const std::vector<Problem>& problems) {
  std::vector<torch::Tensor> alone;
  for (const auto& problem : problems) alone.push_back(solver.solve(problem).estimate);
  std::vector<std::vector<torch::Tensor>> together(problems.size());
  std::vector<std::string> errors(problems.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < problems.size(); ++i) {
    threads.emplace_back([&, i] {
      try {
        for (int repeat = 0; repeat < 2; ++repeat) {
          together[i].push_back(solver.solve(problems[i]).estimate);
        }
      } catch (const std::exception& error) {
        errors[i] = error.what();
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (size_t i = 0; i < problems.size(); ++i) {
    INFO(solver.name() << ", problem " << i);
    REQUIRE(errors[i].empty());
    for (const auto& result : together[i]) CHECK(torch::equal(result, alone[i]));
  }
  // Different problems give different results: the comparison above can fail.
  CHECK_FALSE(torch::equal(alone[0], alone[1]));
}

/// Four inpainting problems on 28 x 28 images: different images, masks, noise and seeds.
std::vector<Problem> image_problems() {
  const auto masks = all_paper_masks();
  std::vector<Problem> problems;
  for (int i = 0; i < kThreads; ++i) {
    auto generator = make_generator(100 + i);
    const auto image = torch::rand({1, 1, 28, 28}, generator) * 2 - 1;
    const auto mask = paper_mask(masks[static_cast<size_t>(i) % masks.size()], 28, 28);
    Problem problem;
    problem.forward_operator = std::make_shared<Inpainting>(mask);
    problem.sigma_y = 0.05;
    problem.measurement =
        problem.forward_operator->apply(image) + 0.05 * torch::randn({1, 1, 28, 28}, generator);
    problem.image_shape = {1, 28, 28};
    problem.seed = 7 + static_cast<uint64_t>(i);
    problems.push_back(problem);
  }
  return problems;
}

}  // namespace

TEST_CASE("one solver object serves 4 threads: the shipped U-Nets", "[solvers][threads]") {
  const IntraOpThreads one(1);
  const PriorModels models{load_unet_denoiser(shipped_model_path(kDenoiserModelFile)),
                           load_unet_consistency(shipped_model_path(kConsistencyModelFile))};
  const auto problems = image_problems();
  SolverSettings settings;
  settings.time_steps = 3;
  settings.iterations = 2;
  settings.steps = 4;
  // Every registered solver: a new one is covered without an edit here.
  for (const auto& solver : registered_solvers()) {
    SECTION(solver.name) {
      check_concurrent_solves(*make_solver(solver.name, models, settings), problems);
    }
  }
  SECTION("map-ga with Adam (per-solve optimizer state)") {
    settings.optimizer = std::make_shared<Adam>(Adam::Options{});
    check_concurrent_solves(*make_solver("map-ga", models, settings), problems);
  }
}

TEST_CASE("one solver object serves 4 threads: an exact Gaussian-mixture prior",
          "[solvers][threads]") {
  const IntraOpThreads one(1);
  const testing::MixtureProblem mixture(0.1);
  std::vector<Problem> problems;
  for (int i = 0; i < kThreads; ++i) {
    auto problem = mixture.problem(2, 30 + static_cast<uint64_t>(i));
    problem.measurement = problem.measurement + 0.2 * i;  // a different y per thread
    problems.push_back(problem);
  }
  SolverSettings settings;
  settings.time_steps = 4;
  settings.iterations = 3;
  settings.steps = 8;
  for (const auto& solver : registered_solvers()) {
    SECTION(solver.name) {
      check_concurrent_solves(*make_solver(solver.name, mixture.models(), settings), problems);
    }
  }
}
