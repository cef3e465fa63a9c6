// mapinverse restore: one image (a PNG or Fashion-MNIST test images) degraded by an
// operator and restored by a solver; the restored PNG and an optional JSON report. The
// batch form (--output-dir) is in restore_batch.cpp.

#include "restore.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>

#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "limits.hpp"
#include "mapinverse/mapinverse.hpp"

namespace mapinverse::cli {

void RestoreArguments::add_to(CLI::App& app) {
  auto* input_option =
      app.add_option("--input", input, "PNG image to degrade and restore (or see --measured)")
          ->check(CLI::ExistingFile);
  auto* test_option =
      app.add_option("--fmnist-test", test_indices,
                     fmt::format("Fashion-MNIST test image indices instead of --input (several: "
                                 "one grid, solved as one batch of at most {})",
                                 kMaxBatch))
          ->check(CLI::NonNegativeNumber);
  input_option->excludes(test_option);
  auto* input_dir_option =
      app.add_option("--input-dir", input_dir,
                     fmt::format("batch form: restore every PNG (.png, any case; not hidden "
                                 "files) of this folder, at most {} values in all",
                                 kMaxInputValues))
          ->check(CLI::ExistingDirectory);
  auto* range_option =
      app.add_option("--fmnist-range", test_range,
                     "batch form: test images FIRST:END (END excluded), e.g. 0:1000");
  for (auto* option : {input_option, test_option}) {
    option->excludes(input_dir_option);
    option->excludes(range_option);
  }
  input_dir_option->excludes(range_option);
  app.add_flag("--measured", measured,
               "--input already is the measurement y (missing pixels of an inpainting mask "
               "are ignored); no original, so no PSNR/SSIM");
  auto* output_option = app.add_option("-o,--output", output, "restored PNG to write");
  auto* output_dir_option = app.add_option(
      "--output-dir", output_dir,
      "batch form: a new folder for one restored PNG per image and report.json; with "
      "WORLD_SIZE/RANK set (torchrun), the images are shared out among the ranks");
  output_option->excludes(output_dir_option);
  app.add_option("--batch", batch,
                 fmt::format("batch form: images solved together (at most {}, and at most {} "
                             "values in a batch)",
                             kMaxBatch, kMaxBatchValues))
      ->check(CLI::Range(int64_t{1}, kMaxBatch))
      ->capture_default_str();
  app.add_option("--report", report, "JSON report to write");
  app.add_option("--save-measurement", measurement_output, "also write the degraded image here");
  app.add_option("--sigma-y", sigma_y, "measurement noise standard deviation (images in [-1, 1])")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--seed", seed, "seed of the measurement noise, the solver and random masks")
      ->check(unsigned_integer())
      ->capture_default_str();
  app.add_option("--data", data, "Fashion-MNIST folder")->capture_default_str();
  auto* class_option = app.add_option(
      "--class-label", class_labels,
      "class label(s) for a class-conditional prior: one for all images or one per image");
  auto* labels_option =
      app.add_option(
             "--labels", labels_file,
             "batch form: a text file of \"NAME LABEL\" lines (NAME: the PNG's file name), the "
             "class label of each image of --input-dir")
          ->check(CLI::ExistingFile);
  class_option->excludes(labels_option);
  labels_option->needs(input_dir_option);
  app.add_flag("--quiet", quiet, "no progress bar");
  prior.add_to(app);
  forward.add_to(app);
  solver.add_to(app);
}

namespace {

/// [N, C, H, W] in [-1, 1] from the arguments.
torch::Tensor load_images(const RestoreArguments& arguments) {
  if (!arguments.test_indices.empty()) {
    const auto count = static_cast<int64_t>(arguments.test_indices.size());
    require(count <= kMaxBatch,
            "--fmnist-test: {} images are solved as one batch; the limit is {} (restore more "
            "with --fmnist-range FIRST:END --output-dir DIR, in batches of --batch)",
            count, kMaxBatch);
    return fashion_mnist_test_images(arguments.test_indices, arguments.data, "--fmnist-test");
  }
  require(!arguments.input.empty(), "restore: give --input FILE.png or --fmnist-test N");
  return read_image("--input", arguments.input).unsqueeze(0);
}

/// The images as one PNG: itself for one image, a row of tiles for several.
torch::Tensor as_picture(const torch::Tensor& images) {
  const auto unit = to_unit_range(images.cpu());
  return images.size(0) == 1 ? unit[0] : make_grid(unit, images.size(0));
}

/// What a viewer should see of y: the measurement, with unobserved pixels in mid grey
/// for inpainting and A^T y otherwise.
torch::Tensor measurement_picture(const ForwardOperator& forward_operator, const torch::Tensor& y) {
  const auto mask = operator_mask(forward_operator);
  if (mask.defined()) return y + (1 - mask.to(y.options())) * -0.4;
  const auto* linear = dynamic_cast<const LinearOperator*>(&forward_operator);
  return linear != nullptr ? linear->adjoint(y) : y;
}

nlohmann::json make_report(const RestoreArguments& arguments, const Summary& summary,
                           const torch::Tensor& originals, const std::string& prior) {
  nlohmann::json report{{"solver", summary.solver_name},
                        {"operator", arguments.forward.kind},
                        {"sigma_y", arguments.sigma_y},
                        {"seed", arguments.seed},
                        {"prior", prior},
                        {"images", summary.estimate.size(0)},
                        {"network_forwards", summary.network_forwards},
                        {"network_vjps", summary.network_vjps},
                        {"seconds", summary.total_time_in_seconds},
                        {"termination", to_string(summary.termination)},
                        {"output", arguments.output}};
  if (!arguments.class_labels.empty()) report["class_labels"] = arguments.class_labels;
  if (arguments.forward.kind == "inpaint") report["mask"] = arguments.forward.mask;
  if (!arguments.test_indices.empty()) report["fmnist_test_indices"] = arguments.test_indices;
  if (!arguments.input.empty()) report["input"] = arguments.input;
  if (originals.defined()) {
    const auto estimate = summary.estimate.cpu().clamp(-1.0, 1.0);
    const auto psnr_values = psnr(estimate, originals.cpu());
    const auto ssim_values = ssim(estimate, originals.cpu());
    report["psnr_db"] = psnr_values.mean().item<double>();
    report["ssim"] = ssim_values.mean().item<double>();
    report["psnr_db_per_image"] = std::vector<double>(
        psnr_values.data_ptr<double>(), psnr_values.data_ptr<double>() + psnr_values.numel());
    report["ssim_per_image"] = std::vector<double>(
        ssim_values.data_ptr<double>(), ssim_values.data_ptr<double>() + ssim_values.numel());
  }
  return report;
}

}  // namespace

std::vector<int64_t> restored_shape(const torch::Tensor& images, int64_t scale) {
  // In double: a factor near 2^63 must not overflow before it is refused.
  const double pixels = static_cast<double>(images.size(2)) * static_cast<double>(images.size(3)) *
                        static_cast<double>(scale) * static_cast<double>(scale);
  require(pixels <= static_cast<double>(kMaxImagePixels),
          "--factor {}: the measured {}x{} image stands for an image of {:.0f} pixels, more "
          "than the {} pixels an image may have",
          scale, images.size(2), images.size(3), pixels, kMaxImagePixels);
  return {images.size(1), images.size(2) * scale, images.size(3) * scale};
}

void check_batch_size(int64_t images, const std::vector<int64_t>& shape,
                      const std::string& option) {
  const int64_t values = shape[0] * shape[1] * shape[2];
  require(images * values <= kMaxBatchValues,
          "{}: {} images of {}x{}x{} values are {} values in one batch; the limit is {} (at "
          "most {} images of this size)",
          option, images, shape[0], shape[1], shape[2], images * values, kMaxBatchValues,
          std::max<int64_t>(1, kMaxBatchValues / values));
}

int run_restore(const RestoreArguments& arguments) {
  if (!arguments.output_dir.empty()) return run_restore_batch(arguments);
  require(!arguments.output.empty(), "--output is required (or --output-dir for the batch form)");
  require(arguments.input_dir.empty() && arguments.test_range.empty(),
          "--input-dir and --fmnist-range are the batch form: give --output-dir");
  const std::vector<std::string> inputs{arguments.input, arguments.prior.denoiser,
                                        arguments.prior.consistency, arguments.prior.mixture,
                                        arguments.forward.mask};
  check_output_path("--output", arguments.output, inputs);
  if (!arguments.report.empty()) check_output_path("--report", arguments.report, inputs);
  if (!arguments.measurement_output.empty())
    check_output_path("--save-measurement", arguments.measurement_output, inputs);
  require(std::isfinite(arguments.sigma_y) && arguments.sigma_y >= 0.0,
          "--sigma-y {}: expected a finite value >= 0", arguments.sigma_y);
  require(!arguments.measured || !arguments.input.empty(),
          "--measured: needs --input (the measurement image)");
  set_activity("checking the inputs");

  const auto prior = load_prior(arguments.prior);
  const auto images = load_images(arguments).to(prior.device);
  // A measured down-sampled image is smaller than the image it stands for.
  const int64_t scale =
      arguments.measured && arguments.forward.kind == "downsample" ? arguments.forward.factor : 1;
  const auto shape = restored_shape(images, scale);
  prior.check_images(torch::empty({1, shape[0], shape[1], shape[2]}),
                     arguments.input.empty() ? "--fmnist-test" : "--input " + arguments.input);
  check_batch_size(images.size(0), shape,
                   arguments.input.empty() ? "--fmnist-test" : "--input " + arguments.input);
  const auto forward_operator =
      make_operator(arguments.forward, shape[1], shape[2], arguments.seed);

  Problem problem;
  problem.forward_operator = forward_operator;
  problem.sigma_y = arguments.sigma_y;
  problem.image_shape = shape;
  problem.seed = arguments.seed;
  problem.labels = prior.labels_for(arguments.class_labels, images.size(0), "--class-label");
  torch::Tensor originals;
  if (arguments.measured) {
    // Inpainting measurements are zero at missing pixels, whatever the file shows there.
    problem.measurement =
        arguments.forward.kind == "inpaint" ? forward_operator->apply(images) : images;
  } else {
    originals = images;
    auto generator = make_generator(arguments.seed);
    problem.measurement =
        forward_operator->apply(images) +
        arguments.sigma_y * randn_like(forward_operator->apply(images), generator);
  }

  const auto solver =
      make_solver(arguments.solver.solver_name(), prior.models, arguments.solver.settings());
  std::vector<IterationCallback> callbacks;
  if (!arguments.quiet) callbacks.push_back(progress_bar(solver->name()));
  set_activity(fmt::format("solving {} image(s) with {}", images.size(0), solver->name()));
  const auto summary = solve_or_explain_memory(
      *solver, problem, callbacks, prior.device,
      images.size(0) > 1 ? "restore fewer --fmnist-test images at once, or use --fmnist-range "
                           "with --output-dir and a small --batch"
                         : "the image is too large for this device");
  set_activity("writing the outputs");

  const auto report = make_report(arguments, summary, originals, prior.description);
  // Outputs are written only once everything has succeeded, each atomically.
  write_png(arguments.output, as_picture(summary.estimate));
  if (!arguments.measurement_output.empty()) {
    write_png(arguments.measurement_output,
              as_picture(measurement_picture(*forward_operator, problem.measurement)));
  }
  if (!arguments.report.empty()) write_file_atomically(arguments.report, report.dump(2) + "\n");

  fmt::print("{}: {} image(s), {} network forwards + {} VJPs, {:.1f} s", summary.solver_name,
             summary.estimate.size(0), summary.network_forwards, summary.network_vjps,
             summary.total_time_in_seconds);
  if (originals.defined()) {
    fmt::print(", PSNR {:.2f} dB, SSIM {:.3f}", report["psnr_db"].get<double>(),
               report["ssim"].get<double>());
  }
  fmt::print("\nwrote {}\n", arguments.output);
  return 0;
}

}  // namespace mapinverse::cli
