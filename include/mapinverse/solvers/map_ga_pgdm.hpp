#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mapinverse/core/error.hpp"
#include "mapinverse/solvers/map_ga.hpp"
#include "mapinverse/solvers/pgdm.hpp"

namespace mapinverse {

/// MAP-GA-PGDM, paper Algorithm 3 for noisy problems: MAP-GA without the prior from T
/// down to tau_0^map with sigma(tau_0^map) = sigma_y, whose output is taken as the
/// sample at noise level sigma_y, then PGDM with renoising updates from sigma_y to
/// epsilon in `pgdm_steps` steps (m = 20 in the paper).
class MapGaPgdm final : public Solver {
 public:
  /// The MAP-GA stage's schedule and budget (paper §5: 20 x 50 is best), then PGDM's.
  struct Options : MapGaSchedule {
    /// PGDM part: m renoising steps from sigma_y to epsilon (paper: 20).
    int64_t pgdm_steps = 20;
    double sigma_d = 1.0;

    void validate() const {
      validate_schedule("MapGaPgdm::Options");
      pgdm_options(1.0).validate();
    }

    /// The MAP-GA stage's options for a problem with noise level sigma_y.
    MapGa::Options map_ga_options(double sigma_y) const {
      MapGa::Options options;
      static_cast<MapGaSchedule&>(options) = *this;
      options.stop_sigma = sigma_y;
      options.use_prior = false;
      return options;
    }

    /// The PGDM stage's options, starting at time sigma_y (EDM schedule sigma(t) = t).
    Pgdm::Options pgdm_options(double start_time) const {
      Pgdm::Options options;
      options.schedule.num_steps = pgdm_steps;
      options.schedule.t_max = start_time;
      options.schedule.rho = rho;
      options.sigma_d = sigma_d;
      options.step.update = ReverseUpdate::kRenoise;
      return options;
    }
  };

  explicit MapGaPgdm(PriorModels models) : MapGaPgdm(std::move(models), Options{}) {}
  MapGaPgdm(PriorModels models, Options options)
      : models_(std::move(models)), options_(std::move(options)) {
    options_.validate();
    require(models_.denoiser != nullptr, "MapGaPgdm: needs PriorModels::denoiser");
    require(options_.consistency_source == ConsistencySource::kDenoiser ||
                models_.consistency != nullptr,
            "MapGaPgdm: consistency_source = kConsistencyModel needs "
            "PriorModels::consistency");
  }

  std::string name() const override {
    return options_.consistency_source == ConsistencySource::kDenoiser ? "MAP-GA-PGDM(D)"
                                                                       : "MAP-GA-PGDM";
  }
  const Options& options() const { return options_; }

  Summary solve(const Problem& problem,
                const std::vector<IterationCallback>& callbacks = {}) const override {
    problem.validate();
    const auto& schedule = *models_.denoiser->schedule();
    require(problem.sigma_y > schedule.sigma(kEpsilon),
            "MapGaPgdm: Problem::sigma_y = {} must exceed sigma(epsilon) = {}; use map-ga "
            "(MapGa) for noiseless problems",
            problem.sigma_y, schedule.sigma(kEpsilon));
    const MapGa map_ga(models_, options_.map_ga_options(problem.sigma_y));
    const Pgdm pgdm(models_, options_.pgdm_options(schedule.time(problem.sigma_y)));
    detail::SolveRecorder recorder(name(), callbacks,
                                   options_.num_time_steps + options_.pgdm_steps);
    auto noise = detail::noise_source(problem);
    auto x = map_ga.run(problem, recorder, noise);
    if (!recorder.stopped()) x = pgdm.run(problem, x, recorder, noise);
    return recorder.finish(x);
  }

 private:
  PriorModels models_;
  Options options_;
};

}  // namespace mapinverse
