#include "bench_evaluation.hpp"

#include <algorithm>
#include <chrono>

#include <fmt/format.h>

#include "mapinverse/io/idx.hpp"
#include "mapinverse/metrics/distribution_distances.hpp"
#include "mapinverse/metrics/image_quality.hpp"
#include "mapinverse/models/pretrained.hpp"

namespace mapinverse::cli {
namespace {

// One row per image: PSNR, SSIM, network calls, classifier features, the restoration.
constexpr int64_t kPsnrColumn = 0, kSsimColumn = 1, kCallsColumn = 2, kFeatureColumn = 3;
constexpr int64_t kImageColumn = kFeatureColumn + FashionClassifierImpl::kFeatureDimension;

}  // namespace

Evaluation::Evaluation(const BenchArguments& arguments, const torch::Device& device,
                       const distributed::ProcessGroup& group)
    : arguments_(arguments),
      group_(group),
      classifier_(load_classifier(arguments.classifier.empty()
                                      ? shipped_model_path(kClassifierModelFile).string()
                                      : arguments.classifier,
                                  device)) {
  const auto test = read_fashion_mnist(arguments.data, FashionMnistSplit::kTest);
  test_features_ = features(test.images.to(device));
  originals_ = test.images.slice(0, 0, arguments.images).to(device);
}

Cell Evaluation::run(const Solver& solver, const ProblemFor& problem_for,
                     torch::Tensor* restored) const {
  const auto shard = group_.shard(arguments_.images);
  std::vector<torch::Tensor> parts;
  std::vector<double> calls_per_image;
  const auto start = std::chrono::steady_clock::now();
  for (int64_t first = shard.begin; first < shard.end; first += arguments_.batch) {
    const int64_t count = std::min(arguments_.batch, shard.end - first);
    std::vector<IterationCallback> callbacks;
    if (!arguments_.quiet) {
      callbacks.push_back(
          progress_bar(fmt::format("  {} [{}-{}]", solver.name(), first, first + count - 1)));
    }
    const auto summary = solver.solve(problem_for(first, count), callbacks);
    calls_per_image.insert(calls_per_image.end(), count,
                           static_cast<double>(summary.network_evaluations()));
    parts.push_back(summary.estimate.detach().clamp(-1.0, 1.0).to(torch::kFloat64));
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const auto rows = group_.gather_shards(score(parts, calls_per_image, shard), arguments_.images);
  Cell cell;
  cell.seconds = group_.max(seconds);  // the cell is done when its slowest rank is
  cell.psnr = rows.select(1, kPsnrColumn).mean().item<double>();
  cell.ssim = rows.select(1, kSsimColumn).mean().item<double>();
  cell.network_calls_per_image = rows.select(1, kCallsColumn).mean().item<double>();
  cell.frechet = frechet_distance(rows.slice(1, kFeatureColumn, kImageColumn), test_features_);
  *restored = rows.slice(1, kImageColumn).view({-1, 1, 28, 28}).to(originals_.options());
  return cell;
}

torch::Tensor Evaluation::score(const std::vector<torch::Tensor>& parts,
                                const std::vector<double>& calls_per_image,
                                const distributed::Shard& shard) const {
  if (parts.empty()) return torch::empty({0, kImageColumn + 28 * 28}, torch::kFloat64);
  const auto estimate = torch::cat(parts);
  const auto originals = originals_.slice(0, shard.begin, shard.end).to(torch::kFloat64);
  return torch::cat(
      {psnr(estimate, originals).cpu().unsqueeze(1), ssim(estimate, originals).cpu().unsqueeze(1),
       torch::tensor(calls_per_image, torch::kFloat64).unsqueeze(1), features(estimate),
       estimate.cpu().flatten(1)},
      1);
}

torch::Tensor Evaluation::features(const torch::Tensor& images) const {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> parts;
  for (int64_t i = 0; i < images.size(0); i += 1000) {
    parts.push_back(classifier_->features(images.slice(0, i, i + 1000).to(torch::kFloat32)));
  }
  return torch::cat(parts).to(torch::kFloat64).cpu();
}

}  // namespace mapinverse::cli
