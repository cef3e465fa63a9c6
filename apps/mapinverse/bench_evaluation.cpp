#include "bench_evaluation.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>

#include <fmt/format.h>

#include "mapinverse/io/idx.hpp"
#include "mapinverse/metrics/distribution_distances.hpp"
#include "mapinverse/metrics/image_quality.hpp"
#include "mapinverse/models/pretrained.hpp"

namespace mapinverse::cli {
namespace {

// One row per image: PSNR, SSIM, network calls, LPIPS, features, the restoration.
constexpr int64_t kPsnrColumn = 0, kSsimColumn = 1, kCallsColumn = 2, kLpipsColumn = 3,
                  kFeatureColumn = 4;

torch::jit::Module load_script(const std::string& path, const std::string& flag,
                               const torch::Device& device) {
  require(std::filesystem::is_regular_file(path), "{} {}: no such file", flag, path);
  try {
    auto module = torch::jit::load(path, device);
    module.eval();
    return module;
  } catch (const c10::Error& error) {
    throw std::invalid_argument(fmt::format("{} {}: not a readable TorchScript archive: {}", flag,
                                            path, error.what_without_backtrace()));
  }
}

/// A TorchScript network's output as [B, rest] (or [B] with `vector`), checked.
torch::Tensor batch_rows(const torch::jit::IValue& output, int64_t batch, const std::string& flag,
                         bool vector) {
  require(output.isTensor(), "{}: forward returned {}, expected a Tensor", flag, output.tagKind());
  const auto result = output.toTensor().detach().to(torch::kFloat64).cpu();
  require(result.dim() >= 1 && result.size(0) == batch,
          "{}: forward returned shape {} for a batch of {}", flag, shape_string(result), batch);
  const auto rows = result.reshape({batch, -1});
  require(!vector || rows.size(1) == 1, "{}: expected one distance per image, got shape {}", flag,
          shape_string(result));
  return vector ? rows.select(1, 0) : rows;
}

}  // namespace

Evaluation::Evaluation(const BenchArguments& arguments, const torch::Device& device,
                       const distributed::ProcessGroup& group)
    : arguments_(arguments), group_(group) {
  torch::Tensor reference;
  if (arguments.input_dir.empty()) {
    reference = read_fashion_mnist(arguments.data, FashionMnistSplit::kTest).images;
    source_ = fmt::format("Fashion-MNIST test images 0-{}", arguments.images - 1);
  } else {
    auto folder = read_image_folder(arguments.input_dir, "--input-dir");
    reference = folder.images;
    require(arguments.images <= reference.size(0), "--images {}: {} holds only {} images",
            arguments.images, arguments.input_dir, reference.size(0));
    folder.names.resize(static_cast<size_t>(arguments.images));
    if (!arguments.labels_file.empty()) {
      labels_ = torch::tensor(read_labels_file(arguments.labels_file, folder.names), torch::kLong)
                    .to(device);
    }
    source_ = fmt::format("the first {} images of {} ({} to {})", arguments.images,
                          arguments.input_dir, folder.names.front(), folder.names.back());
  }
  originals_ = reference.slice(0, 0, arguments.images).to(device);
  if (!arguments.features.empty()) {
    feature_network_ = load_script(arguments.features, "--features", device);
  } else if (arguments.input_dir.empty()) {
    classifier_ = load_classifier(arguments.classifier.empty()
                                      ? shipped_model_path(kClassifierModelFile).string()
                                      : arguments.classifier,
                                  device);
  }
  has_features_ = feature_network_.has_value() || !classifier_.is_empty();
  if (!arguments.lpips.empty()) lpips_ = load_script(arguments.lpips, "--lpips", device);
  test_features_ = has_features_ ? features(reference.to(device))
                                 : torch::empty({reference.size(0), 0}, torch::kFloat64);
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
  const int64_t image_column = kFeatureColumn + feature_dimension();
  Cell cell;
  cell.seconds = group_.max(seconds);  // the cell is done when its slowest rank is
  cell.psnr = rows.select(1, kPsnrColumn).mean().item<double>();
  cell.ssim = rows.select(1, kSsimColumn).mean().item<double>();
  cell.network_calls_per_image = rows.select(1, kCallsColumn).mean().item<double>();
  cell.lpips = rows.select(1, kLpipsColumn).mean().item<double>();
  cell.frechet = has_features_
                     ? frechet_distance(rows.slice(1, kFeatureColumn, image_column), test_features_)
                     : std::nan("");
  auto shape = image_shape();
  shape.insert(shape.begin(), -1);
  *restored = rows.slice(1, image_column).view(shape).to(originals_.options());
  return cell;
}

torch::Tensor Evaluation::score(const std::vector<torch::Tensor>& parts,
                                const std::vector<double>& calls_per_image,
                                const distributed::Shard& shard) const {
  if (parts.empty()) {
    return torch::empty({0, kFeatureColumn + feature_dimension() + originals_[0].numel()},
                        torch::kFloat64);
  }
  const auto estimate = torch::cat(parts);
  const auto originals = originals_.slice(0, shard.begin, shard.end).to(torch::kFloat64);
  return torch::cat(
      {psnr(estimate, originals).cpu().unsqueeze(1), ssim(estimate, originals).cpu().unsqueeze(1),
       torch::tensor(calls_per_image, torch::kFloat64).unsqueeze(1),
       lpips(estimate, originals).unsqueeze(1),
       has_features_ ? features(estimate) : torch::empty({estimate.size(0), 0}, torch::kFloat64),
       estimate.cpu().flatten(1)},
      1);
}

torch::Tensor Evaluation::features(const torch::Tensor& images) const {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> parts;
  for (int64_t i = 0; i < images.size(0); i += 100) {
    const auto part = images.slice(0, i, i + 100).to(torch::kFloat32);
    if (feature_network_) {
      parts.push_back(
          batch_rows(feature_network_->forward({part}), part.size(0), "--features", false));
    } else {
      parts.push_back(classifier_->features(part).to(torch::kFloat64).cpu());
    }
  }
  return torch::cat(parts);
}

torch::Tensor Evaluation::lpips(const torch::Tensor& estimate,
                                const torch::Tensor& originals) const {
  if (!lpips_) return torch::full({estimate.size(0)}, std::nan(""), torch::kFloat64);
  torch::NoGradGuard no_grad;
  const auto output =
      lpips_->forward({estimate.to(torch::kFloat32), originals.to(torch::kFloat32)});
  return batch_rows(output, estimate.size(0), "--lpips", true);
}

}  // namespace mapinverse::cli
