#pragma once

#include <cmath>
#include <vector>

#include "mapinverse/core/tensor.hpp"
#include "mapinverse/core/error.hpp"
#include "mapinverse/solvers/reverse_diffusion_solver.hpp"
#include "mapinverse/solvers/reverse_step.hpp"
#include "mapinverse/solvers/solver.hpp"

namespace mapinverse {

/// The options of Ddrm (Ddrm::Options).
struct DdrmOptions {
  /// Reverse steps and their times. DDRM's experiments use 20 steps; with the hard data
  /// step of noiseless problems 20 leave the unobserved pixels out of step with the
  /// observed ones (docs/solving.md, "Ddrm"): 100 steps, as PGDM and DiffPIR.
  ReverseSchedule schedule{100};
  /// eta and eta_b of eq. 8 on the observed coordinates (s_i > 0): DDRM's 0.85 and 1.
  double eta = 0.85;
  double eta_b = 1.0;
  /// eta of eq. 8 on the unobserved coordinates (s_i = 0). DDRM uses one eta for both;
  /// there 0.85 keeps 53 % of the previous step's noise estimate, which the pinned
  /// observed coordinates never agree with on scattered masks. 1 (fresh noise) is 2-5 dB
  /// better there; on the observed coordinates eta < 1 ties the sample to y's residual
  /// and keeps noisy posteriors right (docs/solving.md, "Ddrm").
  double eta_null = 1.0;

  void validate() const {
    schedule.validate("Ddrm::Options::schedule");
    require(std::isfinite(eta) && eta >= 0.0 && eta <= 1.0,
            "Ddrm::Options::eta = {}. Violated constraint: 0 <= eta <= 1", eta);
    require(std::isfinite(eta_b) && eta_b >= 0.0 && eta_b <= 1.0,
            "Ddrm::Options::eta_b = {}. Violated constraint: 0 <= eta_b <= 1", eta_b);
    require(std::isfinite(eta_null) && eta_null >= 0.0 && eta_null <= 1.0,
            "Ddrm::Options::eta_null = {}. Violated constraint: 0 <= eta_null <= 1", eta_null);
  }
};

/// Denoising diffusion restoration models (Kawar et al. 2022, "DDRM", §4.1, eqs. 7-8) in
/// EDM form (docs/design.md §3). DDRM diffuses in the spectral space of H = U S V^T: a
/// coordinate i of x_bar = V^T x with s_i = 0 takes an unconditional DDIM(eta) step;
/// one with s_i > 0 is tied to y_bar_i = (U^T y)_i / s_i, whose noise is sigma_y / s_i:
///   sigma_s <  sigma_y / s_i:  x_bar_s = x_hat + sqrt(1 - eta^2) sigma_s (y_bar - x_hat)
///                                        / (sigma_y / s_i) + eta sigma_s xi
///   sigma_s >= sigma_y / s_i:  x_bar_s = (1 - eta_b) x_hat + eta_b y_bar
///                                        + sqrt(sigma_s^2 - eta_b^2 sigma_y^2 / s_i^2) xi
/// with x_hat = D(x_t, sigma_t) (eq. 8), starting from N(y_bar, sigma_T^2 - sigma_y^2/s_i^2)
/// on the row space and N(0, sigma_T^2) on the null space (eq. 7). The paper's sigma_t are
/// already variance-exploding noise levels, so they are EDM's sigma(t) = t unchanged.
///
/// Operators: any linear operator with
/// - a uniform_singular_value() s (Inpainting with s = 1, AveragePool with s = 1/k): then
///   V, U and S need not be formed: with the projector P = H^T H / s^2 onto the row
///   space and y_bar = H^T y / s^2, one update is x_s = (I - P) (null-space update) +
///   P (row-space update);
/// - or a spectral_decomposition() (GaussianBlur: Fourier, closed form; DenseMatrix: SVD
///   computed once, up to DenseMatrix::kMaxDecomposedSize): the update runs on V^T x.
/// Others (non-linear ones, operators without an SVD) are refused with
/// std::invalid_argument naming PGDM. One network call per step, no VJPs.
class Ddrm final : public ReverseDiffusionSolver<Ddrm, DdrmOptions> {
 public:
  static constexpr const char* kClassName = "Ddrm";
  static constexpr const char* kSolverName = "DDRM";
  using ReverseDiffusionSolver::ReverseDiffusionSolver;

  /// Throws std::invalid_argument when the problem's operator is not linear or has
  /// neither a uniform singular value nor a spectral decomposition.
  Summary solve(const Problem& problem,
                const std::vector<IterationCallback>& callbacks = {}) const override;
};

}  // namespace mapinverse
