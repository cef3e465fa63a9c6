"""Networks and operators written in Python: a callable or torch.nn.Module as the
Denoiser or ConsistencyModel, Python forward operators, with autograd through them."""

import math
import threading
import time

import pytest
import torch

import mapinverse as mi
from gaussian import (
    SHAPE,
    GaussianDenoiserModule,
    gaussian_denoiser,
    images,
    inpainting_problem,
    library_prior,
    mask,
)

BUDGETS = {"map-ga-d": {"time_steps": 3, "iterations": 4}, "pgdm": {"steps": 6},
           "dps": {"steps": 6, "zeta": 0.5}, "map-ga-pgdm-d": {"time_steps": 2, "iterations": 3,
                                                              "steps": 3}}


@pytest.mark.parametrize("name", sorted(BUDGETS))
def test_python_denoiser_matches_library_denoiser(name):
    # The VJPs of MAP-GA(D), PGDM and DPS go through the Python denoiser's autograd graph:
    # without it the two solves would not agree.
    problem = inpainting_problem(mi.Inpainting(mask()))
    ours = mi.make_solver(name, denoiser=mi.Denoiser(gaussian_denoiser), **BUDGETS[name])
    theirs = mi.make_solver(name, denoiser=library_prior(), **BUDGETS[name])
    a, b = ours.solve(problem), theirs.solve(problem)
    assert a.network_forwards == b.network_forwards and a.network_vjps == b.network_vjps
    assert torch.allclose(a.estimate, b.estimate, rtol=0, atol=1e-9)
    assert not torch.equal(a.estimate, problem.measurement)


def test_module_and_plain_callable_give_the_same_solve():
    problem = inpainting_problem(mi.Inpainting(mask()))
    by_module = mi.solve("pgdm", problem, denoiser=GaussianDenoiserModule(), steps=5)
    by_function = mi.solve("pgdm", problem, denoiser=gaussian_denoiser, steps=5)
    assert torch.equal(by_module.estimate, by_function.estimate)


def test_python_consistency_model_in_map_ga():
    # C(z, t) = D(z, t): MAP-GA with it is MAP-GA(D) with the same denoiser.
    problem = inpainting_problem(mi.Inpainting(mask()))
    consistency = mi.ConsistencyModel(gaussian_denoiser)
    with_python_c = mi.solve("map-ga", problem, denoiser=library_prior(), consistency=consistency,
                             time_steps=3, iterations=4)
    as_d_variant = mi.solve("map-ga-d", problem, denoiser=library_prior(), time_steps=3,
                            iterations=4)
    assert torch.allclose(with_python_c.estimate, as_d_variant.estimate, rtol=0, atol=1e-9)


def masked(x):
    return mask().to(x) * x


def masked_solve_gram(r, a, b):
    m = mask().to(r)
    observed = r / (a + b)
    missing = r / a if a > 0 else torch.zeros_like(r)
    return m * observed + (1 - m) * missing


def test_python_linear_operator_matches_inpainting():
    ours = mi.LinearOperator(masked, masked, solve_gram=masked_solve_gram, name="PythonMask")
    for name, budget in BUDGETS.items():
        a = mi.solve(name, inpainting_problem(ours), denoiser=library_prior(), **budget)
        b = mi.solve(name, inpainting_problem(mi.Inpainting(mask())), denoiser=library_prior(),
                     **budget)
        assert torch.allclose(a.estimate, b.estimate, rtol=0, atol=1e-9), name


def test_nonlinear_python_operator_is_linearised_by_autograd():
    # The same mask given as a non-linear operator: the solvers linearise it by autograd
    # and solve the Gram systems by conjugate gradients (tolerance 1e-6).
    ours = mi.ForwardOperator(masked, name="MaskAsNonlinear")
    assert not ours.is_linear
    a = mi.solve("map-ga-d", inpainting_problem(ours), denoiser=library_prior(), time_steps=3,
                 iterations=4)
    b = mi.solve("map-ga-d", inpainting_problem(mi.Inpainting(mask())), denoiser=library_prior(),
                 time_steps=3, iterations=4)
    assert torch.allclose(a.estimate, b.estimate, rtol=0, atol=1e-4)


def test_operator_vjp_is_autograds():
    op = mi.ForwardOperator(lambda x: torch.tanh(2.0 * x) * mask().to(x))
    x, v = images(), images(seed=4)
    x_leaf = x.clone().requires_grad_()
    expected, = torch.autograd.grad(op.apply(x_leaf), x_leaf, v)
    assert torch.allclose(op.vjp(x, v), expected, rtol=0, atol=1e-12)


def test_denoiser_output_carries_autograd_to_python():
    x = images().requires_grad_()
    d = mi.Denoiser(gaussian_denoiser).denoise(x, 0.5)
    d.sum().backward()
    assert torch.allclose(x.grad, torch.full_like(x, 0.3 / (0.3 + 0.25)), rtol=0, atol=1e-12)


def test_raw_network_gets_edm_preconditioning():
    def network(x_in, c_noise):
        return torch.tanh(x_in) * c_noise.reshape(-1, 1, 1, 1)

    x, sigma, sd = images(), 0.7, 0.5
    expected = (sd**2 / (sigma**2 + sd**2)) * x + (sigma * sd / (sigma**2 + sd**2) ** 0.5) * network(
        x / (sigma**2 + sd**2) ** 0.5, torch.full((2,), math.log(sigma) / 4, dtype=torch.float64))
    got = mi.Denoiser(network, form="edm").denoise(x, sigma)
    assert torch.allclose(got, expected, rtol=0, atol=1e-12)


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated")
def test_torchscript_denoiser_loads(tmp_path):
    path = tmp_path / "gaussian.pt"
    torch.jit.script(GaussianDenoiserModule()).save(str(path))
    loaded = mi.load_torchscript_denoiser(str(path), form="ready")
    x = images()
    assert torch.allclose(loaded.denoise(x, 0.4), gaussian_denoiser(x, torch.full((2,), 0.4,
                                                                         dtype=torch.float64)),
                          rtol=0, atol=1e-12)


def test_callbacks_see_every_step_and_can_stop():
    problem = inpainting_problem(mi.Inpainting(mask()))
    seen = []
    summary = mi.solve("pgdm", problem, denoiser=library_prior(), steps=6,
                       callbacks=[lambda s: seen.append(s.step)])
    assert seen == [1, 2, 3, 4, 5, 6] and len(summary.history) == 6
    assert summary.termination == mi.TerminationReason.COMPLETED

    stop_at_two = lambda s: mi.STOP if s.step == 2 else None  # noqa: E731
    stopped = mi.solve("pgdm", problem, denoiser=library_prior(), steps=6,
                       callbacks=[stop_at_two])
    assert len(stopped.history) == 2
    assert stopped.termination == mi.TerminationReason.STOPPED_BY_CALLBACK

    native = mi.solve("pgdm", problem, denoiser=library_prior(), steps=6,
                      callbacks=[mi.stop_when_residual_below(1e9)])
    assert len(native.history) == 1


def _count_while(running):
    """Counts in this thread until running() is false; returns the count."""
    count = 0
    while running():
        count += 1
    return count


def test_solve_releases_the_gil():
    # The main thread counts while another thread runs a solve with no Python in it (no
    # callback, the library's own prior): had the solve held the GIL, the main thread
    # could count only in the interpreter's switch intervals around it (5 ms at most
    # against a solve of about a second). The count during the solve is compared with
    # the count over the same wall time with no solve running; a solve that releases the
    # GIL leaves the main thread most of that rate (2 cores: the solve is one thread).
    # DDRM: no VJPs, so a solve that kept the GIL fails this test's assertion rather
    # than hanging (a PGDM solve that kept the GIL, with its VJPs, hung here).
    problem = inpainting_problem(mi.Inpainting(mask()), batch=64)
    solver = mi.make_solver("ddrm", denoiser=library_prior(), steps=1000)
    started, done, wall = threading.Event(), threading.Event(), [0.0]

    def solve():
        started.set()
        begin = time.perf_counter()
        solver.solve(problem)
        wall[0] = time.perf_counter() - begin
        done.set()

    thread = threading.Thread(target=solve)
    thread.start()
    started.wait()
    during = _count_while(lambda: not done.is_set())
    thread.join()
    assert wall[0] > 0.2, f"the solve took {wall[0]:.3f} s: too short to tell"
    deadline = time.perf_counter() + wall[0]
    alone = _count_while(lambda: time.perf_counter() < deadline)
    assert during > 0.2 * alone, (
        f"the main thread counted {during} while the solve ran and {alone} in as long "
        f"without it: the solve held the GIL")


def test_deepinv_physics_as_operator():
    dinv = pytest.importorskip("deepinv")
    physics = dinv.physics.Inpainting(img_size=SHAPE, mask=mask()[0])
    ours = mi.LinearOperator(physics.A, physics.A_adjoint, name="deepinv.Inpainting")
    a = mi.solve("pgdm", inpainting_problem(ours), denoiser=library_prior(), steps=6)
    b = mi.solve("pgdm", inpainting_problem(mi.Inpainting(mask())), denoiser=library_prior(),
                 steps=6)
    assert torch.allclose(a.estimate, b.estimate, rtol=0, atol=1e-4)
