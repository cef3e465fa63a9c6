#include <torch/torch.h>

#include "mapinverse/models/torchscript.hpp"

#include <mutex>
#include <sstream>

#include <torch/script.h>

namespace mapinverse {

struct TorchScriptModule::Loaded {
  torch::jit::Module module;
  std::mutex mutex;
};

namespace {

bool is_tensor(const c10::TypePtr& type) { return type->kind() == c10::TypeKind::TensorType; }

bool is_optional_tensor(const c10::TypePtr& type) {
  if (type->kind() != c10::TypeKind::OptionalType) return false;
  return is_tensor(type->castRaw<c10::OptionalType>()->getElementType());
}

/// Returns whether forward takes the labels argument; throws on any other signature.
bool check_signature(const torch::jit::Module& module, const std::string& path) {
  const auto method = module.find_method("forward");
  require(method.has_value(), "TorchScript model {}: has no forward method", path);
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
    throw std::invalid_argument(
        fmt::format("TorchScript model {}: expected forward(x: Tensor, sigma: Tensor[, labels: "
                    "Optional[Tensor]]) -> Tensor, found {}",
                    path, found.str()));
  }
  return arguments.size() == 4;
}

}  // namespace

TorchScriptModule::TorchScriptModule(const std::filesystem::path& path, const at::Device& device)
    : path_(path.string()), device_(device), loaded_(std::make_shared<Loaded>()) {
  require(std::filesystem::is_regular_file(path), "TorchScript model {}: no such file", path_);
  try {
    loaded_->module = torch::jit::load(path_, device_);
  } catch (const c10::Error& error) {
    throw std::invalid_argument(
        fmt::format("TorchScript model {}: not a readable TorchScript archive (save it with "
                    "torch.jit.save or scripts/wrap_torchscript.py): {}",
                    path_, error.what_without_backtrace()));
  }
  loaded_->module.eval();
  takes_labels_ = check_signature(loaded_->module, path_);
}

at::Tensor TorchScriptModule::forward(const at::Tensor& x, const at::Tensor& sigma,
                                      const at::Tensor& labels) const {
  require(x.device() == device_, "TorchScript model {}: loaded on {}, called with x on {}", path_,
          device_.str(), x.device().str());
  require(!labels.defined() || takes_labels_,
          "TorchScript model {}: labels were given but forward takes none", path_);
  std::vector<torch::jit::IValue> inputs{x, sigma};
  if (takes_labels_) {
    inputs.emplace_back(labels.defined() ? torch::jit::IValue(labels) : torch::jit::IValue());
  }
  torch::jit::IValue output;
  {
    const std::lock_guard<std::mutex> lock(loaded_->mutex);
    output = loaded_->module.forward(std::move(inputs));
  }
  require(output.isTensor(), "TorchScript model {}: forward returned {}, not a Tensor", path_,
          output.tagKind());
  auto result = output.toTensor();
  require(result.sizes() == x.sizes(),
          "TorchScript model {}: forward returned shape {} for input shape {}", path_,
          shape_string(result), shape_string(x));
  return result;
}

}  // namespace mapinverse
