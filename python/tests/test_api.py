"""The package's surface: the registry by name, options as keywords, Problem and
Summary, shared tensors, the shipped models."""

import pytest
import torch

import mapinverse as mi
from gaussian import inpainting_problem, library_prior, mask

PAPER_SOLVERS = ["map-ga", "map-ga-np", "map-ga-d", "map-ga-d-np", "map-ga-pgdm",
                 "map-ga-pgdm-d", "pgdm", "dps"]


def test_registry_names_and_descriptions():
    names = mi.solver_names()
    assert all(name in names for name in PAPER_SOLVERS)
    described = dict(mi.registered_solvers())
    assert list(described) == names and all(described.values())


def test_keywords_reach_the_typed_options():
    pgdm = mi.solver_options("pgdm", steps=7, eta=0.0, update="renoise", sigma_d=0.5)
    assert isinstance(pgdm, mi.PgdmOptions)
    assert (pgdm.num_steps, pgdm.eta, pgdm.update, pgdm.sigma_d) == (7, 0.0,
                                                                    mi.ReverseUpdate.renoise, 0.5)
    map_ga = mi.solver_options("map-ga-d-np", time_steps=3, iterations=5, rho=5.0,
                               optimizer="adam", learning_rate=0.01)
    assert (map_ga.num_time_steps, map_ga.num_iter, map_ga.rho, map_ga.use_prior) == (3, 5, 5.0,
                                                                                   False)
    assert map_ga.consistency_source == mi.ConsistencySource.denoiser
    assert map_ga.optimizer.name == "Adam" and map_ga.learning_rate == 0.01
    assert mi.solver_options("map-ga-pgdm", steps=4).pgdm_steps == 4
    assert mi.solver_options("daps", ode_steps=3).ode_steps == 3
    assert mi.solver_options("diffpir", zeta=0.3).zeta == 0.3  # was dropped: DPS's only
    assert "ode_steps" in mi.SETTINGS


def test_optimizers_by_the_library_s_names():
    assert mi.optimizer_names() == ["gd", "momentum", "adam"]
    assert [mi.make_optimizer(name).name for name in mi.optimizer_names()] == [
        mi.GradientAscent().name, mi.Momentum().name, mi.Adam().name]
    with pytest.raises(ValueError, match="unknown optimizer 'sgd'"):
        mi.make_optimizer("sgd")


def test_typed_options_make_a_solver():
    options = mi.solver_options("pgdm", steps=3)
    solver = mi.make_solver(options, denoiser=library_prior(), eta=0.0)
    summary = solver.solve(inpainting_problem(mi.Inpainting(mask())))
    assert solver.name == "PGDM" and len(summary.history) == 3


def test_summary_reports_the_solve():
    problem = inpainting_problem(mi.Inpainting(mask()))
    summary = mi.solve("map-ga-pgdm-d", problem, denoiser=library_prior(), time_steps=2,
                       iterations=3, steps=4)
    assert summary.solver_name == "MAP-GA-PGDM(D)"
    assert summary.estimate.shape == (2, 1, 8, 8) and summary.estimate.dtype == torch.float64
    assert len(summary.history) == 6 and [s.step for s in summary.history] == list(range(1, 7))
    assert summary.history[-1].total_steps == 6
    assert summary.network_evaluations == summary.network_forwards + summary.network_vjps > 0
    assert summary.history[-1].network_forwards == summary.network_forwards
    assert "MAP-GA-PGDM(D)" in summary.brief_report() and "Network calls" in summary.full_report()


def test_tensors_are_shared_not_copied():
    y = torch.zeros(2, 1, 8, 8, dtype=torch.float64)
    problem = mi.Problem(y, mi.Inpainting(mask()))
    assert problem.measurement.data_ptr() == y.data_ptr()
    assert problem.image_shape == [1, 8, 8]  # unset: the measurement's own shape
    m = mask()
    assert mi.Inpainting(m).mask.data_ptr() != 0


def test_operators_compose():
    blur = mi.GaussianBlur(sigma_pixels=1.0)
    pool = mi.AveragePool(factor=2)
    composed = mi.compose(pool, blur)
    assert isinstance(composed, mi.ComposedOperator) and composed.is_linear
    x = torch.randn(2, 1, 8, 8, dtype=torch.float64)
    assert torch.allclose(composed.apply(x), pool.apply(blur.apply(x)))
    nonlinear = mi.compose(mi.ForwardOperator(torch.tanh), pool)
    assert isinstance(nonlinear, mi.ComposedForwardOperator) and not nonlinear.is_linear
    dense = mi.DenseMatrix(torch.eye(64, dtype=torch.float64)[:10], input_shape=[1, 8, 8])
    assert dense.apply(x).shape == (2, 10)


def test_shipped_models_load(prior):
    x = torch.zeros(1, 1, 28, 28)
    assert prior["denoiser"].denoise(x, 1.0).shape == (1, 1, 28, 28)
    assert prior["consistency"].origin(x, 1.0).shape == (1, 1, 28, 28)
    assert mi.load_shipped_mixture().event_shape == [1, 28, 28]
    assert mi.shipped_model_path("fmnist_gmm.pt").is_file()


def test_the_preset_refuses_budget_settings():
    with pytest.raises(ValueError, match="fixed budget"):
        mi.make_solver("map-ga-tuned", time_steps=3)


def test_the_preset_options_are_typed():
    options = mi.solver_options("map-ga-tuned")
    assert isinstance(options, mi.WarmStartedMapGaOptions)
    tuned = mi.tuned_map_ga_options()
    assert options.warm_start.num_steps == tuned.warm_start.num_steps == 25
    assert options.map_ga.t_max == 5.0 and not options.map_ga.use_prior
    assert options.map_ga_pgdm.pgdm_steps == 5


def test_the_preset_names_the_method_per_noise_level():
    solver = mi.make_solver("map-ga-tuned", denoiser=library_prior())
    assert solver.name == "PGDM -> MAP-GA(D,NP) | MAP-GA-PGDM(D)"
    assert solver.name_at_noise(0.0) == "PGDM -> MAP-GA(D,NP)"
    assert solver.name_at_noise(0.1) == "PGDM -> MAP-GA-PGDM(D)"
