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
// function C(x, t). `tools/wrap_torchscript.py` produces such files from PyTorch modules.

#include <cmath>
#include <filesystem>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <utility>

#include <fmt/format.h>
#include <torch/script.h>
#include <torch/torch.h>

#include "mapinverse/core/error.hpp"
#include "mapinverse/core/noise_schedule.hpp"
#include "mapinverse/core/tensor_checks.hpp"
#include "mapinverse/models/consistency_model.hpp"
#include "mapinverse/models/denoiser.hpp"
#include "mapinverse/models/network.hpp"
#include "mapinverse/models/preconditioning.hpp"

namespace mapinverse {

/// A loaded TorchScript module whose forward signature has been checked.
class TorchScriptModule {
 public:
  /// Loads `path` onto `device` in eval mode. Throws std::invalid_argument naming the
  /// file when it is missing, not a TorchScript archive, or has another signature.
  explicit TorchScriptModule(const std::filesystem::path& path,
                             const torch::Device& device = torch::kCPU)
      : path_(path.string()), device_(device) {
    detail::require(std::filesystem::is_regular_file(path),
                    "TorchScript model {}: no such file", path_);
    try {
      module_ = torch::jit::load(path_, device_);
    } catch (const c10::Error& error) {
      throw std::invalid_argument(fmt::format(
          "TorchScript model {}: not a readable TorchScript archive (save it with "
          "torch.jit.save or tools/wrap_torchscript.py): {}",
          path_, error.what_without_backtrace()));
    }
    module_.eval();
    takes_labels_ = check_signature();
  }

  const std::string& path() const { return path_; }
  const torch::Device& device() const { return device_; }
  /// Whether forward has the third (labels) argument.
  bool takes_labels() const { return takes_labels_; }

  /// Calls forward(x, sigma[, labels]) and checks the result's shape.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& sigma,
                        const torch::Tensor& labels) const {
    detail::require(x.device() == device_,
                    "TorchScript model {}: loaded on {}, called with x on {}", path_,
                    device_.str(), x.device().str());
    detail::require(!labels.defined() || takes_labels_,
                    "TorchScript model {}: labels were given but forward takes none", path_);
    std::vector<torch::jit::IValue> inputs{x, sigma};
    if (takes_labels_) {
      inputs.emplace_back(labels.defined() ? torch::jit::IValue(labels) : torch::jit::IValue());
    }
    torch::jit::IValue output;
    {
      // torch::jit::Module::forward is not const; calls on one module are serialised.
      const std::lock_guard<std::mutex> lock(*mutex_);
      output = module_.forward(std::move(inputs));
    }
    detail::require(output.isTensor(), "TorchScript model {}: forward returned {}, not a Tensor",
                    path_, output.tagKind());
    auto result = output.toTensor();
    detail::require(result.sizes() == x.sizes(),
                    "TorchScript model {}: forward returned shape {} for input shape {}", path_,
                    shape_string(result), shape_string(x));
    return result;
  }

 private:
  static bool is_tensor(const c10::TypePtr& type) {
    return type->kind() == c10::TypeKind::TensorType;
  }
  static bool is_optional_tensor(const c10::TypePtr& type) {
    if (type->kind() != c10::TypeKind::OptionalType) return false;
    return is_tensor(type->castRaw<c10::OptionalType>()->getElementType());
  }

  /// Returns whether the labels argument is present; throws on any other signature.
  bool check_signature() const {
    const auto method = module_.find_method("forward");
    detail::require(method.has_value(), "TorchScript model {}: has no forward method", path_);
    const auto& schema = method->function().getSchema();
    const auto& arguments = schema.arguments();  // arguments[0] is self
    const bool shape_ok = (arguments.size() == 3 || arguments.size() == 4) &&
                          is_tensor(arguments[1].type()) && is_tensor(arguments[2].type()) &&
                          (arguments.size() == 3 || is_tensor(arguments[3].type()) ||
                           is_optional_tensor(arguments[3].type())) &&
                          schema.returns().size() == 1 && is_tensor(schema.returns()[0].type());
    if (!shape_ok) {
      std::ostringstream found;
      found << schema;
      throw std::invalid_argument(fmt::format(
          "TorchScript model {}: expected forward(x: Tensor, sigma: Tensor[, labels: "
          "Optional[Tensor]]) -> Tensor, found {}",
          path_, found.str()));
    }
    return arguments.size() == 4;
  }

  std::string path_;
  torch::Device device_;
  mutable torch::jit::Module module_;
  bool takes_labels_ = false;
  std::shared_ptr<std::mutex> mutex_ = std::make_shared<std::mutex>();
};

/// A TorchScript module as a raw network F(x_in, c_noise, labels).
class TorchScriptNetwork final : public Network {
 public:
  explicit TorchScriptNetwork(TorchScriptModule module) : module_(std::move(module)) {}

  torch::Tensor forward(const torch::Tensor& x_in, const torch::Tensor& noise_input,
                        const torch::Tensor& labels) const override {
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
  torch::Tensor evaluate(const torch::Tensor& x, const torch::Tensor& sigma,
                         const torch::Tensor& labels) const override {
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
    detail::require(std::isfinite(epsilon) && epsilon > 0.0,
                    "TorchScriptConsistency: epsilon = {}. Violated constraint: epsilon > 0",
                    epsilon);
  }

  double epsilon() const override { return epsilon_; }
  const TorchScriptModule& module() const { return module_; }

 protected:
  torch::Tensor evaluate(const torch::Tensor& z, const torch::Tensor& t,
                         const torch::Tensor& labels) const override {
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
  torch::Device device = torch::kCPU;
  /// Data standard deviation of the preconditioning (raw forms).
  double sigma_data = kSigmaData;
  /// Boundary time of a consistency model.
  double epsilon = kEpsilon;
};

/// Loads a TorchScript file as a Denoiser.
inline std::shared_ptr<const Denoiser> load_torchscript_denoiser(
    const std::filesystem::path& path, const TorchScriptOptions& options) {
  detail::require(options.form != TorchScriptForm::kOpenAiNetwork,
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
