#pragma once

#include <memory>

#include "mapinverse/core/tensor.hpp"
#include "mapinverse/operators/forward_operator.hpp"
#include "mapinverse/operators/linearisation.hpp"
#include "mapinverse/solvers/problem.hpp"

namespace mapinverse::detail {

/// The Gaussian data term at a clean estimate x_hat, with the measurement covariance
/// a I + b H H^T:
///   gradient  = H^T (a I + b H H^T)^{-1} (y - A(x_hat))   (docs/design.md §3; paper §3.3)
///   objective = -1/2 r^T (a I + b H H^T)^{-1} r,  r = y - A(x_hat),
/// where H is A itself for a linear operator and the Jacobian of A at x_hat otherwise
/// (paper §3.3: "by linearizing it around x_eps"). Everything per sample, detached.
struct DataTerm {
  /// [B, ...] shaped like x_hat.
  at::Tensor gradient;
  /// ||y - A(x_hat)|| per sample, [B].
  at::Tensor residual_norm;
  /// Per sample, [B].
  at::Tensor objective;
};

/// `with_fit = false` leaves residual_norm and objective undefined: the inner loops that
/// only need the gradient skip their small reductions (at batch 1 each tensor operation
/// costs about as much as it computes, so these add up to a few percent of a solve).
DataTerm data_term(const Problem& problem, const at::Tensor& x_hat, double a, double b,
                   bool with_fit = true);

/// ||A||^2, the largest eigenvalue of A^T A (of the first sample's operator), by 20 power
/// iterations (from below: under by a little where the two largest singular values are
/// close), or exactly where the operator's singular values are all equal; 1 for a
/// non-linear operator.
double operator_norm_squared(const Problem& problem);

/// Batch mean of a per-sample quantity, as a double (for histories and callbacks).
inline double batch_mean(const at::Tensor& values) { return values.mean().item<double>(); }

}  // namespace mapinverse::detail
