#pragma once

// The command-line options the training programs share, for CLI11.

#include <cstdint>
#include <stdexcept>
#include <string>

#include <CLI/CLI.hpp>

#include "mapinverse/io/idx.hpp"

namespace mapinverse::training {

/// --data: the Fashion-MNIST folder.
inline void add_data_option(CLI::App& app, std::string& data) {
  data = kFashionMnistDirectory;
  app.add_option("--data", data, "Fashion-MNIST folder")->capture_default_str();
}

/// --threads, default 1: on a 2-core machine shared with other work, two OpenMP
/// threads wait on each other at every barrier and a step took 10x longer (measured).
inline void add_threads_option(CLI::App& app, int64_t& threads) {
  threads = 1;
  app.add_option("--threads", threads, "LibTorch intra-op threads")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
}

/// --out, --steps and --batch of a training run (their defaults are the caller's).
inline void add_run_options(CLI::App& app, std::string& out, int64_t& steps, int64_t& batch) {
  app.add_option("--out", out, "folder for the checkpoint and the weights")->capture_default_str();
  app.add_option("--steps", steps, "training steps")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--batch", batch, "batch size")->check(CLI::PositiveNumber)->capture_default_str();
}

/// A decay rate or similar: a number in [0, 1).
inline CLI::Validator unit_interval() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        try {
          size_t end = 0;
          const double value = std::stod(text, &end);
          if (end == text.size() && value >= 0.0 && value < 1.0) return {};
        } catch (const std::logic_error&) {
          // Reported below, like a value out of range.
        }
        return "expected a number in [0, 1), got " + text;
      },
      "in [0, 1)");
}

/// A count with a lower bound: an integer >= minimum.
inline CLI::Validator at_least(int64_t minimum) {
  return CLI::Validator(
      [minimum](std::string& text) -> std::string {
        try {
          size_t end = 0;
          const long long value = std::stoll(text, &end);
          if (end == text.size() && value >= minimum) return {};
        } catch (const std::logic_error&) {
          // Reported below, like a value out of range.
        }
        return "expected an integer >= " + std::to_string(minimum) + ", got " + text;
      },
      ">= " + std::to_string(minimum));
}

}  // namespace mapinverse::training
