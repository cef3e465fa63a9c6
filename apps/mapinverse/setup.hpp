#pragma once

// The command line's building blocks, shared by its subcommands: which prior, which
// forward operator and which solver the user asked for, and how to build each.

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <stdexcept>
#include <vector>

#include <torch/torch.h>
#include <CLI/CLI.hpp>

#include "mapinverse/core/random.hpp"
#include "mapinverse/models/gaussian_mixture_prior.hpp"
#include "mapinverse/operators/forward_operator.hpp"
#include "mapinverse/solvers/iteration.hpp"
#include "mapinverse/solvers/registry.hpp"
#include "mapinverse/solvers/solver.hpp"

#include "failures.hpp"
#include "files.hpp"
#include "labels.hpp"

namespace mapinverse::cli {

/// --prior and the files behind it.
struct PriorArguments {
  /// unet (the shipped networks), mixture (the shipped Gaussian mixture) or torchscript.
  std::string kind = "unet";
  std::string denoiser;     // empty: the shipped file
  std::string consistency;  // empty: the shipped file
  std::string mixture;      // empty: the shipped file
  /// For --prior torchscript, per file: auto (what the file records; edm when it records
  /// nothing), edm (raw network, ln(sigma)/4), openai (raw network, 250 ln sigma) or
  /// ready (the file is D or C itself). --torchscript-form sets both.
  std::string denoiser_form = "auto";
  std::string consistency_form = "auto";
  std::string torchscript_form = "auto";
  /// cpu, cuda or auto (cuda when LibTorch has it).
  std::string device = "auto";

  void add_to(CLI::App& app);
};

struct Prior {
  PriorModels models;
  /// Set for --prior mixture.
  std::shared_ptr<const GaussianMixturePrior> mixture;
  torch::Device device = torch::kCPU;
  std::string description;
  /// Hashes of the model files' contents (cached results are tied to them).
  std::string fingerprint;
  /// The image shape [C, H, W] the prior models; empty when unknown (TorchScript files
  /// without a record).
  std::vector<int64_t> image_shape;
  /// Number of classes of a class-conditional prior; 0 for unconditional ones.
  int64_t num_classes = 0;
  /// Whether the prior's networks take class labels (TorchScript files whose forward has
  /// the labels argument; they may not record num_classes).
  bool takes_labels = false;

  /// Throws std::invalid_argument when `images` [N, C, H, W] do not have image_shape.
  void check_images(const torch::Tensor& images, const std::string& source) const;
  /// The class labels of `count` images as a [count] int64 tensor on the prior's device,
  /// from one label for all or one per image; undefined for an unconditional prior.
  /// Throws std::invalid_argument naming `flag` when labels are missing, superfluous, of
  /// another count or out of range.
  torch::Tensor labels_for(const std::vector<int64_t>& labels, int64_t count,
                           const std::string& flag) const;
};

Prior load_prior(const PriorArguments& arguments);

/// --operator and its parameters.
struct OperatorArguments {
  /// inpaint, downsample or blur.
  std::string kind = "inpaint";
  /// For inpaint: a paper mask name, random:P or a PNG file (white = observed).
  std::string mask = "box50";
  int64_t factor = 2;
  double blur_sigma = 1.0;

  void add_to(CLI::App& app);
};

/// The paper's inpainting masks by name (box50, half, ...), in the paper's order.
std::vector<std::string> paper_mask_names();

/// The operator for images of height x width. `seed` fixes random:P masks.
std::shared_ptr<const ForwardOperator> make_operator(const OperatorArguments& arguments,
                                                     int64_t height, int64_t width, uint64_t seed);

/// For inpainting, the [1,1,H,W] mask (to draw missing pixels); undefined otherwise.
torch::Tensor operator_mask(const ForwardOperator& forward_operator);

/// --solver and its budget: a registered solver name and the settings it is built with.
struct SolverArguments {
  /// One of mapinverse::solver_names().
  std::string name = "map-ga";
  /// Budgets and step sizes; the optimizer is set from `optimizer` by settings().
  SolverSettings budget;
  /// gd, momentum or adam.
  std::string optimizer = "gd";
  /// --preset: empty, or "tuned" (the solver "map-ga-tuned").
  std::string preset;

  void add_to(CLI::App& app);
  /// The solver to build: "map-ga-tuned" for --preset tuned, otherwise --solver. Throws
  /// std::invalid_argument when budget flags were given for the fixed-budget preset.
  std::string solver_name() const;
  /// `budget` with the optimizer named by `optimizer`.
  SolverSettings settings() const;

 private:
  // The flags the preset's fixed budget does not read.
  std::vector<const CLI::Option*> budget_options_;
};

/// A one-line progress bar on stderr, redrawn in place when stderr is a terminal and
/// printed every 10 % otherwise.
IterationCallback progress_bar(const std::string& label);

/// Runs `action`; a std::invalid_argument or std::runtime_error it throws is rethrown, of
/// the same type, prefixed by "<flag> <value>: " (unless the message names the flag
/// already), so that the user learns which of their options was wrong.
template <typename Action>
auto naming_flag(const std::string& flag, const std::string& value, Action&& action) {
  const auto prefixed = [&](const std::exception& error) {
    const std::string message = error.what();
    return message.rfind(flag, 0) == 0 ? message : flag + " " + value + ": " + message;
  };
  try {
    return action();
  } catch (const std::invalid_argument& error) {
    throw std::invalid_argument(prefixed(error));
  } catch (const std::runtime_error& error) {
    throw std::runtime_error(prefixed(error));
  }
}

/// A seed derived from `seed` and the parts that identify one use of it (what it is for,
/// which image, which setting): mix_seed chained over the parts. Per-image seeds made
/// this way keep results independent of batching and of the number of ranks.
inline uint64_t derive_seed(uint64_t seed, std::initializer_list<uint64_t> parts) {
  uint64_t value = mix_seed(seed);
  for (const uint64_t part : parts) value = mix_seed(value ^ part);
  return value;
}

}  // namespace mapinverse::cli
