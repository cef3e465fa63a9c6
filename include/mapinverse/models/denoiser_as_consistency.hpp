#pragma once

#include <memory>

#include "mapinverse/core/error.hpp"
#include "mapinverse/models/consistency_model.hpp"
#include "mapinverse/models/denoiser.hpp"

namespace mapinverse {

/// The paper's "D" variant (§4): the denoiser stands in for the consistency model,
/// C(z, t) = D(z, sigma(t)). It is one backward-Euler step of the PF-ODE from t to 0.
class DenoiserAsConsistency final : public ConsistencyModel {
 public:
  explicit DenoiserAsConsistency(std::shared_ptr<const Denoiser> denoiser)
      : denoiser_(std::move(denoiser)) {
    require(denoiser_ != nullptr, "DenoiserAsConsistency: expected a denoiser, got a null pointer");
  }

  std::shared_ptr<const NoiseSchedule> schedule() const override { return denoiser_->schedule(); }
  int64_t network_calls_per_evaluation() const override {
    return denoiser_->network_calls_per_evaluation();
  }
  const std::shared_ptr<const Denoiser>& denoiser() const { return denoiser_; }

 protected:
  at::Tensor evaluate(const at::Tensor& z, const at::Tensor& t,
                      const at::Tensor& labels) const override {
    return denoiser_->denoise(z, denoiser_->schedule()->sigma(t).reshape({-1}), labels);
  }

  at::Tensor evaluate_at(const at::Tensor& z, double t, const at::Tensor& labels) const override {
    return denoiser_->denoise(z, denoiser_->schedule()->sigma(t), labels);
  }

 private:
  std::shared_ptr<const Denoiser> denoiser_;
};

}  // namespace mapinverse
