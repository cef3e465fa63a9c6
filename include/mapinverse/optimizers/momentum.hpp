#pragma once

#include <cmath>
#include <memory>
#include <string>

#include "mapinverse/core/error.hpp"
#include "mapinverse/optimizers/optimizer.hpp"

namespace mapinverse {

/// Heavy-ball momentum (Polyak 1964) or Nesterov's accelerated gradient, as a maximiser:
/// v <- mu v + g; z <- z + lambda v (heavy ball) or z <- z + lambda (g + mu v) (Nesterov,
/// in the form used by PyTorch's SGD).
class Momentum final : public Optimizer {
 public:
  struct Options {
    /// Decay of the velocity, in [0, 1).
    double momentum = 0.9;
    /// Use Nesterov's look-ahead form.
    bool nesterov = false;

    void validate() const {
      require(std::isfinite(momentum) && momentum >= 0.0 && momentum < 1.0,
              "Momentum::Options::momentum = {}. Violated constraint: 0 <= momentum < 1", momentum);
    }
  };

  Momentum() : Momentum(Options{}) {}
  explicit Momentum(const Options& options) : options_(options) { options_.validate(); }

  std::unique_ptr<OptimizerState> start() const override;
  std::string name() const override { return options_.nesterov ? "Nesterov momentum" : "momentum"; }
  const Options& options() const { return options_; }

 private:
  Options options_;
};

}  // namespace mapinverse
