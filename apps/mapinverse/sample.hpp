#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "setup.hpp"

namespace mapinverse::cli {

struct SampleArguments {
  int64_t count = 64;
  /// heun (EDM, the denoiser), consistency (the consistency model) or mixture (exact).
  std::string sampler = "heun";
  int64_t steps = 18;
  std::vector<double> times{80.0};
  uint64_t seed = 0;
  std::string output;
  PriorArguments prior;

  void add_to(CLI::App& app);
};

int run_sample(const SampleArguments& arguments);

}  // namespace mapinverse::cli
