#pragma once

#include <memory>
#include <string>
#include <vector>

#include "mapinverse/solvers/map_ga.hpp"
#include "mapinverse/solvers/map_ga_pgdm.hpp"
#include "mapinverse/solvers/pgdm.hpp"
#include "mapinverse/solvers/solver.hpp"

namespace mapinverse {

/// Two solvers in sequence: `first` restores the batch, then `second` starts its reverse
/// diffusion from that estimate (Problem::start_image), usually at a small start time
/// (MapGa::Options::t_max, a reverse schedule's t_max). This is the seed's Table 2
/// oracle start with a cheap estimate in place of the unknown image: MAP-GA then only
/// has to climb from near the posterior's mode, not from pure noise.
///
/// The second stage draws its noise from seeds derived from the problem's (seed and
/// sample_seeds, each offset by a fixed constant), so the two stages' noise is
/// independent and a solve is still reproducible. A start_image in the problem is used
/// by `first` only. Callbacks see each stage's own steps; the returned summary has the
/// network calls and time of both stages and their histories one after the other.
class WarmStart final : public Solver {
 public:
  WarmStart(std::shared_ptr<const Solver> first, std::shared_ptr<const Solver> second);

  /// "<first> -> <second>", e.g. "PGDM -> MAP-GA(D,NP)".
  std::string name() const override { return first_->name() + " -> " + second_->name(); }

  Summary solve(const Problem& problem,
                const std::vector<IterationCallback>& callbacks = {}) const override;

  const Solver& first() const { return *first_; }
  const Solver& second() const { return *second_; }

 private:
  // stage.solve(), with a NumericalError's message led by this solver's name.
  Summary solve_stage(const Solver& stage, const char* which, const Problem& problem,
                      const std::vector<IterationCallback>& callbacks) const;

  std::shared_ptr<const Solver> first_;
  std::shared_ptr<const Solver> second_;
};

/// PGDM's estimate starts MAP-GA: a WarmStart of a Pgdm and, on noiseless problems, a
/// MapGa (Algorithms 1-2) or, on noisy ones (sigma_y > sigma(epsilon)), a MapGaPgdm
/// (Algorithm 3), both usually from a small start time t_max. The solver of the
/// "map-ga-tuned" preset (docs/map-ga-study.md).
class WarmStartedMapGa final : public Solver {
 public:
  struct Options {
    /// The first stage: PGDM from T.
    Pgdm::Options warm_start;
    /// The second stage on noiseless problems.
    MapGa::Options map_ga;
    /// The second stage on noisy problems.
    MapGaPgdm::Options map_ga_pgdm;

    void validate() const {
      warm_start.validate();
      map_ga.validate();
      map_ga_pgdm.validate();
    }
  };

  WarmStartedMapGa(const PriorModels& models, Options options);

  /// Both paths, e.g. "PGDM -> MAP-GA(D,NP) | MAP-GA-PGDM(D)"; a summary names the one run.
  std::string name() const override;
  /// "PGDM -> MAP-GA(...)" on noiseless problems, "PGDM -> MAP-GA-PGDM(...)" on noisy ones.
  std::string name_at_noise(double sigma_y) const override;
  Summary solve(const Problem& problem,
                const std::vector<IterationCallback>& callbacks = {}) const override;
  const Options& options() const { return options_; }

 private:
  bool is_noisy(double sigma_y) const { return sigma_y > noise_floor_; }

  Options options_;
  double noise_floor_;  // sigma(epsilon): at or below it a problem counts as noiseless
  WarmStart noiseless_;
  WarmStart noisy_;
};

}  // namespace mapinverse
