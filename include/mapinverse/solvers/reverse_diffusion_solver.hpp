#pragma once

#include <string>
#include <utility>

#include "mapinverse/core/error.hpp"
#include "mapinverse/solvers/solver.hpp"

namespace mapinverse {

/// What the reverse-diffusion solvers (Pgdm, Dps, Ddrm, DiffPir, Daps) have in common: they
/// hold the prior models and their validated options, and every one of them needs the
/// denoiser. `Derived` (the solver class itself) names itself by two constants:
/// `kClassName` for messages ("Ddrm") and `kSolverName` for name() and summaries ("DDRM").
/// A solver inherits the constructors (a using-declaration) and declares solve().
///
/// The options struct stands outside the solver class (e.g. DdrmOptions) because a base
/// class cannot hold a type that is nested in the class still being defined; it is reached
/// as `Ddrm::Options` all the same.
template <class Derived, class OptionsType>
class ReverseDiffusionSolver : public Solver {
 public:
  using Options = OptionsType;

  explicit ReverseDiffusionSolver(PriorModels models)
      : ReverseDiffusionSolver(std::move(models), Options{}) {}
  /// Throws std::invalid_argument when `options` are not valid or `models` has no denoiser.
  ReverseDiffusionSolver(PriorModels models, Options options)
      : models_(std::move(models)), options_(std::move(options)) {
    options_.validate();
    require(models_.denoiser != nullptr, "{}: needs PriorModels::denoiser", Derived::kClassName);
  }

  std::string name() const override { return Derived::kSolverName; }
  const Options& options() const { return options_; }

 protected:
  PriorModels models_;
  Options options_;
};

}  // namespace mapinverse
