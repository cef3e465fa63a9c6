#pragma once

#include <cmath>
#include <cstdint>
#include <memory>
#include <vector>

#include "mapinverse/core/tensor.hpp"
#include "mapinverse/core/error.hpp"
#include "mapinverse/core/random.hpp"
#include "mapinverse/core/time_steps.hpp"
#include "mapinverse/models/consistency_model.hpp"
#include "mapinverse/models/denoiser.hpp"

namespace mapinverse {

/// What to draw from a prior: `count` images of `image_shape`, with these tensor options.
struct SampleRequest {
  int64_t count = 1;
  std::vector<int64_t> image_shape;
  at::TensorOptions options = at::TensorOptions().dtype(at::kFloat);
  /// [count] int64 for class-conditional models; undefined otherwise.
  at::Tensor labels;
  uint64_t seed = 0;

  std::vector<int64_t> batch_shape() const {
    require(count >= 1, "SampleRequest::count = {}. Violated constraint: count >= 1", count);
    require(!image_shape.empty(), "SampleRequest::image_shape: expected e.g. {{1,28,28}}");
    std::vector<int64_t> shape{count};
    shape.insert(shape.end(), image_shape.begin(), image_shape.end());
    return shape;
  }
};

/// EDM's deterministic second-order sampler (Karras et al. 2022, Alg. 1 with S_churn = 0):
/// Heun steps of the PF-ODE on the Karras grid, the last step to sigma = 0 by Euler.
/// Costs 2 num_steps - 1 denoiser calls.
class EdmHeunSampler {
 public:
  /// The noise levels before the final 0: EDM's defaults, 18 points from 80 to 0.002.
  using Options = TimeSteps::Options;

  explicit EdmHeunSampler(std::shared_ptr<const Denoiser> denoiser)
      : EdmHeunSampler(std::move(denoiser), Options{}) {}
  EdmHeunSampler(std::shared_ptr<const Denoiser> denoiser, Options options)
      : denoiser_(std::move(denoiser)), options_(options) {
    require(denoiser_ != nullptr, "EdmHeunSampler: expected a denoiser, got a null pointer");
    options_.validate();
  }

  int64_t network_calls() const {
    return (2 * options_.num_steps - 1) * denoiser_->network_calls_per_evaluation();
  }

  at::Tensor sample(const SampleRequest& request) const;

 private:
  at::Tensor drift(const at::Tensor& x, double sigma, const at::Tensor& labels) const;

  std::shared_ptr<const Denoiser> denoiser_;
  Options options_;
};

/// Consistency-model sampling (Song et al. 2023, Alg. 1): x = C(T xi, T), then for each
/// further time t: x = C(x + sqrt(t^2 - eps^2) xi, t). One time is one-step sampling.
class ConsistencySampler {
 public:
  struct Options {
    /// Decreasing times, the first usually T = 80 (e.g. {80} or {80, 0.8}).
    std::vector<double> times{kTimeMax};

    void validate() const {
      require(!times.empty(), "ConsistencySampler::Options::times: expected at least one time");
      for (size_t i = 0; i < times.size(); ++i) {
        require(std::isfinite(times[i]) && times[i] > 0.0 && (i == 0 || times[i] < times[i - 1]),
                "ConsistencySampler::Options::times[{}] = {}. Violated constraint: positive "
                "and decreasing",
                i, times[i]);
      }
    }
  };

  explicit ConsistencySampler(std::shared_ptr<const ConsistencyModel> consistency)
      : ConsistencySampler(std::move(consistency), Options{}) {}
  ConsistencySampler(std::shared_ptr<const ConsistencyModel> consistency, Options options)
      : consistency_(std::move(consistency)), options_(std::move(options)) {
    require(consistency_ != nullptr,
            "ConsistencySampler: expected a consistency model, got a null pointer");
    options_.validate();
  }

  int64_t network_calls() const {
    return static_cast<int64_t>(options_.times.size()) *
           consistency_->network_calls_per_evaluation();
  }

  at::Tensor sample(const SampleRequest& request) const;

 private:
  std::shared_ptr<const ConsistencyModel> consistency_;
  Options options_;
};

}  // namespace mapinverse
