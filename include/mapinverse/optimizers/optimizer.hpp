#pragma once

#include <memory>
#include <string>
#include "mapinverse/core/tensor.hpp"

namespace mapinverse {

/// The running state of one optimisation (momentum buffers, moment estimates).
/// Created by Optimizer::start() for each solve, so one Optimizer serves many solves.
class OptimizerState {
 public:
  OptimizerState() = default;
  virtual ~OptimizerState() = default;
  OptimizerState(const OptimizerState&) = delete;
  OptimizerState& operator=(const OptimizerState&) = delete;

  /// One MAXIMISATION step: returns the next iterate given the current one `z` and the
  /// ascent direction `gradient` (the gradient of the objective at z).
  virtual at::Tensor step(const at::Tensor& z, const at::Tensor& gradient,
                          double learning_rate) = 0;
};

/// A first-order maximiser (paper eq. 12 for plain gradient ascent). Solvers call
/// start() whenever the objective changes (e.g. at each new diffusion time step).
class Optimizer {
 public:
  Optimizer() = default;
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  virtual std::unique_ptr<OptimizerState> start() const = 0;
  virtual std::string name() const = 0;
};

}  // namespace mapinverse
