#pragma once

// Upper bounds on the options whose cost grows with their value (memory or time), and
// what the tool is doing (for error messages). The bounds are far above any real use on
// the project's images (28x28 Fashion-MNIST, 256x256 colour photographs) and stop the
// absurd: a blur kernel wider than the image, a billion time steps, a batch of a million
// images. They are listed in the tool's --help and in docs/reliability.md.

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <string>

#include <CLI/CLI.hpp>

namespace mapinverse::cli {

/// Images solved together (restore --batch, bench --batch, restore --fmnist-test).
inline constexpr int64_t kMaxBatch = 1024;
/// Values (images x channels x height x width) in one batch: 2^24, 64 MiB of float32
/// per copy; a solve keeps a few dozen copies (network activations for the VJP).
inline constexpr int64_t kMaxBatchValues = int64_t{1} << 24;
/// Pixels (height x width) of one image: 2^22, e.g. 2048 x 2048.
inline constexpr int64_t kMaxImagePixels = int64_t{1} << 22;
/// Values of all the images a batch run loads (--input-dir): 2^28, 1 GiB of float32.
inline constexpr int64_t kMaxInputValues = int64_t{1} << 28;
/// MAP-GA outer time steps and inner iterations (paper: 20 and 50).
inline constexpr int64_t kMaxTimeSteps = 1000;
inline constexpr int64_t kMaxIterations = 1000;
/// Reverse steps of PGDM, DPS and the Heun sampler (DPS's usual budget is 1000).
inline constexpr int64_t kMaxSteps = 10000;
/// Consistency-sampler times.
inline constexpr size_t kMaxTimes = 1000;
/// LibTorch intra-op threads.
inline constexpr int kMaxThreads = 1024;

/// Refuses what is not an integer in [0, 2^64 - 1] for an unsigned option: CLI11 would
/// otherwise wrap -3 around to 2^64 - 3 and clamp 2^64 to 2^64 - 1.
inline CLI::Validator unsigned_integer() {
  return CLI::Validator(
      [](std::string& input) -> std::string {
        const bool digits =
            !input.empty() && input.find_first_not_of("0123456789") == std::string::npos;
        errno = 0;
        if (digits) std::strtoull(input.c_str(), nullptr, 10);
        if (digits && errno != ERANGE) return {};
        return "expected an integer from 0 to " +
               std::to_string(std::numeric_limits<uint64_t>::max()) + ", got " + input;
      },
      "UINT");
}

/// What the tool is doing now ("loading the prior", "solving images 0-15"): the tool's
/// top level names it when an error from LibTorch ends the run.
void set_activity(std::string activity);
const std::string& current_activity();

}  // namespace mapinverse::cli
