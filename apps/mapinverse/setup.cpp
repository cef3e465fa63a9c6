#include "setup.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstdio>
#include <filesystem>
#include <optional>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <c10/core/impl/DeviceGuardImplInterface.h>

#include "limits.hpp"
#include "mapinverse/mapinverse.hpp"

namespace mapinverse::cli {

namespace {

/// The GPU of this process: under torchrun (LOCAL_RANK set) each rank of a machine takes
/// its own, so that NCCL can carry the group's CUDA tensors; it becomes the current
/// device, which is where LibTorch's CUDA work and NCCL's communicator go.
torch::Device cuda_device_of_this_rank() {
  const auto count = static_cast<int64_t>(torch::cuda::device_count());
  int64_t index = 0;
  if (const char* local_rank = std::getenv("LOCAL_RANK"); local_rank != nullptr && *local_rank) {
    index = std::stoll(local_rank) % count;
  }
  const torch::Device device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
  c10::impl::getDeviceGuardImpl(c10::kCUDA)->setDevice(device);
  return device;
}

torch::Device choose_device(const std::string& name) {
  if (name == "cpu") return torch::kCPU;
  const bool cuda = torch::cuda::is_available();
  if (name == "cuda") require(cuda, "--device cuda: this LibTorch has no CUDA device");
  return cuda ? cuda_device_of_this_rank() : torch::Device(torch::kCPU);
}

std::string or_shipped(const std::string& path, const char* file) {
  return path.empty() ? shipped_model_path(file).string() : path;
}

/// The form a file is loaded with: its own flag, else --torchscript-form, else (auto)
/// what the file records.
std::optional<TorchScriptForm> chosen_form(const std::string& own, const std::string& shared,
                                           const std::string& flag) {
  const auto& name = own != "auto" ? own : shared;
  if (name == "auto") return std::nullopt;
  return parse_torchscript_form(name, flag);
}

/// The TorchScript module behind a loaded denoiser or consistency model, if any.
template <typename Model, typename Ready, typename Preconditioned>
const TorchScriptModule* module_of(const Model& model) {
  if (const auto* ready = dynamic_cast<const Ready*>(&model)) return &ready->module();
  if (const auto* wrapped = dynamic_cast<const Preconditioned*>(&model)) {
    const auto* network = dynamic_cast<const TorchScriptNetwork*>(&wrapped->network());
    if (network != nullptr) return &network->module();
  }
  return nullptr;
}

/// Takes what a file records (image shape, classes) into the prior; the two files must agree.
void adopt_record(const TorchScriptModule& module, Prior& prior) {
  const auto& record = module.metadata();
  if (!record.image_shape.empty()) {
    require(prior.image_shape.empty() || prior.image_shape == record.image_shape,
            "--prior torchscript: {} was wrapped for images of shape {}, the other file for {}",
            module.path(), shape_string(record.image_shape), shape_string(prior.image_shape));
    prior.image_shape = record.image_shape;
  }
  if (record.num_classes > 0) {
    require(prior.num_classes == 0 || prior.num_classes == record.num_classes,
            "--prior torchscript: {} has {} classes, the other file {}", module.path(),
            record.num_classes, prior.num_classes);
    prior.num_classes = record.num_classes;
  }
  prior.takes_labels = prior.takes_labels || module.takes_labels();
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
  Prior prior;
  prior.device = device;
  TorchScriptOptions options;
  options.device = device;
  std::string forms;
  if (!arguments.denoiser.empty()) {
    options.form =
        chosen_form(arguments.denoiser_form, arguments.torchscript_form, "--denoiser-form");
    prior.models.denoiser = naming_flag("--denoiser", arguments.denoiser, [&] {
      return load_torchscript_denoiser(arguments.denoiser, options);
    });
    const auto* module =
        module_of<Denoiser, TorchScriptDenoiser, EdmDenoiser>(*prior.models.denoiser);
    adopt_record(*module, prior);
    forms += fmt::format("denoiser {} ({})", arguments.denoiser,
                         to_string(resolve_form(*module, options)));
  }
  if (!arguments.consistency.empty()) {
    options.form =
        chosen_form(arguments.consistency_form, arguments.torchscript_form, "--consistency-form");
    prior.models.consistency = naming_flag("--consistency", arguments.consistency, [&] {
      return load_torchscript_consistency(arguments.consistency, options);
    });
    const auto* module = module_of<ConsistencyModel, TorchScriptConsistency, BoundaryConsistency>(
        *prior.models.consistency);
    adopt_record(*module, prior);
    forms += fmt::format("{}consistency {} ({})", forms.empty() ? "" : ", ", arguments.consistency,
                         to_string(resolve_form(*module, options)));
  }
  prior.description = fmt::format("TorchScript: {}", forms);
  if (prior.num_classes > 0) prior.description += fmt::format(", {} classes", prior.num_classes);
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
  const auto forms = CLI::IsMember({"auto", "edm", "openai", "ready"});
  app.add_option("--denoiser-form", denoiser_form,
                 "what the --denoiser TorchScript file holds: auto (what the file records, "
                 "else edm), edm (raw network, EDM scalings, ln(sigma)/4), openai (raw "
                 "network, EDM scalings, 250 ln sigma) or ready (D itself)")
      ->check(forms)
      ->capture_default_str();
  app.add_option("--consistency-form", consistency_form,
                 "what the --consistency TorchScript file holds: auto, edm (raw network, "
                 "boundary scalings, ln(t)/4), openai (raw network, boundary scalings, "
                 "250 ln t) or ready (C itself)")
      ->check(forms)
      ->capture_default_str();
  app.add_option("--torchscript-form", torchscript_form,
                 "the form of both TorchScript files where --denoiser-form/--consistency-form "
                 "say auto")
      ->check(forms)
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
  auto* solver = app.add_option("--solver", name, solvers)
                     ->check(CLI::IsMember(solver_names()))
                     ->capture_default_str();
  budget_options_.push_back(
      app.add_option("--time-steps", budget.time_steps,
                     fmt::format("MAP-GA outer time steps (paper: 20; at most {})", kMaxTimeSteps))
          ->check(CLI::Range(int64_t{1}, kMaxTimeSteps))
          ->capture_default_str());
  budget_options_.push_back(
      app.add_option("--iterations", budget.iterations,
                     fmt::format("MAP-GA gradient-ascent iterations per time step (paper: 50; at "
                                 "most {})",
                                 kMaxIterations))
          ->check(CLI::Range(int64_t{1}, kMaxIterations))
          ->capture_default_str());
  budget_options_.push_back(
      app.add_option(
             "--steps", budget.steps,
             fmt::format("reverse steps of PGDM (default 100), DPS (default 1000), DDRM "
                         "(default 100) and DiffPIR (default 100); annealing levels of DAPS "
                         "(default 50); PGDM steps of MAP-GA-PGDM (default 20); at most {}",
                         kMaxSteps))
          ->check(CLI::Range(int64_t{1}, kMaxSteps)));
  budget_options_.push_back(
      app.add_option("--learning-rate", budget.learning_rate,
                     "MAP-GA step size (default: sigma_y^2 + sigma_eps^2, the paper's)")
          ->check(CLI::PositiveNumber));
  budget_options_.push_back(
      app.add_option("--optimizer", optimizer, "MAP-GA optimizer: gd, momentum or adam")
          ->check(CLI::IsMember(optimizer_names()))
          ->capture_default_str());
  budget_options_.push_back(
      app.add_option("--zeta", budget.zeta, "DPS step scale; DiffPIR noise share (0 to 1)")
          ->check(CLI::PositiveNumber)
          ->capture_default_str());
  budget_options_.push_back(
      app.add_option("--ode-steps", budget.ode_steps,
                     "DAPS: probability-flow ODE steps (network calls) per annealing level")
          ->check(CLI::PositiveNumber)
          ->capture_default_str());
  app.add_option("--preset", preset,
                 "a ready configuration instead of --solver and its budget: tuned (the solver "
                 "map-ga-tuned, PGDM then MAP-GA from its estimate; docs/map-ga-study.md)")
      ->check(CLI::IsMember({"tuned"}))
      ->excludes(solver);
}

std::string SolverArguments::solver_name() const {
  const std::string resolved = preset == "tuned" ? "map-ga-tuned" : name;
  if (resolved != "map-ga-tuned") return resolved;
  for (const auto* option : budget_options_) {
    require(option->count() == 0,
            "{}: the map-ga-tuned preset has a fixed budget and step size; leave out {} or "
            "choose another --solver",
            option->get_name(), option->get_name());
  }
  return resolved;
}

SolverSettings SolverArguments::settings() const {
  auto settings = budget;
  settings.optimizer = make_optimizer(optimizer);
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

}  // namespace mapinverse::cli
