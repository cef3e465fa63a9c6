// Quality of unconditional samples from the shipped Fashion-MNIST priors: Frechet
// distance between the classifier's 128 penultimate features of generated images and
// of the 10,000 test images (an FID analogue; the Inception network is not available
// here), next to the floor set by real training images, and the classifier's accuracy.
//
//   benchmark_sample_quality [--count 2000] [--threads 1] [--json FILE] [--grids DIR]

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <torch/torch.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "mapinverse/core/random.hpp"
#include "mapinverse/core/threads.hpp"
#include "mapinverse/io/atomic_write.hpp"
#include "mapinverse/io/idx.hpp"
#include "mapinverse/io/png.hpp"
#include "mapinverse/metrics/distribution_distances.hpp"
#include "mapinverse/models/classifier.hpp"
#include "mapinverse/models/gaussian_mixture_prior.hpp"
#include "mapinverse/models/pretrained.hpp"
#include "mapinverse/solvers/unconditional_samplers.hpp"

using namespace mapinverse;

namespace {

struct Settings {
  int64_t count = 2000;
  int64_t batch = 250;
  int threads = 1;
  uint64_t seed = 0;
  std::string data = kFashionMnistDirectory;
  std::string denoiser;
  std::string consistency;
  std::string mixture;
  std::string classifier;
  std::vector<double> two_step_times{kTimeMax, 0.8};
  std::string json_path;
  std::string grid_directory;
  std::vector<std::string> sources{"train", "mixture", "edm", "consistency"};

  bool wants(const std::string& source) const {
    return std::find(sources.begin(), sources.end(), source) != sources.end();
  }
};

struct Row {
  std::string source;
  int64_t network_calls_per_sample = 0;
  double frechet = 0.0;
  double seconds = 0.0;
};

/// Features of `images` in batches, without autograd.
torch::Tensor features(FashionClassifier& classifier, const torch::Tensor& images) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> parts;
  for (int64_t start = 0; start < images.size(0); start += 1000) {
    parts.push_back(classifier->features(images.slice(0, start, start + 1000).to(torch::kFloat32)));
  }
  return torch::cat(parts).to(torch::kFloat64);
}

double test_accuracy(FashionClassifier& classifier, const IdxDataset& test) {
  torch::NoGradGuard no_grad;
  int64_t correct = 0;
  for (int64_t start = 0; start < test.images.size(0); start += 1000) {
    const auto logits = classifier->forward(test.images.slice(0, start, start + 1000));
    correct +=
        (logits.argmax(1) == test.labels.slice(0, start, start + 1000)).sum().item<int64_t>();
  }
  return static_cast<double>(correct) / static_cast<double>(test.images.size(0));
}

/// Draws settings.count images in batches; batch i uses seed (settings.seed, i).
torch::Tensor draw(const Settings& settings,
                   const std::function<torch::Tensor(const SampleRequest&)>& sample) {
  std::vector<torch::Tensor> parts;
  for (int64_t start = 0, index = 0; start < settings.count; start += settings.batch, ++index) {
    SampleRequest request;
    request.count = std::min(settings.batch, settings.count - start);
    request.image_shape = {1, 28, 28};
    request.seed = settings.seed * 1000003ULL + static_cast<uint64_t>(index);
    parts.push_back(sample(request));
  }
  return torch::cat(parts);
}

void write_grid(const Settings& settings, const std::string& name, const torch::Tensor& images) {
  if (settings.grid_directory.empty()) return;
  std::filesystem::create_directories(settings.grid_directory);
  const auto path = std::filesystem::path(settings.grid_directory) / (name + ".png");
  write_png(path.string(), make_grid(to_unit_range(images.slice(0, 0, 64).to(torch::kFloat32)), 8));
}

class Benchmark {
 public:
  explicit Benchmark(const Settings& settings)
      : settings_(settings),
        classifier_(load_classifier(settings.classifier)),
        test_(read_fashion_mnist(settings.data, FashionMnistSplit::kTest)),
        test_features_(features(classifier_, test_.images)) {}

  double accuracy() { return test_accuracy(classifier_, test_); }

  /// Times `generate`, scores its images against the test features, saves a grid.
  void add(const std::string& source, const std::string& file_name, int64_t calls,
           const std::function<torch::Tensor()>& generate) {
    const auto start = std::chrono::steady_clock::now();
    const auto images = generate().clamp(-1.0, 1.0);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double distance = frechet_distance(features(classifier_, images), test_features_);
    rows_.push_back({source, calls, distance, seconds});
    fmt::print("{:<42} {:>3} NFE  FD {:8.3f}  {:7.1f} s\n", source, calls, distance, seconds);
    std::fflush(stdout);
    write_grid(settings_, file_name, images);
  }

  const std::vector<Row>& rows() const { return rows_; }

 private:
  const Settings& settings_;
  FashionClassifier classifier_;
  IdxDataset test_;
  torch::Tensor test_features_;
  std::vector<Row> rows_;
};

void print_table(const std::vector<Row>& rows, const Settings& settings, double accuracy) {
  fmt::print(
      "\nFrechet distance on classifier features, {} samples vs the 10,000 test images "
      "({} thread(s)); classifier test accuracy {:.2f} %\n\n",
      settings.count, settings.threads, 100.0 * accuracy);
  fmt::print("| samples | NFE per image | FD | seconds |\n|---|---:|---:|---:|\n");
  for (const auto& r : rows) {
    fmt::print("| {} | {} | {:.3f} | {:.1f} |\n", r.source, r.network_calls_per_sample, r.frechet,
               r.seconds);
  }
}

void write_json(const std::vector<Row>& rows, const Settings& settings, double accuracy) {
  if (settings.json_path.empty()) return;
  nlohmann::json document{{"count", settings.count},
                          {"threads", settings.threads},
                          {"seed", settings.seed},
                          {"classifier_test_accuracy", accuracy},
                          {"rows", nlohmann::json::array()}};
  for (const auto& r : rows) {
    document["rows"].push_back({{"source", r.source},
                                {"nfe_per_image", r.network_calls_per_sample},
                                {"frechet_distance", r.frechet},
                                {"seconds", r.seconds}});
  }
  write_file_atomically(settings.json_path, document.dump(2) + "\n");
}

void run(const Settings& settings) {
  mapinverse::set_thread_count(settings.threads);
  Benchmark benchmark(settings);
  const double accuracy = benchmark.accuracy();

  if (settings.wants("train")) {
    const auto train = read_fashion_mnist(settings.data, FashionMnistSplit::kTrain).images;
    benchmark.add("training images (floor)", "train", 0, [&] {
      auto generator = make_generator(settings.seed);
      return train.index_select(
          0, torch::randperm(train.size(0), generator).slice(0, 0, settings.count));
    });
  }
  if (settings.wants("mixture")) {
    const auto mixture = GaussianMixturePrior::load(settings.mixture);
    benchmark.add("Gaussian mixture", "mixture", 0, [&] {
      auto generator = make_generator(settings.seed);
      return mixture->sample(settings.count, generator).to(torch::kFloat32);
    });
  }
  if (settings.wants("edm")) {
    const auto denoiser = load_unet_denoiser(settings.denoiser);
    const EdmHeunSampler heun(denoiser);
    benchmark.add("EDM denoiser, Heun 18 steps", "edm_heun18", heun.network_calls(), [&] {
      return draw(settings, [&](const SampleRequest& r) { return heun.sample(r); });
    });
  }
  if (!settings.wants("consistency")) {
    print_table(benchmark.rows(), settings, accuracy);
    write_json(benchmark.rows(), settings, accuracy);
    return;
  }
  const auto consistency = load_unet_consistency(settings.consistency);
  for (const auto& times : {std::vector<double>{kTimeMax}, settings.two_step_times}) {
    ConsistencySampler::Options options;
    options.times = times;
    const ConsistencySampler sampler(consistency, options);
    const auto steps = times.size();
    benchmark.add(
        fmt::format("consistency model, {} step{} (t = {})", steps, steps > 1 ? "s" : "",
                    fmt::join(times, ", ")),
        fmt::format("consistency_{}step", steps), sampler.network_calls(),
        [&] { return draw(settings, [&](const SampleRequest& r) { return sampler.sample(r); }); });
  }
  print_table(benchmark.rows(), settings, accuracy);
  write_json(benchmark.rows(), settings, accuracy);
}

}  // namespace

int main(int argc, char** argv) {
  Settings settings;
  CLI::App app{"Frechet distance of samples from the shipped Fashion-MNIST priors"};
  app.add_option("--count", settings.count, "samples per source")->check(CLI::PositiveNumber);
  app.add_option("--batch", settings.batch, "samples per network batch")
      ->check(CLI::PositiveNumber);
  app.add_option("--threads", settings.threads, "LibTorch intra-op threads")
      ->check(CLI::PositiveNumber);
  app.add_option("--seed", settings.seed, "seed of the draws");
  app.add_option("--data", settings.data, "Fashion-MNIST folder");
  app.add_option("--denoiser", settings.denoiser, "U-Net denoiser weights (default: shipped)");
  app.add_option("--consistency", settings.consistency,
                 "U-Net consistency-model weights (default: shipped)");
  app.add_option("--mixture", settings.mixture, "Gaussian mixture (default: shipped)");
  app.add_option("--classifier", settings.classifier, "classifier weights (default: shipped)");
  app.add_option("--two-step-times", settings.two_step_times,
                 "the two times of the 2-step consistency sampler")
      ->expected(2);
  app.add_option("--sources", settings.sources, "which sources to score")
      ->check(CLI::IsMember({"train", "mixture", "edm", "consistency"}))
      ->capture_default_str();
  app.add_option("--json", settings.json_path, "write the results as JSON");
  app.add_option("--grids", settings.grid_directory, "write an 8x8 PNG grid per source here");
  CLI11_PARSE(app, argc, argv);
  try {
    for (auto [value, file] : {std::pair{&settings.denoiser, kDenoiserModelFile},
                               std::pair{&settings.consistency, kConsistencyModelFile},
                               std::pair{&settings.mixture, kMixtureModelFile},
                               std::pair{&settings.classifier, kClassifierModelFile}}) {
      if (value->empty()) *value = shipped_model_path(file).string();
    }
    run(settings);
  } catch (const std::exception& error) {
    std::cerr << "benchmark_sample_quality: " << error.what() << '\n';
    return 1;
  }
  return 0;
}
