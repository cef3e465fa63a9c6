#pragma once

#include <memory>
#include <string>

#include "mapinverse/optimizers/optimizer.hpp"

namespace mapinverse {

/// Plain gradient ascent z <- z + lambda g (paper eqs. 9 and 12).
class GradientAscent final : public Optimizer {
 public:
  std::unique_ptr<OptimizerState> start() const override { return std::make_unique<State>(); }
  std::string name() const override { return "gradient ascent"; }

 private:
  class State final : public OptimizerState {
   public:
    at::Tensor step(const at::Tensor& z, const at::Tensor& gradient, double learning_rate) override;
  };
};

}  // namespace mapinverse
