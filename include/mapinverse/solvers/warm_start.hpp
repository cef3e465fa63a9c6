#pragma once

#include <memory>
#include <string>
#include <vector>

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
  std::shared_ptr<const Solver> first_;
  std::shared_ptr<const Solver> second_;
};

}  // namespace mapinverse
