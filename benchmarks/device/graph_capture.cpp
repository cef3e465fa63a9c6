#include "graph_capture.hpp"

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "mapinverse/solvers/guided_estimate.hpp"
#include "peak_memory.hpp"

#ifdef MAPINVERSE_BENCHMARK_CUDA
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

using mapinverse::PriorModels;
using mapinverse::Problem;

#ifdef MAPINVERSE_BENCHMARK_CUDA
namespace {

double milliseconds_per_call(const std::function<void()>& call, int replays,
                             const torch::Device& device) {
  synchronize(device);
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < replays; ++i) call();
  synchronize(device);
  const std::chrono::duration<double, std::milli> elapsed =
      std::chrono::steady_clock::now() - start;
  return elapsed.count() / replays;
}

}  // namespace

nlohmann::json compare_graph_replay(const PriorModels& models, const Problem& problem,
                                    int replays) {
  try {
    const auto device = problem.measurement.device();
    // A static input: a graph replays on the memory it was captured with.
    const auto x_t = torch::randn(
        [&] {
          std::vector<int64_t> shape{problem.batch_size()};
          shape.insert(shape.end(), problem.image_shape.begin(), problem.image_shape.end());
          return shape;
        }(),
        problem.measurement.options());
    const double sigma = 1.0;
    const double a = problem.sigma_y * problem.sigma_y;
    const std::vector<mapinverse::IterationCallback> no_callbacks;
    mapinverse::detail::SolveRecorder recorder("graph", no_callbacks, 0);
    mapinverse::detail::GuidedEstimate eager_result;
    const auto step = [&] {
      return mapinverse::detail::guided_estimate(*models.denoiser, problem, x_t, sigma, a, 1.0,
                                                 recorder);
    };
    const double eager_ms = milliseconds_per_call([&] { eager_result = step(); }, replays, device);

    // Capture on a side stream after warm-up there, as CUDA graphs require.
    auto stream = c10::cuda::getStreamFromPool();
    at::cuda::CUDAGraph graph;
    mapinverse::detail::GuidedEstimate captured;
    {
      c10::cuda::CUDAStreamGuard guard(stream);
      for (int i = 0; i < 3; ++i) step();
      stream.synchronize();
      graph.capture_begin();
      captured = step();
      graph.capture_end();
    }
    const double graph_ms = milliseconds_per_call([&] { graph.replay(); }, replays, device);
    const double difference =
        (captured.guidance - eager_result.guidance).abs().max().item<double>();
    return {{"step", "PGDM guidance (forward + data term + VJP)"},
            {"eager_ms", eager_ms},
            {"graph_ms", graph_ms},
            {"speedup", eager_ms / graph_ms},
            {"max_abs_difference", difference},
            {"replays", replays}};
  } catch (const std::exception& error) {
    return {{"error", first_line(error.what())}};
  }
}
#else
nlohmann::json compare_graph_replay(const PriorModels&, const Problem&, int) {
  return {{"error", "this LibTorch has no CUDA"}};
}
#endif
