// mapinverse restore, the batch form: many images in (a folder of PNGs or a range of
// Fashion-MNIST test images), one restored PNG per image and one report out.

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "mapinverse/distributed/process_group.hpp"
#include "mapinverse/mapinverse.hpp"
#include "restore.hpp"

namespace mapinverse::cli {

namespace {

struct BatchInputs {
  torch::Tensor images;            // [N, C, H, W] in [-1, 1]
  std::vector<std::string> names;  // one per image, the stem of its output PNG
};

BatchInputs load_batch_inputs(const RestoreArguments& arguments) {
  BatchInputs inputs;
  if (!arguments.input_dir.empty()) {
    auto folder = read_image_folder(arguments.input_dir, "--input-dir");
    inputs.images = folder.images;
    inputs.names = std::move(folder.names);
    return inputs;
  }
  std::vector<int64_t> indices = arguments.test_indices;
  if (!arguments.test_range.empty()) {
    long long first = -1, end = -1;
    char colon = 0, rest = 0;
    const int fields =
        std::sscanf(arguments.test_range.c_str(), "%lld %c %lld %c", &first, &colon, &end, &rest);
    require(fields == 3 && colon == ':' && first >= 0 && end > first,
            "--fmnist-range {}: expected FIRST:END with 0 <= FIRST < END", arguments.test_range);
    for (long long i = first; i < end; ++i) indices.push_back(i);
  }
  require(!indices.empty(),
          "restore --output-dir: give --input-dir, --fmnist-range or --fmnist-test");
  inputs.images = fashion_mnist_test_images(indices, arguments.data);
  for (const auto index : indices) inputs.names.push_back(fmt::format("fmnist_test_{:05d}", index));
  return inputs;
}

/// The output folder must be new (or empty): nothing the user has is overwritten.
void check_output_folder(const std::string& folder) {
  namespace fs = std::filesystem;
  require(!fs::exists(folder) || (fs::is_directory(folder) && fs::is_empty(folder)),
          "--output-dir {}: exists and is not an empty folder; refusing to overwrite it "
          "(remove it or name a new folder)",
          folder);
  // The folder itself appears only at the end, renamed from its staging folder.
  auto parent = fs::path(folder).lexically_normal().parent_path();
  if (parent.empty()) parent = ".";
  std::error_code error;
  fs::create_directories(parent, error);
  require(fs::is_directory(parent) && ::access(parent.c_str(), W_OK) == 0,
          "--output-dir {}: cannot write into the folder {}", folder, parent.string());
}

}  // namespace

int run_restore_batch(const RestoreArguments& arguments) {
  namespace fs = std::filesystem;
  const auto group = distributed::ProcessGroup::from_environment();
  if (group.is_root()) check_output_folder(arguments.output_dir);
  require(std::isfinite(arguments.sigma_y) && arguments.sigma_y >= 0.0,
          "--sigma-y {}: expected a finite value >= 0", arguments.sigma_y);
  require(arguments.input.empty(), "--input is one image: use --input-dir for the batch form");

  const auto prior = load_prior(arguments.prior);
  const auto inputs = load_batch_inputs(arguments);
  const auto images = inputs.images.to(prior.device);
  const int64_t count = images.size(0);
  const int64_t scale =
      arguments.measured && arguments.forward.kind == "downsample" ? arguments.forward.factor : 1;
  const std::vector<int64_t> shape{images.size(1), images.size(2) * scale, images.size(3) * scale};
  prior.check_images(torch::empty({1, shape[0], shape[1], shape[2]}), "the batch's images");
  const auto forward_operator =
      make_operator(arguments.forward, shape[1], shape[2], arguments.seed);
  const auto labels = prior.labels_for(
      arguments.labels_file.empty() ? arguments.class_labels
                                    : read_labels_file(arguments.labels_file, inputs.names),
      count, arguments.labels_file.empty() ? "--class-label" : "--labels");
  const auto solver = make_solver(arguments.solver.name, prior.models, arguments.solver.settings());
  group.barrier();  // every rank has checked its inputs: fail early, not after solving
  const auto shard = group.shard(count);
  if (group.size() > 1) {
    fmt::print(stderr, "restore: rank {} of {}, images {}-{}\n", group.rank(), group.size(),
               shard.begin, shard.end - 1);
  }

  // Each rank solves its block in batches; a row per image: PSNR, SSIM, calls, pixels.
  std::vector<torch::Tensor> rows;
  const auto start = std::chrono::steady_clock::now();
  for (int64_t first = shard.begin; first < shard.end; first += arguments.batch) {
    const int64_t size = std::min(arguments.batch, shard.end - first);
    const auto batch = images.slice(0, first, first + size);
    Problem problem;
    problem.forward_operator = forward_operator;
    problem.sigma_y = arguments.sigma_y;
    problem.image_shape = shape;
    if (labels.defined()) problem.labels = labels.slice(0, first, first + size);
    std::vector<uint64_t> noise_seeds;
    for (int64_t i = first; i < first + size; ++i) {
      noise_seeds.push_back(derive_seed(arguments.seed, {1, static_cast<uint64_t>(i)}));
      problem.sample_seeds.push_back(derive_seed(arguments.seed, {2, static_cast<uint64_t>(i)}));
    }
    if (arguments.measured) {
      problem.measurement =
          arguments.forward.kind == "inpaint" ? forward_operator->apply(batch) : batch;
    } else {
      const auto clean = forward_operator->apply(batch);
      NoiseSource noise(noise_seeds);
      problem.measurement = clean + arguments.sigma_y * noise.randn_like(clean);
    }
    std::vector<IterationCallback> callbacks;
    if (!arguments.quiet && group.is_root()) {
      callbacks.push_back(
          progress_bar(fmt::format("{} [{}-{}]", solver->name(), first, first + size - 1)));
    }
    const auto summary = solver->solve(problem, callbacks);
    const auto estimate = summary.estimate.detach().clamp(-1.0, 1.0).to(torch::kFloat64).cpu();
    const auto unknown = torch::full({size, 1}, std::nan(""), torch::kFloat64);
    const auto reference = batch.cpu().to(torch::kFloat64);
    rows.push_back(
        torch::cat({arguments.measured ? unknown : psnr(estimate, reference).unsqueeze(1),
                    arguments.measured ? unknown : ssim(estimate, reference).unsqueeze(1),
                    torch::full({size, 1}, static_cast<double>(summary.network_evaluations()),
                                torch::kFloat64),
                    estimate.flatten(1)},
                   1));
  }
  const double seconds =
      group.max(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  const int64_t pixels = shape[0] * shape[1] * shape[2];
  const auto local =
      rows.empty() ? torch::empty({0, 3 + pixels}, torch::kFloat64) : torch::cat(rows);
  const auto all = group.gather_shards(local, count);
  if (!group.is_root()) {
    group.barrier();  // returns once rank 0 has written the outputs (or fails with it)
    return 0;
  }

  // Rank 0 writes everything into a staging folder, then renames it into place: a run
  // that fails leaves no half-written output folder.
  const auto folder = fs::path(arguments.output_dir).lexically_normal();
  nlohmann::json per_image = nlohmann::json::array();
  for (int64_t i = 0; i < count; ++i) {
    nlohmann::json entry{{"name", inputs.names[i]},
                         {"file", inputs.names[i] + ".png"},
                         {"network_evaluations", all[i][2].item<double>()}};
    if (labels.defined()) entry["class_label"] = labels[i].item<int64_t>();
    if (!arguments.measured) {
      entry["psnr_db"] = all[i][0].item<double>();
      entry["ssim"] = all[i][1].item<double>();
    }
    per_image.push_back(entry);
  }
  // clang-format off
  nlohmann::json report{{"solver", solver->name()},
                        {"operator", arguments.forward.kind},
                        {"sigma_y", arguments.sigma_y},
                        {"seed", arguments.seed},
                        {"prior", prior.description},
                        {"images", count},
                        {"ranks", group.size()},
                        {"threads_per_rank", at::get_num_threads()},
                        {"seconds", seconds},
                        {"images_per_second", static_cast<double>(count) / seconds},
                        {"per_image", per_image}};
  // clang-format on
  if (arguments.forward.kind == "inpaint") report["mask"] = arguments.forward.mask;
  if (!arguments.measured) {
    report["psnr_db"] = all.select(1, 0).mean().item<double>();
    report["ssim"] = all.select(1, 1).mean().item<double>();
  }
  // The folder was checked above: it does not exist or is empty, and the rename replaces it.
  write_atomically(folder.string(), [&](const std::string& staging) {
    fs::create_directories(staging);
    for (int64_t i = 0; i < count; ++i) {
      const auto estimate = all[i].slice(0, 3).view({shape[0], shape[1], shape[2]});
      write_png((fs::path(staging) / per_image[i]["file"].get<std::string>()).string(),
                to_unit_range(estimate.to(torch::kFloat32)));
    }
    write_file_atomically((fs::path(staging) / "report.json").string(), report.dump(2) + "\n");
  });
  group.barrier();

  fmt::print("{}: {} image(s) on {} rank(s), {:.1f} s, {:.2f} images/s", solver->name(), count,
             group.size(), seconds, static_cast<double>(count) / seconds);
  if (!arguments.measured) {
    fmt::print(", PSNR {:.2f} dB, SSIM {:.3f}", report["psnr_db"].get<double>(),
               report["ssim"].get<double>());
  }
  fmt::print("\nwrote {}/ ({} PNGs and report.json)\n", folder.string(), count);
  return 0;
}

}  // namespace mapinverse::cli
