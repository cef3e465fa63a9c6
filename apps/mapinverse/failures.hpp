#pragma once

// Turning a solve's out-of-memory failure into advice (failures.cpp).

#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "mapinverse/solvers/iteration.hpp"
#include "mapinverse/solvers/solver.hpp"

namespace mapinverse::cli {

/// Solves `problem` ([N, ...], `images` of them); running out of memory (on the GPU or
/// the CPU) becomes a std::runtime_error that names the number of images solved at once
/// and ends with `advice` (which option to make smaller). The batch is not split.
Summary solve_or_explain_memory(const Solver& solver, const Problem& problem,
                                const std::vector<IterationCallback>& callbacks,
                                const torch::Device& device, const std::string& advice);

}  // namespace mapinverse::cli
