#include "setup.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "limits.hpp"
#include "mapinverse/mapinverse.hpp"

namespace mapinverse::cli {

namespace {

torch::Device choose_device(const std::string& name) {
  if (name == "cpu") return torch::kCPU;
  const bool cuda = torch::cuda::is_available();
  if (name == "cuda") {
    require(cuda, "--device cuda: this LibTorch has no CUDA device");
    return torch::kCUDA;
  }
  return cuda ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
}

/// FNV-1a of a file's bytes, in hex: tells two versions of a model file apart.
std::string fingerprint(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  uint64_t hash = 1469598103934665603ULL;
  char buffer[1 << 16];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    for (std::streamsize i = 0; i < in.gcount(); ++i) {
      hash = (hash ^ static_cast<unsigned char>(buffer[i])) * 1099511628211ULL;
    }
  }
  return fmt::format("{:016x}", hash);
}

std::string or_shipped(const std::string& path, const char* file) {
  return path.empty() ? shipped_model_path(file).string() : path;
}

TorchScriptForm torchscript_form(const std::string& name) {
  if (name == "edm") return TorchScriptForm::kEdmNetwork;
  if (name == "openai") return TorchScriptForm::kOpenAiNetwork;
  return TorchScriptForm::kReady;
}

/// The model file `path` given as `flag` (empty: the shipped file, which names itself).
template <typename Load>
auto load_model(const char* flag, const std::string& path, const char* shipped, Load&& load) {
  if (path.empty()) return load(shipped_model_path(shipped).string());
  return naming_flag(flag, path, [&] { return load(path); });
}

Prior load_torchscript_prior(const PriorArguments& arguments, const torch::Device& device) {
  require(!arguments.denoiser.empty() || !arguments.consistency.empty(),
          "--prior torchscript: give --denoiser FILE and/or --consistency FILE");
  TorchScriptOptions options;
  options.form = torchscript_form(arguments.torchscript_form);
  options.device = device;
  Prior prior;
  prior.device = device;
  if (!arguments.denoiser.empty()) {
    auto denoiser_options = options;
    // An OpenAI-style file is a consistency network; as a denoiser it is a raw EDM one.
    if (options.form == TorchScriptForm::kOpenAiNetwork) {
      denoiser_options.form = TorchScriptForm::kEdmNetwork;
    }
    prior.models.denoiser = naming_flag("--denoiser", arguments.denoiser, [&] {
      return load_torchscript_denoiser(arguments.denoiser, denoiser_options);
    });
  }
  if (!arguments.consistency.empty()) {
    prior.models.consistency = naming_flag("--consistency", arguments.consistency, [&] {
      return load_torchscript_consistency(arguments.consistency, options);
    });
  }
  prior.description =
      fmt::format("TorchScript ({}): denoiser {}, consistency {}", arguments.torchscript_form,
                  arguments.denoiser.empty() ? "-" : arguments.denoiser,
                  arguments.consistency.empty() ? "-" : arguments.consistency);
  for (const auto& file : {arguments.denoiser, arguments.consistency}) {
    if (!file.empty()) prior.fingerprint += fingerprint(file);
  }
  return prior;
}

}  // namespace

void PriorArguments::add_to(CLI::App& app) {
  app.add_option("--prior", kind,
                 "unet: the shipped Fashion-MNIST networks; mixture: the shipped Gaussian "
                 "mixture (exact denoiser; its consistency map by 8 Heun steps); torchscript: "
                 "--denoiser/--consistency files")
      ->check(CLI::IsMember({"unet", "mixture", "torchscript"}))
      ->capture_default_str();
  app.add_option("--denoiser", denoiser, "denoiser weights (default: shipped)");
  app.add_option("--consistency", consistency, "consistency-model weights (default: shipped)");
  app.add_option("--mixture", mixture, "Gaussian-mixture file (default: shipped)");
  app.add_option("--torchscript-form", torchscript_form,
                 "what TorchScript files hold: edm (raw network, ln(sigma)/4), openai (raw "
                 "consistency network, 250 ln t) or ready (D and C themselves)")
      ->check(CLI::IsMember({"edm", "openai", "ready"}))
      ->capture_default_str();
  app.add_option("--device", device, "cpu, cuda or auto")
      ->check(CLI::IsMember({"cpu", "cuda", "auto"}))
      ->capture_default_str();
}

Prior load_prior(const PriorArguments& arguments) {
  set_activity(fmt::format("loading the prior ({})", arguments.kind));
  const auto device = choose_device(arguments.device);
  if (arguments.kind == "torchscript") return load_torchscript_prior(arguments, device);
  Prior prior;
  prior.device = device;
  if (arguments.kind == "mixture") {
    const auto path = or_shipped(arguments.mixture, kMixtureModelFile);
    prior.mixture =
        load_model("--mixture", arguments.mixture, kMixtureModelFile,
                   [](const std::string& file) { return GaussianMixturePrior::load(file); });
    prior.models.denoiser = prior.mixture;
    OdeConsistency::Options ode;
    ode.num_steps = 8;
    prior.models.consistency = std::make_shared<OdeConsistency>(prior.mixture, ode);
    prior.description = fmt::format("Gaussian mixture {}", path);
    prior.fingerprint = fingerprint(path);
    prior.image_shape = prior.mixture->event_shape();
    return prior;
  }
  const auto denoiser = or_shipped(arguments.denoiser, kDenoiserModelFile);
  const auto consistency = or_shipped(arguments.consistency, kConsistencyModelFile);
  prior.models.denoiser =
      load_model("--denoiser", arguments.denoiser, kDenoiserModelFile,
                 [&](const std::string& file) { return load_unet_denoiser(file, device); });
  prior.models.consistency =
      load_model("--consistency", arguments.consistency, kConsistencyModelFile,
                 [&](const std::string& file) { return load_unet_consistency(file, device); });
  prior.description = fmt::format("U-Net denoiser {}, consistency model {}", denoiser, consistency);
  prior.fingerprint = fingerprint(denoiser) + fingerprint(consistency);
  prior.image_shape = {1, 28, 28};
  return prior;
}

void Prior::check_images(const torch::Tensor& images, const std::string& source) const {
  if (image_shape.empty()) return;
  const auto shape = images.sizes().slice(1);
  require(shape.vec() == image_shape,
          "{}: the prior models images of shape {} (channels, height, width), got {}", source,
          shape_string(image_shape), shape_string(shape));
}

void OperatorArguments::add_to(CLI::App& app) {
  app.add_option("--operator", kind, "inpaint, downsample (average pooling) or blur (Gaussian)")
      ->check(CLI::IsMember({"inpaint", "downsample", "blur"}))
      ->capture_default_str();
  app.add_option("--mask", mask,
                 fmt::format("inpainting mask: {}, random:P (each pixel observed with "
                             "probability P) or a PNG file (white = observed)",
                             fmt::join(paper_mask_names(), ", ")))
      ->capture_default_str();
  app.add_option("--factor", factor, "down-sampling factor; divides the image's height and width")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--blur-sigma", blur_sigma,
                 "blur standard deviation in pixels; the kernel's radius ceil(3 sigma) is at "
                 "most the image's larger side")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
}

std::vector<std::string> paper_mask_names() {
  std::vector<std::string> names;
  for (const auto kind : all_paper_masks()) names.push_back(to_string(kind));
  return names;
}

namespace {

torch::Tensor parse_mask(const std::string& text, int64_t height, int64_t width, uint64_t seed) {
  if (text.rfind("random:", 0) == 0) {
    const auto value = text.substr(7);
    size_t end = 0;
    double probability = 0.0;
    try {
      probability = std::stod(value, &end);
    } catch (const std::exception&) {
      end = 0;
    }
    require(end == value.size() && end > 0,
            "--mask {}: expected random:P with a number P in (0, 1]", text);
    return naming_flag("--mask", text,
                       [&] { return random_mask(height, width, probability, seed); });
  }
  for (const auto kind : all_paper_masks()) {
    if (to_string(kind) == text) return paper_mask(kind, height, width);
  }
  require(std::filesystem::is_regular_file(text),
          "--mask {}: not a paper mask ({}), not random:P and no such file", text,
          fmt::join(paper_mask_names(), ", "));
  auto mask = naming_flag("--mask", text, [&] { return read_mask_png(text); });
  require(mask.size(2) == height && mask.size(3) == width,
          "--mask {}: the mask is {}x{}, the image {}x{}", text, mask.size(2), mask.size(3), height,
          width);
  require(mask.sum().item<double>() > 0.0, "--mask {}: no pixel is observed", text);
  return mask;
}

}  // namespace

std::shared_ptr<const ForwardOperator> make_operator(const OperatorArguments& arguments,
                                                     int64_t height, int64_t width, uint64_t seed) {
  if (arguments.kind == "downsample") {
    require(height % arguments.factor == 0 && width % arguments.factor == 0,
            "--factor {}: does not divide the image size {}x{}", arguments.factor, height, width);
    AveragePool::Options options;
    options.factor = arguments.factor;
    return std::make_shared<AveragePool>(options);
  }
  if (arguments.kind == "blur") {
    // The kernel is built at its full size before it is wrapped onto the image: bound it
    // by the image (a wider kernel is a flat average anyway).
    const double largest_side = static_cast<double>(std::max(height, width));
    require(3.0 * arguments.blur_sigma <= largest_side,
            "--blur-sigma {}: the blur kernel's radius, ceil(3 sigma) = {:.0f} pixels, is larger "
            "than the image ({}x{}); the limit for this image is --blur-sigma {:.4g}",
            arguments.blur_sigma, std::ceil(3.0 * arguments.blur_sigma), height, width,
            largest_side / 3.0);
    GaussianBlur::Options options;
    options.sigma_pixels = arguments.blur_sigma;
    return std::make_shared<GaussianBlur>(options);
  }
  return std::make_shared<Inpainting>(parse_mask(arguments.mask, height, width, seed));
}

torch::Tensor operator_mask(const ForwardOperator& forward_operator) {
  const auto* inpainting = dynamic_cast<const Inpainting*>(&forward_operator);
  return inpainting != nullptr ? inpainting->mask() : torch::Tensor();
}

void SolverArguments::add_to(CLI::App& app) {
  std::string solvers = "the solver:";
  for (const auto& solver : registered_solvers()) {
    solvers += fmt::format("\n  {:<14} {}", solver.name, solver.description);
  }
  app.add_option("--solver", name, solvers)
      ->check(CLI::IsMember(solver_names()))
      ->capture_default_str();
  app.add_option("--time-steps", budget.time_steps,
                 fmt::format("MAP-GA outer time steps (paper: 20; at most {})", kMaxTimeSteps))
      ->check(CLI::Range(int64_t{1}, kMaxTimeSteps))
      ->capture_default_str();
  app.add_option("--iterations", budget.iterations,
                 fmt::format("MAP-GA gradient-ascent iterations per time step (paper: 50; at "
                             "most {})",
                             kMaxIterations))
      ->check(CLI::Range(int64_t{1}, kMaxIterations))
      ->capture_default_str();
  app.add_option("--steps", budget.steps,
                 fmt::format("reverse steps of PGDM (default 100) and DPS (default 1000); PGDM "
                             "steps of MAP-GA-PGDM (default 20); at most {}",
                             kMaxSteps))
      ->check(CLI::Range(int64_t{1}, kMaxSteps));
  app.add_option("--learning-rate", budget.learning_rate,
                 "MAP-GA step size (default: sigma_y^2 + sigma_eps^2, the paper's)")
      ->check(CLI::PositiveNumber);
  app.add_option("--optimizer", optimizer, "MAP-GA optimizer: gd, momentum or adam")
      ->check(CLI::IsMember({"gd", "momentum", "adam"}))
      ->capture_default_str();
  app.add_option("--zeta", budget.zeta, "DPS step scale")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
}

SolverSettings SolverArguments::settings() const {
  auto settings = budget;
  if (optimizer == "momentum") {
    settings.optimizer = std::make_shared<Momentum>(Momentum::Options{});
  } else if (optimizer == "adam") {
    settings.optimizer = std::make_shared<Adam>(Adam::Options{});
  } else {
    settings.optimizer = std::make_shared<GradientAscent>();
  }
  return settings;
}

IterationCallback progress_bar(const std::string& label) {
  const bool terminal = ::isatty(STDERR_FILENO) != 0;
  auto last_tenth = std::make_shared<int64_t>(-1);
  return [label, terminal, last_tenth](const IterationSummary& s) {
    const double fraction = static_cast<double>(s.step) / static_cast<double>(s.total_steps);
    const auto tenth = static_cast<int64_t>(fraction * 10.0);
    if (!terminal && tenth == *last_tenth) return CallbackResult::kContinue;
    *last_tenth = tenth;
    constexpr int kWidth = 30;
    const int filled = static_cast<int>(fraction * kWidth);
    fmt::print(stderr, "{}{} [{}{}] {:3.0f}% {:.1f} s{}", terminal ? "\r" : "", label,
               std::string(static_cast<size_t>(filled), '#'),
               std::string(static_cast<size_t>(kWidth - filled), '.'), 100.0 * fraction,
               s.elapsed_time_in_seconds, terminal && s.step < s.total_steps ? "" : "\n");
    std::fflush(stderr);
    return CallbackResult::kContinue;
  };
}

torch::Tensor fashion_mnist_test_images(const std::vector<int64_t>& indices,
                                        const std::string& data_directory,
                                        const std::string& flag) {
  set_activity(fmt::format("reading the Fashion-MNIST test set from {}", data_directory));
  const auto test = naming_flag("--data", data_directory, [&] {
    return read_fashion_mnist(data_directory, FashionMnistSplit::kTest);
  });
  const int64_t available = test.images.size(0);
  for (const auto index : indices) {
    require(index >= 0 && index < available,
            "{}: image {} is not in the test set: expected indices in [0, {})", flag, index,
            available);
  }
  return test.images.index_select(0, torch::tensor(indices, torch::kLong));
}

torch::Tensor read_image(const std::string& flag, const std::string& path) {
  set_activity(fmt::format("reading {}", path));
  return naming_flag(flag, path, [&] { return read_png(path, kMaxImagePixels) * 2.0 - 1.0; });
}

bool is_read_only(const std::string& path) {
  namespace fs = std::filesystem;
  constexpr auto write_bits =
      fs::perms::owner_write | fs::perms::group_write | fs::perms::others_write;
  std::error_code error;
  const auto status = fs::status(path, error);
  return !error && (status.permissions() & write_bits) == fs::perms::none;
}

void check_output_path(const std::string& flag, const std::string& output,
                       const std::vector<std::string>& inputs) {
  namespace fs = std::filesystem;
  require(!output.empty(), "{}: expected an output path, got an empty one", flag);
  for (const auto& input : inputs) {
    if (input.empty() || !fs::exists(input) || !fs::exists(output)) continue;
    require(!fs::equivalent(input, output),
            "{} {}: this is the input file {}: refusing to overwrite it", flag, output, input);
  }
  require(!fs::is_directory(output), "{} {}: is a directory, expected a file path", flag, output);
  require(!fs::exists(output) || !is_read_only(output),
          "{} {}: the file exists and is read-only: refusing to replace it", flag, output);
  auto folder = fs::path(output).parent_path();
  if (folder.empty()) folder = ".";
  std::error_code error;
  fs::create_directories(folder, error);
  require(fs::is_directory(folder), "{} {}: cannot create the folder {}", flag, output,
          folder.string());
  require(::access(folder.c_str(), W_OK) == 0 && !is_read_only(folder.string()),
          "{} {}: the folder {} is not writable", flag, output, folder.string());
}

}  // namespace mapinverse::cli
