#pragma once

#include <cmath>
#include <cstdint>
#include <memory>
#include <vector>

#include <ATen/ops/zeros.h>

#include "mapinverse/core/tensor.hpp"
#include "mapinverse/core/error.hpp"
#include "mapinverse/core/tensor_checks.hpp"
#include "mapinverse/operators/forward_operator.hpp"

namespace mapinverse {

/// An inverse problem y = A(x) + N(0, sigma_y^2 I) (paper eq. 1), batched: sample b of
/// `measurement` is A(x_b) + noise, and the operator may differ per sample (e.g. one
/// inpainting mask per sample).
struct Problem {
  /// y: [B, ...] in the operator's measurement space.
  at::Tensor measurement;
  /// A: linear (Inpainting, AveragePool, ...) or non-linear (linearised by the solvers).
  std::shared_ptr<const ForwardOperator> forward_operator;
  /// Standard deviation of the measurement noise; 0 for noiseless problems.
  double sigma_y = 0.0;
  /// Shape of one unknown x without the batch dimension, e.g. {1, 28, 28}.
  std::vector<int64_t> image_shape;
  /// Class labels [B] for class-conditional priors; undefined for unconditional ones.
  at::Tensor labels;
  /// Seeds every random draw of a solve: same seed, same machine, same result.
  uint64_t seed = 0;
  /// If set (one per sample), sample i's draws come from its own generator seeded with
  /// sample_seeds[i] instead of `seed`: each result then depends only on its own seed,
  /// whatever else is in the batch.
  std::vector<uint64_t> sample_seeds;

  int64_t batch_size() const { return measurement.size(0); }

  /// Shape of the batch of unknowns: [B, image_shape...].
  std::vector<int64_t> batch_shape() const {
    std::vector<int64_t> shape{batch_size()};
    shape.insert(shape.end(), image_shape.begin(), image_shape.end());
    return shape;
  }

  /// Checks the fields against each other, including that A maps an image batch to
  /// the measurement's shape (one forward call on zeros).
  void validate() const {
    detail::require(measurement.defined() && measurement.dim() >= 1,
                    "Problem::measurement: expected a tensor of shape [B,...], got {}",
                    shape_string(measurement));
    detail::check_floating(measurement, "Problem::validate()", "measurement");
    detail::require(measurement.size(0) >= 1,
                    "Problem::measurement: expected a batch of at least one sample, got {}",
                    shape_string(measurement));
    detail::check_finite(measurement, "Problem::validate()", "measurement");
    detail::require(forward_operator != nullptr,
                    "Problem::forward_operator: expected an operator, got a null pointer");
    detail::require(std::isfinite(sigma_y) && sigma_y >= 0.0,
                    "Problem::sigma_y = {}. Violated constraint: sigma_y >= 0", sigma_y);
    detail::require(!image_shape.empty(), "Problem::image_shape: expected e.g. {{1,28,28}}, got {{}}");
    for (auto size : image_shape) {
      detail::require(size >= 1, "Problem::image_shape = {}. Violated constraint: sizes >= 1",
                      shape_string(image_shape));
    }
    detail::require(sample_seeds.empty() || static_cast<int64_t>(sample_seeds.size()) == batch_size(),
                    "Problem::sample_seeds: expected one seed per sample ({}), got {}",
                    batch_size(), sample_seeds.size());
    if (labels.defined()) {
      detail::require(labels.dim() == 1 && labels.size(0) == batch_size() &&
                          labels.scalar_type() == at::kLong,
                      "Problem::labels: expected int64 labels of shape [{}], got {} of dtype {}",
                      batch_size(), shape_string(labels), c10::toString(labels.scalar_type()));
    }
    at::NoGradGuard no_grad;
    const auto image = at::zeros(batch_shape(), measurement.options());
    const auto predicted = forward_operator->apply(image);
    detail::require(predicted.sizes() == measurement.sizes(),
                    "Problem: {} maps images of shape {} to {}, but the measurement has shape {}",
                    forward_operator->name(), shape_string(image), shape_string(predicted),
                    shape_string(measurement));
  }
};

}  // namespace mapinverse
