#pragma once

#include <cstdint>
#include <memory>

#include "mapinverse/core/tensor.hpp"
#include "mapinverse/core/noise_schedule.hpp"
#include "mapinverse/core/tensor_checks.hpp"

namespace mapinverse {

/// A consistency function C(z, t): maps a point z at time t of the probability-flow
/// ODE to the trajectory's origin at time epsilon (Song et al. 2023; paper §3.1,
/// eqs. 10-11). C(x, epsilon) = x.
class ConsistencyModel {
 public:
  ConsistencyModel() = default;
  virtual ~ConsistencyModel() = default;
  ConsistencyModel(const ConsistencyModel&) = delete;
  ConsistencyModel& operator=(const ConsistencyModel&) = delete;

  /// z: [B, ...]; t: a scalar or [B]; labels: undefined or [B] int64.
  /// Differentiable with respect to z when autograd is on.
  at::Tensor origin(const at::Tensor& z, const at::Tensor& t,
                    const at::Tensor& labels = at::Tensor()) const {
    check_point(z);
    return evaluate(z, per_sample(t, z, "ConsistencyModel::origin()"), labels);
  }

  /// The same at one time t for the whole batch (what the solvers call).
  at::Tensor origin(const at::Tensor& z, double t, const at::Tensor& labels = at::Tensor()) const {
    check_point(z);
    return evaluate_at(z, t, labels);
  }

  /// The time the model maps to (sigma(epsilon) is the noise left in its output).
  virtual double epsilon() const { return kEpsilon; }

  virtual std::shared_ptr<const NoiseSchedule> schedule() const { return edm_schedule(); }

  /// Network evaluations one call of origin() costs (for NFE accounting).
  virtual int64_t network_calls_per_evaluation() const { return 1; }

 protected:
  /// `t` arrives shaped [B or 1, 1, ..., 1] with z's dtype/device.
  virtual at::Tensor evaluate(const at::Tensor& z, const at::Tensor& t,
                              const at::Tensor& labels) const = 0;

  /// evaluate() at one time t for the whole batch. The default passes t on as a
  /// tensor; models whose coefficients are closed-form in t override it to compute them
  /// as numbers rather than as tensor operations on a scalar.
  virtual at::Tensor evaluate_at(const at::Tensor& z, double t, const at::Tensor& labels) const;

 private:
  /// What every call checks of its input.
  static void check_point(const at::Tensor& z) {
    check_floating(z, "ConsistencyModel::origin()", "z");
    require(z.dim() >= 1, "ConsistencyModel::origin(): expected z of shape [B,...], got {}",
            shape_string(z));
  }
};

}  // namespace mapinverse
