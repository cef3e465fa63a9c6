#include <torch/torch.h>

#include "mapinverse/models/torchscript.hpp"

#include <mutex>
#include <optional>
#include <sstream>
#include <unordered_map>

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

/// The extra file of the archive that scripts/wrap_torchscript.py writes.
constexpr const char* kMetadataFile = "mapinverse.txt";

int64_t parse_count(const std::string& value, const std::string& key, const std::string& path) {
  size_t end = 0;
  long long number = -1;
  try {
    number = std::stoll(value, &end);
  } catch (const std::exception&) {
    end = 0;
  }
  require(end == value.size() && end > 0 && number >= 0,
          "TorchScript model {}: metadata {}={}: expected a whole number >= 0", path, key, value);
  return number;
}

/// Parses the `key=value` lines of the metadata; unknown keys are kept for newer files.
TorchScriptMetadata parse_metadata(const std::string& text, const std::string& path) {
  TorchScriptMetadata metadata;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    const auto equals = line.find('=');
    if (line.empty() || line[0] == '#' || equals == std::string::npos) continue;
    const auto key = line.substr(0, equals);
    const auto value = line.substr(equals + 1);
    if (key == "form") {
      metadata.form = parse_torchscript_form(value, "TorchScript model " + path + ": metadata");
    } else if (key == "labels") {
      require(value == "none" || value == "index" || value == "one-hot",
              "TorchScript model {}: metadata labels={}: expected none, index or one-hot", path,
              value);
      metadata.label_encoding = value == "none" ? "" : value;
    } else if (key == "num_classes") {
      metadata.num_classes = parse_count(value, key, path);
    } else if (key == "shape") {
      std::istringstream sizes(value);
      for (std::string size; std::getline(sizes, size, ',');) {
        metadata.image_shape.push_back(parse_count(size, key, path));
      }
      require(metadata.image_shape.size() == 3,
              "TorchScript model {}: metadata shape={}: expected C,H,W", path, value);
    }
  }
  return metadata;
}

void check_labels(const at::Tensor& labels, int64_t num_classes, const std::string& path) {
  require(labels.scalar_type() == at::kLong && labels.dim() == 1,
          "TorchScript model {}: expected labels [B] int64, got {} {}", path,
          c10::toString(labels.scalar_type()), shape_string(labels));
  if (num_classes <= 0 || labels.numel() == 0) return;
  const auto low = labels.min().item<int64_t>();
  const auto high = labels.max().item<int64_t>();
  require(low >= 0 && high < num_classes,
          "TorchScript model {}: class labels must lie in [0, {}), got labels from {} to {}", path,
          num_classes, low, high);
}

}  // namespace

std::string to_string(TorchScriptForm form) {
  switch (form) {
    case TorchScriptForm::kEdmNetwork:
      return "edm";
    case TorchScriptForm::kOpenAiNetwork:
      return "openai";
    case TorchScriptForm::kReady:
      return "ready";
  }
  return "unknown";
}

TorchScriptForm parse_torchscript_form(const std::string& name, const std::string& where) {
  for (const auto form :
       {TorchScriptForm::kEdmNetwork, TorchScriptForm::kOpenAiNetwork, TorchScriptForm::kReady}) {
    if (to_string(form) == name) return form;
  }
  throw std::invalid_argument(
      fmt::format("{} form={}: expected edm, openai or ready", where, name));
}

TorchScriptModule::TorchScriptModule(const std::filesystem::path& path, const at::Device& device)
    : path_(path.string()), device_(device), loaded_(std::make_shared<Loaded>()) {
  require(std::filesystem::is_regular_file(path), "TorchScript model {}: no such file", path_);
  torch::jit::ExtraFilesMap extra_files{{kMetadataFile, ""}};
  try {
    loaded_->module = torch::jit::load(path_, device_, extra_files);
  } catch (const c10::Error& error) {
    throw std::invalid_argument(
        fmt::format("TorchScript model {}: not a readable TorchScript archive (save it with "
                    "torch.jit.save or scripts/wrap_torchscript.py): {}",
                    path_, error.what_without_backtrace()));
  }
  loaded_->module.eval();
  takes_labels_ = check_signature(loaded_->module, path_);
  metadata_ = parse_metadata(extra_files[kMetadataFile], path_);
}

at::Tensor TorchScriptModule::forward(const at::Tensor& x, const at::Tensor& sigma,
                                      const at::Tensor& labels) const {
  require(x.device() == device_, "TorchScript model {}: loaded on {}, called with x on {}", path_,
          device_.str(), x.device().str());
  require(!labels.defined() || takes_labels_,
          "TorchScript model {}: labels were given but forward takes none", path_);
  if (labels.defined()) check_labels(labels, metadata_.num_classes, path_);
  std::vector<torch::jit::IValue> inputs{x, sigma};
  if (takes_labels_) {
    inputs.emplace_back(labels.defined() ? torch::jit::IValue(labels) : torch::jit::IValue());
  }
  torch::jit::IValue output;
  {
    // Never in inference mode: TorchScript's executor folds constants into its optimised
    // graph on the first calls, and made in inference mode they would be inference
    // tensors that a later call with autograd cannot save (MAP-GA(D) calls the same
    // denoiser both ways). Without gradients (no-grad mode), nothing is recorded either.
    const bool inference = c10::InferenceMode::is_enabled();
    c10::InferenceMode inference_off(false);
    std::optional<torch::NoGradGuard> no_grad;
    if (inference) no_grad.emplace();
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
