#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include "mapinverse/core/error.hpp"
#include "mapinverse/core/noise_schedule.hpp"

namespace mapinverse {

/// Karras et al. (2022, eq. 5) time discretisation, decreasing from t_max to t_min:
/// tau_i = (t_max^(1/rho) + i/(n-1) (t_min^(1/rho) - t_max^(1/rho)))^rho, i = 0..n-1.
class TimeSteps {
 public:
  struct Options {
    /// Number of time points, both ends included. Must be >= 2.
    int64_t num_steps = 18;
    /// Largest time (first point).
    double t_max = kTimeMax;
    /// Smallest time (last point). Must satisfy 0 < t_min < t_max.
    double t_min = kEpsilon;
    /// Curvature of the spacing; larger concentrates points near t_min.
    double rho = 7.0;

    void validate() const {
      require(num_steps >= 2,
              "TimeSteps::Options::num_steps = {}. Violated constraint: num_steps >= 2", num_steps);
      require(std::isfinite(t_min) && t_min > 0.0,
              "TimeSteps::Options::t_min = {}. Violated constraint: t_min > 0", t_min);
      require(std::isfinite(t_max) && t_max > t_min,
              "TimeSteps::Options::t_max = {}. Violated constraint: t_max > t_min = {}", t_max,
              t_min);
      require(std::isfinite(rho) && rho > 0.0,
              "TimeSteps::Options::rho = {}. Violated constraint: rho > 0", rho);
    }
  };

  explicit TimeSteps(const Options& options) : options_(options) {
    options_.validate();
    const double a = std::pow(options_.t_max, 1.0 / options_.rho);
    const double b = std::pow(options_.t_min, 1.0 / options_.rho);
    const auto n = options_.num_steps;
    values_.reserve(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
      const double fraction = static_cast<double>(i) / static_cast<double>(n - 1);
      values_.push_back(std::pow(a + fraction * (b - a), options_.rho));
    }
    // Pin the ends exactly, so that stopping criteria can compare with ==.
    values_.front() = options_.t_max;
    values_.back() = options_.t_min;
  }

  const std::vector<double>& values() const { return values_; }
  int64_t size() const { return static_cast<int64_t>(values_.size()); }
  double operator[](int64_t i) const { return values_.at(static_cast<size_t>(i)); }
  const Options& options() const { return options_; }

 private:
  Options options_;
  std::vector<double> values_;
};

}  // namespace mapinverse
