#pragma once

// TorchScript backends: any module saved with torch.jit.save whose forward has the
// signature
//
//     forward(self, x: Tensor, sigma: Tensor) -> Tensor
//     forward(self, x: Tensor, sigma: Tensor, labels: Optional[Tensor]) -> Tensor
//
// (x: [B, C, H, W]; sigma: [B]; labels: [B] int64 class indices or None; the result has
// x's shape) serves either as a raw network F, to be preconditioned by EdmDenoiser or
// BoundaryConsistency (then `sigma` receives c_noise: ln(sigma)/4, or 250 ln(sigma) in
// OpenAI's convention), or as a ready denoiser D(x, sigma) or consistency function
// C(x, t). `scripts/wrap_torchscript.py` produces such files from PyTorch modules and
// records in them what they hold (TorchScriptMetadata), so that loading needs no flags.

#include <cmath>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include "mapinverse/core/tensor.hpp"

#include "mapinverse/core/error.hpp"
#include "mapinverse/core/noise_schedule.hpp"
#include "mapinverse/core/tensor_checks.hpp"
#include "mapinverse/models/consistency_model.hpp"
#include "mapinverse/models/denoiser.hpp"
#include "mapinverse/models/network.hpp"
#include "mapinverse/models/preconditioning.hpp"

namespace mapinverse {

/// What a TorchScript file holds, and so which of the three conventions turns it into a
/// denoiser or a consistency model:
///
/// | form | as a denoiser | as a consistency model |
/// |---|---|---|
/// | kEdmNetwork | EDM scalings, c_noise = ln(sigma)/4 | boundary scalings, ln(t)/4 |
/// | kOpenAiNetwork | EDM scalings, c_noise = 250 ln(sigma) | boundary scalings, 250 ln(t) |
/// | kReady | D(x, sigma) itself | C(x, t) itself |
enum class TorchScriptForm {
  /// A raw network F in EDM's convention (c_noise = ln(sigma)/4).
  kEdmNetwork,
  /// A raw network F in OpenAI's `consistency_models` convention (c_noise = 250 ln s):
  /// its consistency models (`cd_imagenet64_*.pt`) and its EDM-trained denoiser
  /// (`edm_imagenet64_ema.pt`).
  kOpenAiNetwork,
  /// A ready D(x, sigma) or C(x, t), e.g. EDM's `EDMPrecond`.
  kReady,
};

/// "edm", "openai" or "ready".
std::string to_string(TorchScriptForm form);
/// The inverse of to_string(); throws std::invalid_argument naming `where` otherwise.
TorchScriptForm parse_torchscript_form(const std::string& name, const std::string& where);

/// What scripts/wrap_torchscript.py records inside a file (an extra file
/// `mapinverse.txt` of `key=value` lines). Files without it load with defaults.
struct TorchScriptMetadata {
  /// The recorded form; unset for files without a record.
  std::optional<TorchScriptForm> form;
  /// What the network inside receives as labels: "index", "one-hot" (the file turns
  /// the [B] int64 labels it is given into one-hot float32 rows) or "" (none / unknown).
  std::string label_encoding;
  /// Number of classes; 0 when unconditional or not recorded. When set, labels are
  /// checked to lie in [0, num_classes).
  int64_t num_classes = 0;
  /// The image shape [C, H, W] the network was wrapped for; empty when not recorded.
  std::vector<int64_t> image_shape;
};

/// A loaded TorchScript module whose forward signature has been checked. Copies share
/// the module; calls on it are serialised, since TorchScript's forward is not const.
class TorchScriptModule {
 public:
  /// Loads `path` onto `device` in eval mode. Throws std::invalid_argument naming the
  /// file when it is missing, not a TorchScript archive, or has another signature.
  explicit TorchScriptModule(const std::filesystem::path& path,
                             const at::Device& device = at::kCPU);

  const std::string& path() const { return path_; }
  const at::Device& device() const { return device_; }
  /// Whether forward has the third (labels) argument.
  bool takes_labels() const { return takes_labels_; }
  /// What the file records about itself (empty for files without a record).
  const TorchScriptMetadata& metadata() const { return metadata_; }

  /// Calls forward(x, sigma[, labels]) and checks the result's shape; labels must be
  /// int64 in [0, num_classes) when the metadata records num_classes.
  at::Tensor forward(const at::Tensor& x, const at::Tensor& sigma, const at::Tensor& labels) const;

 private:
  struct Loaded;  // the torch::jit::Module and its lock, compiled in the library

  std::string path_;
  at::Device device_;
  std::shared_ptr<Loaded> loaded_;
  bool takes_labels_ = false;
  TorchScriptMetadata metadata_;
};

/// A TorchScript module as a raw network F(x_in, c_noise, labels).
class TorchScriptNetwork final : public Network {
 public:
  explicit TorchScriptNetwork(TorchScriptModule module) : module_(std::move(module)) {}

  at::Tensor forward(const at::Tensor& x_in, const at::Tensor& noise_input,
                     const at::Tensor& labels) const override {
    return module_.forward(x_in, noise_input, labels);
  }

  const TorchScriptModule& module() const { return module_; }

 private:
  TorchScriptModule module_;
};

/// A TorchScript module that already is a denoiser D(x, sigma).
class TorchScriptDenoiser final : public Denoiser {
 public:
  explicit TorchScriptDenoiser(TorchScriptModule module) : module_(std::move(module)) {}

  const TorchScriptModule& module() const { return module_; }

 protected:
  at::Tensor evaluate(const at::Tensor& x, const at::Tensor& sigma,
                      const at::Tensor& labels) const override {
    return module_.forward(x, detail::noise_input_vector(sigma, x.size(0)), labels);
  }

 private:
  TorchScriptModule module_;
};

/// A TorchScript module that already is a consistency function C(x, t) with
/// C(x, epsilon) = x (the boundary condition is the module's responsibility).
class TorchScriptConsistency final : public ConsistencyModel {
 public:
  TorchScriptConsistency(TorchScriptModule module, double epsilon)
      : module_(std::move(module)), epsilon_(epsilon) {
    require(std::isfinite(epsilon) && epsilon > 0.0,
            "TorchScriptConsistency: epsilon = {}. Violated constraint: epsilon > 0", epsilon);
  }

  double epsilon() const override { return epsilon_; }
  const TorchScriptModule& module() const { return module_; }

 protected:
  at::Tensor evaluate(const at::Tensor& z, const at::Tensor& t,
                      const at::Tensor& labels) const override {
    return module_.forward(z, detail::noise_input_vector(t, z.size(0)), labels);
  }

 private:
  TorchScriptModule module_;
  double epsilon_;
};

struct TorchScriptOptions {
  /// Unset: the form the file records, or kEdmNetwork for files without a record.
  std::optional<TorchScriptForm> form;
  at::Device device = at::kCPU;
  /// Data standard deviation of the preconditioning (raw forms).
  double sigma_data = kSigmaData;
  /// Boundary time of a consistency model.
  double epsilon = kEpsilon;
};

/// The form a module is loaded with: options.form, else the recorded one, else kEdmNetwork.
inline TorchScriptForm resolve_form(const TorchScriptModule& module,
                                    const TorchScriptOptions& options) {
  return options.form.value_or(module.metadata().form.value_or(TorchScriptForm::kEdmNetwork));
}

/// How a raw network of this form receives its noise level or time.
inline NoiseInput noise_input_of(TorchScriptForm form) {
  return form == TorchScriptForm::kOpenAiNetwork ? NoiseInput::kOpenAi : NoiseInput::kEdmLogQuarter;
}

/// Loads a TorchScript file as a Denoiser (see TorchScriptForm for the conventions).
inline std::shared_ptr<const Denoiser> load_torchscript_denoiser(
    const std::filesystem::path& path, const TorchScriptOptions& options) {
  TorchScriptModule module(path, options.device);
  const auto form = resolve_form(module, options);
  if (form == TorchScriptForm::kReady) {
    return std::make_shared<TorchScriptDenoiser>(std::move(module));
  }
  EdmDenoiser::Options edm;
  edm.sigma_data = options.sigma_data;
  edm.noise_input = noise_input_of(form);
  return std::make_shared<EdmDenoiser>(std::make_shared<TorchScriptNetwork>(std::move(module)),
                                       edm);
}

/// Loads a TorchScript file as a ConsistencyModel (see TorchScriptForm).
inline std::shared_ptr<const ConsistencyModel> load_torchscript_consistency(
    const std::filesystem::path& path, const TorchScriptOptions& options) {
  TorchScriptModule module(path, options.device);
  const auto form = resolve_form(module, options);
  if (form == TorchScriptForm::kReady) {
    return std::make_shared<TorchScriptConsistency>(std::move(module), options.epsilon);
  }
  BoundaryConsistency::Options boundary;
  boundary.sigma_data = options.sigma_data;
  boundary.epsilon = options.epsilon;
  boundary.noise_input = noise_input_of(form);
  return std::make_shared<BoundaryConsistency>(
      std::make_shared<TorchScriptNetwork>(std::move(module)), boundary);
}

}  // namespace mapinverse
