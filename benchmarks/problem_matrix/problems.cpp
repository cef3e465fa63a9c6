#include "problems.hpp"

#include "../common/random_mixture.hpp"

#include <fmt/format.h>

#include "mapinverse/core/random.hpp"
#include "mapinverse/operators/average_pool.hpp"
#include "mapinverse/operators/dense_matrix.hpp"
#include "mapinverse/operators/gaussian_blur.hpp"
#include "mapinverse/operators/inpainting.hpp"
#include "mapinverse/operators/masks.hpp"

using namespace mapinverse;

namespace matrix {
namespace {

ImageProblem paper(PaperMask mask) {
  return {to_string(mask), [mask](int64_t h, int64_t w) -> std::shared_ptr<const ForwardOperator> {
            return std::make_shared<Inpainting>(paper_mask(mask, h, w));
          }};
}

// Each pixel observed with probability `keep`, one fixed mask for every image.
ImageProblem random_pixels(int percent) {
  return {fmt::format("random-{}", percent),
          [percent](int64_t h, int64_t w) -> std::shared_ptr<const ForwardOperator> {
            return std::make_shared<Inpainting>(
                random_mask(h, w, percent / 100.0, 7000 + static_cast<uint64_t>(percent)));
          }};
}

ImageProblem pooling(int64_t factor) {
  return {fmt::format("pool-{}x", factor),
          [factor](int64_t, int64_t) -> std::shared_ptr<const ForwardOperator> {
            AveragePool::Options options;
            options.factor = factor;
            return std::make_shared<AveragePool>(options);
          }};
}

ImageProblem blur(double sigma_pixels) {
  return {fmt::format("blur-{}", sigma_pixels),
          [sigma_pixels](int64_t, int64_t) -> std::shared_ptr<const ForwardOperator> {
            GaussianBlur::Options options;
            options.sigma_pixels = sigma_pixels;
            return std::make_shared<GaussianBlur>(options);
          }};
}

ImageProblem mask_file(const std::string& path) {
  return {"mask-png", [path](int64_t, int64_t) -> std::shared_ptr<const ForwardOperator> {
            return std::make_shared<Inpainting>(read_mask_png(path));
          }};
}

MixtureProblem mixture(int64_t n, int64_t observed, bool inpainting, double sigma_y,
                       uint64_t seed) {
  MixtureProblem problem;
  problem.name = inpainting ? fmt::format("mixture n={} inpaint half σy={}", n, sigma_y)
                            : fmt::format("mixture n={} d_y={} σy={}", n, observed, sigma_y);
  problem.name += fmt::format(" #{}", seed);
  // Portable draws: the same prior, operator, truth and y with every LibTorch build.
  problem.prior = benchmarks::random_mixture(n, seed, /*portable=*/true);
  problem.sigma_y = sigma_y;
  benchmarks::PortableDraws draws(seed + 1);
  if (inpainting) {
    auto mask = torch::zeros({1, 1, 1, n});
    mask.narrow(3, 0, n / 2).fill_(1.0);
    problem.op = std::make_shared<Inpainting>(mask);
  } else {
    DenseMatrix::Options dense;
    dense.input_shape = {1, 1, n};
    problem.op = std::make_shared<DenseMatrix>(
        draws.normal({observed, n}) / std::sqrt(static_cast<double>(n)), dense);
  }
  const auto truth = benchmarks::portable_sample(*problem.prior, draws);
  auto y = problem.op->apply(truth);
  if (sigma_y > 0) y = y + sigma_y * draws.normal(y.sizes().vec());
  problem.measurement = y;
  return problem;
}

}  // namespace

std::vector<ImageProblem> image_problems(const std::string& mask_png, bool reduced) {
  if (reduced) {
    return {random_pixels(30), blur(1.0)};
  }
  std::vector<ImageProblem> problems;
  for (const auto mask : all_paper_masks()) problems.push_back(paper(mask));
  for (const int percent : {10, 30, 60}) problems.push_back(random_pixels(percent));
  problems.push_back(mask_file(mask_png));
  problems.push_back(pooling(2));
  problems.push_back(pooling(4));
  problems.push_back(blur(1.0));
  problems.push_back(blur(2.0));
  return problems;
}

std::vector<MixtureProblem> mixture_problems(bool reduced) {
  // Three instances of the smallest problem: a step that overshoots shows on some
  // instances and not on others (MAP-GA's did on two of these three).
  std::vector<MixtureProblem> problems{mixture(8, 2, false, 0.05, 810),
                                       mixture(8, 2, false, 0.05, 840),
                                       mixture(8, 2, false, 0.05, 860)};
  if (reduced) return problems;
  problems.push_back(mixture(80, 4, false, 0.23, 880));
  problems.push_back(mixture(8, 4, true, 0.0, 820));
  return problems;
}

}  // namespace matrix
