#pragma once

#include <cmath>
#include <memory>
#include <utility>

#include "mapinverse/core/tensor.hpp"
#include "mapinverse/core/error.hpp"
#include "mapinverse/core/noise_schedule.hpp"
#include "mapinverse/models/consistency_model.hpp"
#include "mapinverse/models/denoiser.hpp"
#include "mapinverse/models/network.hpp"

namespace mapinverse {

namespace detail {

inline void validate_sigma_data(double sigma_data, const char* options) {
  require(std::isfinite(sigma_data) && sigma_data > 0.0,
          "{}::sigma_data = {}. Violated constraint: sigma_data > 0", options, sigma_data);
}

inline void check_network(const std::shared_ptr<const Network>& network, const char* where) {
  require(network != nullptr, "{}: expected a network, got nullptr", where);
}

/// The per-sample values of `value` ([B or 1, 1, ..., 1]) as the [B] vector a Network takes.
inline at::Tensor noise_input_vector(const at::Tensor& value, int64_t batch) {
  return value.reshape({-1}).expand({batch});
}

}  // namespace detail

/// What a raw network receives as its noise (time) input c_noise, for noise level or
/// time s.
enum class NoiseInput {
  /// ln(s)/4: EDM's c_noise (Karras et al. 2022, Table 1; the project's own networks).
  kEdmLogQuarter,
  /// 1000 * ln(s)/4 = 250 ln(s): the time input of OpenAI's `consistency_models`
  /// networks (`cm/karras_diffusion.py`, `denoise`), both its consistency models and its
  /// EDM-trained denoiser.
  kOpenAi,
};

/// The factor k of c_noise = k ln(s).
inline double noise_input_scale(NoiseInput input) {
  return input == NoiseInput::kOpenAi ? 250.0 : 0.25;
}

/// EDM preconditioning (Karras et al. 2022, Table 1):
/// D(x, sigma) = c_skip x + c_out F(c_in x, c_noise) with c_skip = sd^2/(sigma^2+sd^2),
/// c_out = sigma sd/sqrt(sigma^2+sd^2), c_in = 1/sqrt(sigma^2+sd^2), c_noise = ln(sigma)/4
/// (or 250 ln(sigma) with NoiseInput::kOpenAi: OpenAI's EDM-trained U-Nets).
class EdmDenoiser final : public Denoiser {
 public:
  struct Options {
    /// Standard deviation of the training data (sd above); 0.5 for images in [-1, 1].
    double sigma_data = kSigmaData;
    /// How sigma is presented to the network.
    NoiseInput noise_input = NoiseInput::kEdmLogQuarter;

    void validate() const { detail::validate_sigma_data(sigma_data, "EdmDenoiser::Options"); }
  };

  // Two constructors, not a default argument: Options is incomplete inside the class.
  explicit EdmDenoiser(std::shared_ptr<const Network> network)
      : EdmDenoiser(std::move(network), Options()) {}

  EdmDenoiser(std::shared_ptr<const Network> network, const Options& options)
      : network_(std::move(network)), options_(options) {
    detail::check_network(network_, "EdmDenoiser::EdmDenoiser()");
    options_.validate();
  }

  const Network& network() const { return *network_; }
  const Options& options() const { return options_; }

 protected:
  at::Tensor evaluate(const at::Tensor& x, const at::Tensor& sigma,
                      const at::Tensor& labels) const override;

  // The same coefficients as numbers: three tensor operations around the network.
  at::Tensor evaluate_at(const at::Tensor& x, double sigma,
                         const at::Tensor& labels) const override;

 private:
  std::shared_ptr<const Network> network_;
  Options options_;
};

/// Consistency-model boundary parameterisation (Song et al. 2023, §3 and App. C):
/// C(x, t) = c_skip(t) x + c_out(t) F(c_in x, c_noise) with
/// c_skip = sd^2/((t-eps)^2+sd^2), c_out = (t-eps) sd/sqrt(sd^2+t^2),
/// c_in = 1/sqrt(t^2+sd^2), so that C(x, eps) = x exactly (paper eq. 11).
class BoundaryConsistency final : public ConsistencyModel {
 public:
  struct Options {
    /// Standard deviation of the training data; 0.5 for images in [-1, 1].
    double sigma_data = kSigmaData;
    /// The boundary time eps at which C is the identity.
    double epsilon = kEpsilon;
    /// How t is presented to the network.
    NoiseInput noise_input = NoiseInput::kEdmLogQuarter;

    void validate() const {
      detail::validate_sigma_data(sigma_data, "BoundaryConsistency::Options");
      require(std::isfinite(epsilon) && epsilon > 0.0,
              "BoundaryConsistency::Options::epsilon = {}. Violated constraint: epsilon > 0",
              epsilon);
    }
  };

  // Two constructors, not a default argument: Options is incomplete inside the class.
  explicit BoundaryConsistency(std::shared_ptr<const Network> network)
      : BoundaryConsistency(std::move(network), Options()) {}

  BoundaryConsistency(std::shared_ptr<const Network> network, const Options& options)
      : network_(std::move(network)), options_(options) {
    detail::check_network(network_, "BoundaryConsistency::BoundaryConsistency()");
    options_.validate();
  }

  double epsilon() const override { return options_.epsilon; }
  const Network& network() const { return *network_; }
  const Options& options() const { return options_; }

 protected:
  at::Tensor evaluate(const at::Tensor& z, const at::Tensor& t,
                      const at::Tensor& labels) const override;

  // The same coefficients as numbers: three tensor operations around the network.
  at::Tensor evaluate_at(const at::Tensor& z, double t, const at::Tensor& labels) const override;

 private:
  std::shared_ptr<const Network> network_;
  Options options_;
};

}  // namespace mapinverse
