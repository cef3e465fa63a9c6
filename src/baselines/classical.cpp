#include "mapinverse/baselines/classical.hpp"

#include <torch/torch.h>

#include "mapinverse/core/error.hpp"
#include "mapinverse/operators/average_pool.hpp"
#include "mapinverse/operators/gaussian_blur.hpp"
#include "mapinverse/operators/inpainting.hpp"

namespace mapinverse {
namespace {

// Forward differences along the last two dimensions and their adjoint: D^T D is the
// 5-point Laplacian (negated) with reflecting boundaries, symmetric by construction.
at::Tensor difference(const at::Tensor& x, int64_t dim) {
  const int64_t n = x.size(dim);
  return x.narrow(dim, 1, n - 1) - x.narrow(dim, 0, n - 1);
}

at::Tensor difference_adjoint(const at::Tensor& g, int64_t dim) {
  // (D^T g)_i = g_{i-1} - g_i, with g_{-1} = g_{n-1} = 0.
  auto padded_before = at::constant_pad_nd(
      g, dim == 3 ? std::vector<int64_t>{1, 0} : std::vector<int64_t>{0, 0, 1, 0});
  auto padded_after = at::constant_pad_nd(
      g, dim == 3 ? std::vector<int64_t>{0, 1} : std::vector<int64_t>{0, 0, 0, 1});
  return padded_before - padded_after;
}

at::Tensor laplacian(const at::Tensor& x) {
  return difference_adjoint(difference(x, 2), 2) + difference_adjoint(difference(x, 3), 3);
}

// Per-sample inner product, shaped [B,1,1,1].
at::Tensor sample_dot(const at::Tensor& u, const at::Tensor& v) {
  return (u * v).sum({1, 2, 3}, true);
}

}  // namespace

at::Tensor biharmonic_inpainting(const at::Tensor& y, const at::Tensor& mask) {
  require(y.dim() == 4 && mask.dim() == 4 && y.size(2) >= 2 && y.size(3) >= 2,
          "biharmonic_inpainting(): expected y [B,C,H,W] and mask [1 or B,1,H,W] with H, W >= "
          "2, got {} and {}",
          shape_string(y), shape_string(mask));
  const auto x = y.to(at::kDouble);
  const auto missing = (1.0 - mask.to(x.options())).expand_as(x);
  const auto known = x * (1.0 - missing);
  // Minimise ||L (known + missing u)||^2 over u: (missing L L missing) u = -missing L L known.
  const auto normal = [&](const at::Tensor& u) {
    return missing * laplacian(laplacian(missing * u));
  };
  auto u = at::zeros_like(x);
  auto residual = -missing * laplacian(laplacian(known));
  auto direction = residual.clone();
  auto residual_norm = sample_dot(residual, residual);
  const auto stop = residual_norm.clamp_min(1e-300) * 1e-16;
  for (int iteration = 0; iteration < 2000; ++iteration) {
    if ((residual_norm <= stop).all().item<bool>()) break;
    const auto curvature = normal(direction);
    const auto denominator = sample_dot(direction, curvature);
    const auto step = at::where(denominator > 0, residual_norm / denominator.clamp_min(1e-300),
                                at::zeros_like(denominator));
    u = u + step * direction;
    residual = residual - step * curvature;
    const auto next_norm = sample_dot(residual, residual);
    direction = residual + (next_norm / residual_norm.clamp_min(1e-300)) * direction;
    residual_norm = next_norm;
  }
  return (known + missing * u).to(y.scalar_type());
}

at::Tensor bicubic_upsampling(const at::Tensor& y, int64_t factor) {
  require(y.dim() == 4 && factor >= 1,
          "bicubic_upsampling(): expected y [B,C,h,w] and factor >= 1, got {} and {}",
          shape_string(y), factor);
  return at::upsample_bicubic2d(y, {y.size(2) * factor, y.size(3) * factor}, false);
}

at::Tensor tikhonov(const LinearOperator& op, const at::Tensor& y, double lambda) {
  return op.adjoint(op.solve_gram(y, lambda, 1.0));
}

double wiener_regularisation(double sigma_y) { return sigma_y * sigma_y / 0.25 + 1e-4; }

ClassicalRestoration classical_restoration(const Problem& problem) {
  const auto& op = problem.forward_operator;
  require(op->is_linear(), "classical_restoration(): no non-learned baseline for the non-linear {}",
          op->name());
  at::NoGradGuard no_grad;
  const auto& y = problem.measurement;
  if (const auto* inpainting = dynamic_cast<const Inpainting*>(op.get())) {
    return {"biharmonic inpainting", biharmonic_inpainting(y, inpainting->mask())};
  }
  if (const auto* pool = dynamic_cast<const AveragePool*>(op.get())) {
    return {"bicubic upsampling", bicubic_upsampling(y, pool->factor())};
  }
  const auto& linear = static_cast<const LinearOperator&>(*op);
  const double lambda = wiener_regularisation(problem.sigma_y);
  if (dynamic_cast<const GaussianBlur*>(op.get()) != nullptr) {
    return {"Wiener deconvolution", tikhonov(linear, y, lambda)};
  }
  return {"Tikhonov (white prior)", tikhonov(linear, y, lambda)};
}

}  // namespace mapinverse
