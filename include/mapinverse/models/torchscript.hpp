#pragma once

// TorchScript backends: any module saved with torch.jit.save whose forward has the
// signature
//
//     forward(self, x: Tensor, sigma: Tensor) -> Tensor
//     forward(self, x: Tensor, sigma: Tensor, labels: Optional[Tensor]) -> Tensor
//
// (x: [B, C, H, W]; sigma: [B]; labels: [B] int64 or None; the result has x's shape)
// serves either as a raw network F, to be preconditioned by EdmDenoiser or
// BoundaryConsistency (then `sigma` receives c_noise: ln(sigma)/4, or 250 ln(t) for
// OpenAI's consistency models), or as a ready denoiser D(x, sigma) or consistency
// function C(x, t). `scripts/wrap_torchscript.py` produces such files from PyTorch modules.

#include <cmath>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>

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

  /// Calls forward(x, sigma[, labels]) and checks the result's shape.
  at::Tensor forward(const at::Tensor& x, const at::Tensor& sigma, const at::Tensor& labels) const;

 private:
  struct Loaded;  // the torch::jit::Module and its lock, compiled in the library

  std::string path_;
  at::Device device_;
  std::shared_ptr<Loaded> loaded_;
  bool takes_labels_ = false;
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

/// What a TorchScript file holds.
enum class TorchScriptForm {
  /// A raw network F; the loader adds EDM preconditioning (c_noise = ln(sigma)/4).
  kEdmNetwork,
  /// A raw consistency network F in OpenAI's convention (c_noise = 250 ln t); only for
  /// consistency models.
  kOpenAiNetwork,
  /// A ready D(x, sigma) or C(x, t).
  kReady,
};

struct TorchScriptOptions {
  TorchScriptForm form = TorchScriptForm::kEdmNetwork;
  at::Device device = at::kCPU;
  /// Data standard deviation of the preconditioning (raw forms).
  double sigma_data = kSigmaData;
  /// Boundary time of a consistency model.
  double epsilon = kEpsilon;
};

/// Loads a TorchScript file as a Denoiser.
inline std::shared_ptr<const Denoiser> load_torchscript_denoiser(
    const std::filesystem::path& path, const TorchScriptOptions& options) {
  require(options.form != TorchScriptForm::kOpenAiNetwork,
          "load_torchscript_denoiser({}): the OpenAI time input (250 ln t) belongs to "
          "consistency models; use kEdmNetwork or kReady",
          path.string());
  TorchScriptModule module(path, options.device);
  if (options.form == TorchScriptForm::kReady) {
    return std::make_shared<TorchScriptDenoiser>(std::move(module));
  }
  EdmDenoiser::Options edm;
  edm.sigma_data = options.sigma_data;
  return std::make_shared<EdmDenoiser>(std::make_shared<TorchScriptNetwork>(std::move(module)),
                                       edm);
}

/// Loads a TorchScript file as a ConsistencyModel.
inline std::shared_ptr<const ConsistencyModel> load_torchscript_consistency(
    const std::filesystem::path& path, const TorchScriptOptions& options) {
  TorchScriptModule module(path, options.device);
  if (options.form == TorchScriptForm::kReady) {
    return std::make_shared<TorchScriptConsistency>(std::move(module), options.epsilon);
  }
  BoundaryConsistency::Options boundary;
  boundary.sigma_data = options.sigma_data;
  boundary.epsilon = options.epsilon;
  boundary.noise_input = options.form == TorchScriptForm::kOpenAiNetwork
                             ? NoiseInput::kOpenAi
                             : NoiseInput::kEdmLogQuarter;
  return std::make_shared<BoundaryConsistency>(
      std::make_shared<TorchScriptNetwork>(std::move(module)), boundary);
}

}  // namespace mapinverse
