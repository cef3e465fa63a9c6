#pragma once

#include <cmath>
#include <cstdint>
#include <memory>
#include <string>

#include "mapinverse/core/error.hpp"

#include "mapinverse/optimizers/optimizer.hpp"

namespace mapinverse {

/// Adam (Kingma & Ba 2015, Algorithm 1) as a maximiser: moments of the ascent
/// direction with bias correction, z <- z + lambda m_hat / (sqrt(v_hat) + epsilon).
class Adam final : public Optimizer {
 public:
  struct Options {
    /// Decay of the first-moment estimate, in [0, 1).
    double beta1 = 0.9;
    /// Decay of the second-moment estimate, in [0, 1).
    double beta2 = 0.999;
    /// Added to the root of the second moment; > 0.
    double epsilon = 1e-8;

    void validate() const {
      require(std::isfinite(beta1) && beta1 >= 0.0 && beta1 < 1.0,
              "Adam::Options::beta1 = {}. Violated constraint: 0 <= beta1 < 1", beta1);
      require(std::isfinite(beta2) && beta2 >= 0.0 && beta2 < 1.0,
              "Adam::Options::beta2 = {}. Violated constraint: 0 <= beta2 < 1", beta2);
      require(std::isfinite(epsilon) && epsilon > 0.0,
              "Adam::Options::epsilon = {}. Violated constraint: epsilon > 0", epsilon);
    }
  };

  Adam() : Adam(Options{}) {}
  explicit Adam(const Options& options) : options_(options) { options_.validate(); }

  std::unique_ptr<OptimizerState> start() const override;
  std::string name() const override { return "Adam"; }
  const Options& options() const { return options_; }

 private:
  Options options_;
};

}  // namespace mapinverse
