#pragma once

// Pieces shared by the U-Net training programs: per-step seeding, exponential moving
// averages, resumable checkpoints and the training batch draw.

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <torch/torch.h>

#include "mapinverse/core/random.hpp"
#include "mapinverse/io/atomic_write.hpp"
#include "mapinverse/models/unet.hpp"

namespace mapinverse::training {

/// The generator of one training step: a run resumed at `step` draws exactly what an
/// uninterrupted run would have drawn.
inline torch::Generator step_generator(uint64_t seed, int64_t step) {
  return make_generator(mix_seed(seed ^ mix_seed(static_cast<uint64_t>(step))));
}

/// average <- decay * average + (1 - decay) * model, parameter by parameter.
inline void update_ema(UNet& average, const UNet& model, double decay) {
  torch::NoGradGuard no_grad;
  const auto source = model->named_parameters();
  for (auto& item : average->named_parameters()) {
    item.value().mul_(decay).add_(source[item.key()], 1.0 - decay);
  }
}

inline void copy_parameters(UNet& target, const UNet& source) { update_ema(target, source, 0.0); }

inline int64_t parameter_count(const UNet& model) {
  int64_t count = 0;
  for (const auto& p : model->parameters()) count += p.numel();
  return count;
}

/// `batch` random training images with random horizontal flips.
inline torch::Tensor draw_batch(const torch::Tensor& images, int64_t batch,
                                torch::Generator& generator) {
  const auto indices = torch::randint(images.size(0), {batch}, generator, torch::kLong);
  auto x = images.index_select(0, indices);
  const auto flip = torch::rand({batch, 1, 1, 1}, generator) < 0.5;
  return torch::where(flip, x.flip(3), x);
}

/// A training checkpoint: the step, settings that must not change on resume (seed,
/// batch, ...), any number of named U-Nets and the Adam state, written atomically.
class TrainingCheckpoint {
 public:
  using Settings = std::vector<std::pair<std::string, int64_t>>;
  using Modules = std::vector<std::pair<std::string, UNet>>;

  explicit TrainingCheckpoint(std::filesystem::path path) : path_(std::move(path)) {}

  void save(int64_t step, const Settings& settings, const Modules& modules,
            const torch::optim::Adam& optimizer) const {
    torch::serialize::OutputArchive archive;
    archive.write("step", torch::tensor(step));
    for (const auto& [name, value] : settings) archive.write(name, torch::tensor(value));
    for (const auto& [name, module] : modules) {
      torch::serialize::OutputArchive part;
      module->save(part);
      archive.write(name, part);
    }
    torch::serialize::OutputArchive part;
    optimizer.save(part);
    archive.write("optimizer", part);
    write_atomically(path_.string(), [&](const std::string& file) { archive.save_to(file); });
  }

  /// Loads into `modules` and `optimizer`; returns the step to continue from (0 when
  /// there is no checkpoint yet). Throws when a recorded setting differs.
  int64_t load(const Settings& settings, const Modules& modules,
               torch::optim::Adam& optimizer) const {
    if (!std::filesystem::exists(path_)) return 0;
    torch::serialize::InputArchive archive;
    archive.load_from(path_.string());
    torch::Tensor value;
    for (const auto& [name, expected] : settings) {
      archive.read(name, value);
      if (value.item<int64_t>() != expected) {
        throw std::runtime_error(fmt::format(
            "{} was written with --{} {}, got {}; use another --out or the same setting",
            path_.string(), name, value.item<int64_t>(), expected));
      }
    }
    // Holders are copied: the copies share the modules being loaded into.
    for (auto [name, module] : modules) {
      torch::serialize::InputArchive part;
      archive.read(name, part);
      module->load(part);
    }
    torch::serialize::InputArchive part;
    archive.read("optimizer", part);
    optimizer.load(part);
    archive.read("step", value);
    return value.item<int64_t>();
  }

 private:
  std::filesystem::path path_;
};

/// Sets the learning rate of the (single) parameter group of `optimizer`.
inline void set_learning_rate(torch::optim::Adam& optimizer, double learning_rate) {
  static_cast<torch::optim::AdamOptions&>(optimizer.param_groups().front().options())
      .lr(learning_rate);
}

/// Prints the mean loss, seconds per step and the remaining time every `every` steps.
class ProgressReport {
 public:
  ProgressReport(int64_t every, int64_t total_steps) : every_(every), total_(total_steps) {}

  void add(int64_t steps_done, double loss) {
    loss_sum_ += loss;
    ++window_;
    if (steps_done % every_ != 0 && steps_done != total_) return;
    const auto now = std::chrono::steady_clock::now();
    const double seconds = std::chrono::duration<double>(now - window_start_).count() / window_;
    fmt::print("step {:7d}  loss {:.4f}  {:.3f} s/step  eta {:.1f} h\n", steps_done,
               loss_sum_ / window_, seconds,
               seconds * static_cast<double>(total_ - steps_done) / 3600.0);
    std::fflush(stdout);
    loss_sum_ = 0.0;
    window_ = 0;
    window_start_ = now;
  }

 private:
  int64_t every_;
  int64_t total_;
  double loss_sum_ = 0.0;
  int64_t window_ = 0;
  std::chrono::steady_clock::time_point window_start_ = std::chrono::steady_clock::now();
};

}  // namespace mapinverse::training
