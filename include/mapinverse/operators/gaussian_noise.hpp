#pragma once

#include <cmath>

#include <fmt/format.h>

#include "mapinverse/core/tensor.hpp"
#include "mapinverse/core/error.hpp"
#include "mapinverse/core/random.hpp"
#include "mapinverse/core/tensor_checks.hpp"

namespace mapinverse {

/// The measurement noise of y = A(x) + eta, eta ~ N(0, sigma^2 I) (paper eq. 1).
class GaussianNoise {
 public:
  struct Options {
    /// Standard deviation sigma_y of the noise; 0 is the noiseless problem.
    double sigma = 0.0;

    void validate() const {
      detail::require(std::isfinite(sigma) && sigma >= 0.0,
                      "GaussianNoise::Options::sigma = {}. Violated constraint: sigma >= 0 and "
                      "finite",
                      sigma);
    }
  };

  explicit GaussianNoise(const Options& options) : options_(options) { options_.validate(); }

  double sigma() const { return options_.sigma; }
  const Options& options() const { return options_; }

  /// clean + sigma * xi with xi ~ N(0, I) drawn from `generator` (a CPU generator, see
  /// make_generator()) and moved to clean's device. With sigma = 0 it returns a copy
  /// of `clean` and draws nothing.
  at::Tensor add(const at::Tensor& clean, at::Generator& generator) const {
    detail::check_floating(clean, "GaussianNoise::add()", "clean");
    if (options_.sigma == 0.0) return clean.clone();
    return clean + options_.sigma * randn_like(clean, generator);
  }

  /// log p(y | x) = -||y - A(x)||^2 / (2 sigma^2) per sample, [B], up to the constant
  /// -n/2 log(2 pi sigma^2); `predicted` is A(x). Needs sigma > 0.
  at::Tensor log_likelihood(const at::Tensor& y, const at::Tensor& predicted) const {
    constexpr const char* where = "GaussianNoise::log_likelihood()";
    detail::require(options_.sigma > 0.0,
                    "{}: expected sigma > 0, got sigma = 0 (the noiseless likelihood is a point "
                    "mass)",
                    where);
    detail::check_floating(y, where, "y");
    detail::check_floating(predicted, where, "predicted");
    detail::require(y.dim() >= 1 && y.sizes() == predicted.sizes(),
                    "{}: expected predicted of the shape of y {}, got {}", where, shape_string(y),
                    shape_string(predicted));
    detail::check_same_placement(y, predicted, where, "y", "predicted");
    const auto residual = (y - predicted).reshape({y.size(0), -1});
    return -residual.square().sum(1) / (2.0 * options_.sigma * options_.sigma);
  }

 private:
  Options options_;
};

}  // namespace mapinverse
