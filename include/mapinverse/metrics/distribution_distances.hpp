#pragma once

#include <cmath>
#include <cstdint>

#include "mapinverse/core/tensor.hpp"
#include "mapinverse/core/error.hpp"
#include "mapinverse/core/random.hpp"
#include "mapinverse/core/tensor_checks.hpp"

namespace mapinverse {

namespace detail {
inline void check_sample_sets(const at::Tensor& a, const at::Tensor& b, const char* where) {
  check_floating(a, where, "a");
  check_floating(b, where, "b");
  require(
      a.dim() == 2 && b.dim() == 2 && a.size(1) == b.size(1) && a.size(0) >= 2 && b.size(0) >= 2,
      "{}: expected sample sets [N,d] and [M,d] with N, M >= 2 and equal d, got {} and {}", where,
      shape_string(a), shape_string(b));
}

// The empirical quantile function of each column of `sorted` ([N, P], sorted along 0)
// at `levels` ([L] in [0, 1]), by linear interpolation.
at::Tensor quantiles(const at::Tensor& sorted, const at::Tensor& levels);
}  // namespace detail

/// Sliced 2-Wasserstein distance between two sample sets [N, d] and [M, d]
/// (Rabin et al. 2011; Bonneel et al. 2015): the root of the mean, over
/// `num_projections` random unit directions, of the squared 1-D 2-Wasserstein distance
/// between the projected samples (compared through their quantile functions).
double sliced_wasserstein(const at::Tensor& a, const at::Tensor& b, int64_t num_projections = 256,
                          uint64_t seed = 0);

/// Frechet distance between Gaussians fitted to two feature sets [N, d] and [M, d]
/// (Heusel et al. 2017): ||mu_a - mu_b||^2 + tr(S_a + S_b - 2 (S_a S_b)^(1/2)).
double frechet_distance(const at::Tensor& a, const at::Tensor& b);

}  // namespace mapinverse
