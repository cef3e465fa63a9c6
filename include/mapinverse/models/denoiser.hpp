#pragma once

#include <cstdint>
#include <memory>

#include "mapinverse/core/tensor.hpp"
#include "mapinverse/core/noise_schedule.hpp"
#include "mapinverse/core/tensor_checks.hpp"

namespace mapinverse {

/// A denoiser D(x, sigma) ~ E[x0 | x0 + sigma n = x], the object an EDM-style
/// diffusion model learns (Karras et al. 2022). Its score is (D(x, sigma) - x) / sigma^2
/// (paper §3.3).
class Denoiser {
 public:
  Denoiser() = default;
  virtual ~Denoiser() = default;
  Denoiser(const Denoiser&) = delete;
  Denoiser& operator=(const Denoiser&) = delete;

  /// x: [B, ...]; sigma: a scalar or [B] (one noise level per sample); labels: undefined
  /// for unconditional use, or [B] int64 class labels for class-conditional models.
  /// Differentiable with respect to x when autograd is on.
  at::Tensor denoise(const at::Tensor& x, const at::Tensor& sigma,
                     const at::Tensor& labels = at::Tensor()) const {
    check_input(x);
    return evaluate(x, per_sample(sigma, x, "Denoiser::denoise()"), labels);
  }

  /// The same at one noise level for the whole batch (what the solvers call).
  at::Tensor denoise(const at::Tensor& x, double sigma,
                     const at::Tensor& labels = at::Tensor()) const {
    check_input(x);
    return evaluate_at(x, sigma, labels);
  }

  /// The schedule sigma(t) this denoiser's noise levels follow.
  virtual std::shared_ptr<const NoiseSchedule> schedule() const { return edm_schedule(); }

  /// Network evaluations one call of denoise() costs (for NFE accounting).
  virtual int64_t network_calls_per_evaluation() const { return 1; }

 protected:
  /// `sigma` arrives shaped [B or 1, 1, ..., 1], broadcastable against x, with x's dtype/device.
  virtual at::Tensor evaluate(const at::Tensor& x, const at::Tensor& sigma,
                              const at::Tensor& labels) const = 0;

  /// evaluate() at one noise level for the whole batch. The default passes sigma on as
  /// a tensor; denoisers whose coefficients are closed-form in sigma override it to
  /// compute them as numbers rather than as tensor operations on a scalar.
  virtual at::Tensor evaluate_at(const at::Tensor& x, double sigma, const at::Tensor& labels) const;

 private:
  /// What every call checks of its input.
  static void check_input(const at::Tensor& x) {
    check_floating(x, "Denoiser::denoise()", "x");
    require(x.dim() >= 1, "Denoiser::denoise(): expected x of shape [B,...], got {}",
            shape_string(x));
  }
};

}  // namespace mapinverse
