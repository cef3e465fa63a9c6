#pragma once

#include <cmath>
#include <cstdint>
#include <memory>
#include <vector>

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
  /// If defined ([B, ...] or [1, ...], shaped like the unknowns), the reverse diffusion
  /// of MAP-GA, PGDM and DPS starts at N(start_image, sigma(t_start)^2 I) instead of
  /// N(0, sigma(t_start)^2 I): the seed's Table 2 oracle start (with MAP-GA's t_max =
  /// 0.5) or a warm start from a cheaper estimate.
  at::Tensor start_image;

  int64_t batch_size() const { return measurement.size(0); }

  /// Shape of the batch of unknowns: [B, image_shape...].
  std::vector<int64_t> batch_shape() const {
    std::vector<int64_t> shape{batch_size()};
    shape.insert(shape.end(), image_shape.begin(), image_shape.end());
    return shape;
  }

  /// Checks the fields against each other, including that A maps an image batch to
  /// the measurement's shape (one forward call on zeros).
  void validate() const;
};

}  // namespace mapinverse
