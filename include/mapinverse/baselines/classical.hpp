#pragma once

#include <cstdint>
#include <string>

#include "mapinverse/core/tensor.hpp"
#include "mapinverse/operators/forward_operator.hpp"
#include "mapinverse/solvers/problem.hpp"

namespace mapinverse {

/// A non-learned restoration: what a learned prior has to beat on the same y.
struct ClassicalRestoration {
  /// "biharmonic inpainting", "bicubic upsampling", "Wiener deconvolution" or
  /// "Tikhonov (white prior)".
  std::string method;
  /// [B,...] like the problem's images, not clamped.
  at::Tensor estimate;
};

/// The operator's standard non-learned restoration: biharmonic inpainting for
/// Inpainting, bicubic upsampling for AveragePool, Wiener deconvolution for
/// GaussianBlur and Tikhonov regularisation for any other linear operator. Throws
/// std::invalid_argument for a non-linear operator.
ClassicalRestoration classical_restoration(const Problem& problem);

/// Biharmonic inpainting: the observed pixels kept (mask 1), the missing ones minimising
/// ||L x||^2 with L the 5-point Laplacian with reflecting (Neumann) boundaries, solved by
/// conjugate gradients per sample to a relative residual of 1e-8 (at most 2,000
/// iterations). `y` and `mask` are [B,C,H,W] and [1 or B,1,H,W].
at::Tensor biharmonic_inpainting(const at::Tensor& y, const at::Tensor& mask);

/// Bicubic upsampling of average-pooled measurements [B,C,H/k,W/k] by `factor` k.
at::Tensor bicubic_upsampling(const at::Tensor& y, int64_t factor);

/// x = H^T (lambda I + H H^T)^{-1} y: the MAP estimate under a white Gaussian prior of
/// variance sigma_x^2 with lambda = sigma_y^2 / sigma_x^2 (for a circular blur, Wiener
/// deconvolution with a flat signal spectrum).
at::Tensor tikhonov(const LinearOperator& op, const at::Tensor& y, double lambda);

/// lambda of classical_restoration(): sigma_y^2 / 0.25 (the images' variance in [-1, 1]
/// is about 0.25 for Fashion-MNIST) plus 1e-4 so that noiseless problems stay stable.
double wiener_regularisation(double sigma_y);

}  // namespace mapinverse
