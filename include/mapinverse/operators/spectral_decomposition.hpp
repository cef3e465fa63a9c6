#pragma once

#include <cstdint>

#include "mapinverse/core/tensor.hpp"

namespace mapinverse {

/// The singular value decomposition H = U S V^T of a linear operator, in the form that
/// spectral solvers (DDRM) use. An image x has coefficients c = V^T x, a tensor of any
/// shape, real or complex (a Fourier basis gives complex ones); S is real and
/// non-negative and broadcasts against c. V is orthogonal (unitary), so white noise in
/// the image maps to white noise in the coefficients: solvers draw noise in the image
/// and transform it, and never need to know the coefficients' layout.
class SpectralDecomposition {
 public:
  SpectralDecomposition() = default;
  virtual ~SpectralDecomposition() = default;
  SpectralDecomposition(const SpectralDecomposition&) = delete;
  SpectralDecomposition& operator=(const SpectralDecomposition&) = delete;

  /// c = V^T x for images x shaped like the operator's input, batch first.
  virtual at::Tensor to_spectral(const at::Tensor& x) const = 0;

  /// x = V c, real, shaped like the operator's input.
  virtual at::Tensor from_spectral(const at::Tensor& c) const = 0;

  /// S, real, >= 0, broadcastable against to_spectral(x) for x shaped like `like`.
  /// Singular values below the decomposition's cut-off are reported as 0: the
  /// coordinate is treated as unobserved rather than divided by a rounding error.
  virtual at::Tensor singular_values(const at::Tensor& like) const = 0;

  /// S^+ U^T y: the measurement as coefficients of the image, y_bar_i = (U^T y)_i / s_i
  /// where s_i > 0 and 0 elsewhere (DDRM's y_bar).
  virtual at::Tensor pseudo_inverse(const at::Tensor& y) const = 0;
};

}  // namespace mapinverse
