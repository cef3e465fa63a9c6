"""MapInverse from Python: MAP-GA, MAP-GA-PGDM, PGDM and DPS on your own tensors,
networks and forward operators.

    import mapinverse as mi
    prior = mi.shipped_prior()                       # the Fashion-MNIST networks
    op = mi.Inpainting(mi.paper_mask("box50"))
    problem = mi.Problem(op.apply(images), op, sigma_y=0.0)
    summary = mi.make_solver("map-ga", **prior, time_steps=20, iterations=50).solve(problem)

Tensors are shared with PyTorch, not copied. See docs/python.md.
"""

# LibTorch and torch's Python bindings must be loaded before the extension that links
# them.
import torch  # noqa: F401

from . import _core
from ._callbacks import print_progress
from ._core import (
    Adam,
    AveragePool,
    CallbackResult,
    ComposedForwardOperator,
    ComposedOperator,
    ConsistencyModel,
    ConsistencySource,
    DenseMatrix,
    Denoiser,
    DpsOptions,
    DdrmOptions,
    DiffPirOptions,
    DapsOptions,
    ForwardOperator,
    GaussianBlur,
    GaussianMixturePrior,
    GradientAscent,
    Inpainting,
    IterationSummary,
    LinearOperator,
    MapGaOptions,
    MapGaPgdmOptions,
    Momentum,
    NumericalError,
    Optimizer,
    PgdmOptions,
    Problem,
    ReverseUpdate,
    Solver,
    Summary,
    TerminationReason,
    WarmStartedMapGaOptions,
    compose,
    denoiser_as_consistency,
    load_torchscript_consistency,
    load_torchscript_denoiser,
    load_unet_consistency,
    load_unet_denoiser,
    make_grid,
    make_optimizer,
    ode_consistency,
    optimizer_names,
    paper_mask,
    paper_mask_names,
    psnr,
    random_mask,
    randn_like,
    read_fashion_mnist,
    read_mask_png,
    read_png,
    registered_solvers,
    set_thread_count,
    solver_names,
    ssim,
    stop_when_residual_below,
    to_unit_range,
    tuned_map_ga_options,
    write_png,
)
from ._models import (
    load_shipped_consistency,
    load_shipped_denoiser,
    load_shipped_mixture,
    model_directory,
    shipped_model_path,
    shipped_prior,
)
from ._solvers import SETTINGS, make_solver, solve, solver_options

__version__ = _core.__version__

STOP = CallbackResult.STOP
CONTINUE = CallbackResult.CONTINUE
