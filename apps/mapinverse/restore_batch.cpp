// mapinverse restore, batch form (--output-dir): many images in, one restored PNG per
// image and report.json out. One process streams each batch's PNGs into the staging
// folder as soon as it is solved, so memory stays flat however many images there are;
// several ranks (torchrun) gather their results to rank 0, which writes them.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>

#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "limits.hpp"
#include "mapinverse/distributed/process_group.hpp"
#include "mapinverse/mapinverse.hpp"
#include "restore.hpp"

namespace mapinverse::cli {

namespace {

namespace fs = std::filesystem;

struct BatchInputs {
  torch::Tensor images;            // [N, C, H, W] in [-1, 1]
  std::vector<std::string> names;  // one per image, the stem of its output PNG
};

/// FIRST:END of --fmnist-range as the indices FIRST, ..., END - 1.
std::vector<int64_t> range_indices(const std::string& range) {
  long long first = -1, end = -1;
  char colon = 0, rest = 0;
  const int fields = std::sscanf(range.c_str(), "%lld %c %lld %c", &first, &colon, &end, &rest);
  require(fields == 3 && colon == ':' && first >= 0 && end > first,
          "--fmnist-range {}: expected FIRST:END with 0 <= FIRST < END", range);
  // The test set has 10,000 images: a wider range is refused before anything is read.
  constexpr long long kTestImages = 10000;
  require(end <= kTestImages, "--fmnist-range {}: END = {} is past the test set's {} images", range,
          end, kTestImages);
  std::vector<int64_t> indices;
  for (long long i = first; i < end; ++i) indices.push_back(i);
  return indices;
}

BatchInputs load_batch_inputs(const RestoreArguments& arguments) {
  if (!arguments.input_dir.empty()) {
    auto folder = read_image_folder(arguments.input_dir, "--input-dir");
    return {folder.images, std::move(folder.names)};
  }
  const bool from_range = !arguments.test_range.empty();
  const auto indices = from_range ? range_indices(arguments.test_range) : arguments.test_indices;
  require(!indices.empty(),
          "restore --output-dir: give --input-dir, --fmnist-range or --fmnist-test");
  BatchInputs inputs;
  inputs.images = fashion_mnist_test_images(indices, arguments.data,
                                            from_range ? "--fmnist-range" : "--fmnist-test");
  for (const auto index : indices) inputs.names.push_back(fmt::format("fmnist_test_{:05d}", index));
  return inputs;
}

/// The output folder must be new (or empty): nothing the user has is overwritten.
void check_output_folder(const std::string& folder) {
  require(!fs::exists(folder) || (fs::is_directory(folder) && fs::is_empty(folder)),
          "--output-dir {}: exists and is not an empty folder; refusing to overwrite it "
          "(remove it or name a new folder)",
          folder);
  // The folder itself appears only at the end, renamed from its staging folder.
  auto parent = fs::path(folder).lexically_normal().parent_path();
  if (parent.empty()) parent = ".";
  std::error_code error;
  fs::create_directories(parent, error);
  require(fs::is_directory(parent) && ::access(parent.c_str(), W_OK) == 0 &&
              !is_read_only(parent.string()),
          "--output-dir {}: cannot write into the folder {}", folder, parent.string());
}

/// Everything a batch run solves with.
struct BatchSetup {
  const RestoreArguments& arguments;
  const Solver& solver;
  const torch::Device device;
  std::shared_ptr<const ForwardOperator> forward_operator;
  torch::Tensor images;  // [N, C, H, W] on the device
  std::vector<int64_t> shape;
  torch::Tensor labels;  // [N] int64 on the device for a class-conditional prior
};

/// One batch's results: the estimates [n, C, H, W] (float64, CPU, in [-1, 1]) and per
/// image PSNR, SSIM (NaN for measured inputs) and network evaluations, [n, 3].
using BatchDone = std::function<void(int64_t first, const torch::Tensor& estimates,
                                     const torch::Tensor& results)>;

void solve_in_batches(const BatchSetup& setup, int64_t begin, int64_t end, bool show_progress,
                      const BatchDone& done) {
  const auto& arguments = setup.arguments;
  for (int64_t first = begin; first < end; first += arguments.batch) {
    const int64_t size = std::min(arguments.batch, end - first);
    const auto batch = setup.images.slice(0, first, first + size);
    Problem problem;
    problem.forward_operator = setup.forward_operator;
    problem.sigma_y = arguments.sigma_y;
    problem.image_shape = setup.shape;
    if (setup.labels.defined()) problem.labels = setup.labels.slice(0, first, first + size);
    std::vector<uint64_t> noise_seeds;
    for (int64_t i = first; i < first + size; ++i) {
      noise_seeds.push_back(derive_seed(arguments.seed, {1, static_cast<uint64_t>(i)}));
      problem.sample_seeds.push_back(derive_seed(arguments.seed, {2, static_cast<uint64_t>(i)}));
    }
    if (arguments.measured) {
      problem.measurement =
          arguments.forward.kind == "inpaint" ? setup.forward_operator->apply(batch) : batch;
    } else {
      const auto clean = setup.forward_operator->apply(batch);
      NoiseSource noise(noise_seeds);
      problem.measurement = clean + arguments.sigma_y * noise.randn_like(clean);
    }
    std::vector<IterationCallback> callbacks;
    const auto label = fmt::format("{} [{}-{}]", setup.solver.name(), first, first + size - 1);
    if (show_progress) callbacks.push_back(progress_bar(label));
    set_activity(
        fmt::format("solving images {}-{} with {}", first, first + size - 1, setup.solver.name()));
    const auto summary = solve_or_explain_memory(
        setup.solver, problem, callbacks, setup.device,
        fmt::format("--batch {} is too large for this device: use a smaller one, e.g. --batch {}",
                    arguments.batch, std::max<int64_t>(1, size / 2)));
    const auto estimate = summary.estimate.detach().clamp(-1.0, 1.0).to(torch::kFloat64).cpu();
    const auto unknown = torch::full({size, 1}, std::nan(""), torch::kFloat64);
    const auto reference = batch.cpu().to(torch::kFloat64);
    const auto results =
        torch::cat({arguments.measured ? unknown : psnr(estimate, reference).unsqueeze(1),
                    arguments.measured ? unknown : ssim(estimate, reference).unsqueeze(1),
                    torch::full({size, 1}, static_cast<double>(summary.network_evaluations()),
                                torch::kFloat64)},
                   1);
    done(first, estimate, results);
  }
}

/// Writes estimates [n, C, H, W] (in [-1, 1]) as <name>.png into `folder`.
void write_estimates(const fs::path& folder, const std::vector<std::string>& names, int64_t first,
                     const torch::Tensor& estimates) {
  for (int64_t i = 0; i < estimates.size(0); ++i) {
    write_png((folder / (names[first + i] + ".png")).string(),
              to_unit_range(estimates[i].to(torch::kFloat32)));
  }
}

nlohmann::json make_batch_report(const BatchSetup& setup, const std::string& prior,
                                 const std::vector<std::string>& names,
                                 const torch::Tensor& results, int ranks, double seconds) {
  const auto& arguments = setup.arguments;
  const int64_t count = results.size(0);
  nlohmann::json per_image = nlohmann::json::array();
  const auto values = results.contiguous();
  const auto* row = values.data_ptr<double>();
  const auto labels = setup.labels.defined() ? setup.labels.cpu() : torch::Tensor();
  for (int64_t i = 0; i < count; ++i, row += 3) {
    nlohmann::json entry{
        {"name", names[i]}, {"file", names[i] + ".png"}, {"network_evaluations", row[2]}};
    if (labels.defined()) entry["class_label"] = labels[i].item<int64_t>();
    if (!arguments.measured) {
      entry["psnr_db"] = row[0];
      entry["ssim"] = row[1];
    }
    per_image.push_back(entry);
  }
  // clang-format off
  nlohmann::json report{{"solver", setup.solver.name()},
                        {"operator", arguments.forward.kind},
                        {"sigma_y", arguments.sigma_y},
                        {"seed", arguments.seed},
                        {"prior", prior},
                        {"images", count},
                        {"batch", arguments.batch},
                        {"ranks", ranks},
                        {"threads_per_rank", at::get_num_threads()},
                        {"seconds", seconds},
                        {"images_per_second", static_cast<double>(count) / seconds},
                        {"per_image", per_image}};
  // clang-format on
  if (arguments.forward.kind == "inpaint") report["mask"] = arguments.forward.mask;
  if (!arguments.measured) {
    report["psnr_db"] = results.select(1, 0).mean().item<double>();
    report["ssim"] = results.select(1, 1).mean().item<double>();
  }
  return report;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int run_restore_batch(const RestoreArguments& arguments) {
  const auto group = distributed::ProcessGroup::from_environment();
  set_activity("checking the inputs");
  if (group.is_root()) check_output_folder(arguments.output_dir);
  require(std::isfinite(arguments.sigma_y) && arguments.sigma_y >= 0.0,
          "--sigma-y {}: expected a finite value >= 0", arguments.sigma_y);
  require(arguments.input.empty(), "--input is one image: use --input-dir for the batch form");

  const auto prior = load_prior(arguments.prior);
  const auto inputs = load_batch_inputs(arguments);
  const int64_t count = inputs.images.size(0);
  const int64_t scale =
      arguments.measured && arguments.forward.kind == "downsample" ? arguments.forward.factor : 1;
  const auto shape = restored_shape(inputs.images, scale);
  prior.check_images(torch::empty({1, shape[0], shape[1], shape[2]}), "the batch's images");
  check_batch_size(std::min(arguments.batch, count), shape,
                   fmt::format("--batch {}", arguments.batch));
  const auto forward_operator =
      make_operator(arguments.forward, shape[1], shape[2], arguments.seed);
  const auto labels = prior.labels_for(
      arguments.labels_file.empty() ? arguments.class_labels
                                    : read_labels_file(arguments.labels_file, inputs.names),
      count, arguments.labels_file.empty() ? "--class-label" : "--labels");
  const auto solver =
      make_solver(arguments.solver.solver_name(), prior.models, arguments.solver.settings());
  const BatchSetup setup{
      arguments, *solver, prior.device, forward_operator, inputs.images.to(prior.device),
      shape,     labels};
  group.barrier();  // every rank has checked its inputs: fail early, not after solving
  const auto shard = group.shard(count);
  if (group.size() > 1) {
    fmt::print(stderr, "restore: rank {} of {}, images {}-{}\n", group.rank(), group.size(),
               shard.begin, shard.end - 1);
  }
  const bool show_progress = !arguments.quiet && group.is_root();
  const auto folder = fs::path(arguments.output_dir).lexically_normal();
  const auto start = std::chrono::steady_clock::now();
  std::vector<torch::Tensor> results;
  const auto write_report = [&](const fs::path& into, const torch::Tensor& all, double seconds) {
    const auto report =
        make_batch_report(setup, prior.description, inputs.names, all, group.size(), seconds);
    write_file_atomically((into / "report.json").string(), report.dump(2) + "\n");
    return report;
  };
  nlohmann::json report;
  if (group.size() == 1) {
    // The PNGs go into the staging folder batch by batch; a run that fails leaves none.
    write_atomically(folder.string(), [&](const std::string& staging) {
      fs::create_directories(staging);
      solve_in_batches(
          setup, 0, count, show_progress,
          [&](int64_t first, const torch::Tensor& estimates, const torch::Tensor& row) {
            write_estimates(staging, inputs.names, first, estimates);
            results.push_back(row);
          });
      report = write_report(staging, torch::cat(results), seconds_since(start));
    });
  } else {
    // Each rank keeps its estimates (flattened after the results) for rank 0 to write.
    solve_in_batches(setup, shard.begin, shard.end, show_progress,
                     [&](int64_t, const torch::Tensor& estimates, const torch::Tensor& row) {
                       results.push_back(torch::cat({row, estimates.flatten(1)}, 1));
                     });
    const double seconds = group.max(seconds_since(start));
    const int64_t pixels = shape[0] * shape[1] * shape[2];
    const auto local =
        results.empty() ? torch::empty({0, 3 + pixels}, torch::kFloat64) : torch::cat(results);
    const auto all = group.gather_shards(local, count);
    if (!group.is_root()) {
      group.barrier();  // returns once rank 0 has written the outputs (or fails with it)
      return 0;
    }
    set_activity(fmt::format("writing {}", folder.string()));
    write_atomically(folder.string(), [&](const std::string& staging) {
      fs::create_directories(staging);
      write_estimates(staging, inputs.names, 0,
                      all.slice(1, 3).reshape({count, shape[0], shape[1], shape[2]}));
      report = write_report(staging, all.slice(1, 0, 3), seconds);
    });
    group.barrier();
  }

  fmt::print("{}: {} image(s) on {} rank(s), {:.1f} s, {:.2f} images/s", solver->name(), count,
             group.size(), report["seconds"].get<double>(),
             report["images_per_second"].get<double>());
  if (!arguments.measured) {
    fmt::print(", PSNR {:.2f} dB, SSIM {:.3f}", report["psnr_db"].get<double>(),
               report["ssim"].get<double>());
  }
  fmt::print("\nwrote {}/ ({} PNGs and report.json)\n", folder.string(), count);
  return 0;
}

}  // namespace mapinverse::cli
