"""The solvers by name, with their options as keyword arguments.

Two kinds of keywords: the registry's settings (SETTINGS: budgets shared by every name,
which the registry turns into each solver's typed options, e.g. `steps` becomes
MAP-GA-PGDM's pgdm_steps), then any attribute of the typed options class itself
(MapGaOptions.fields, PgdmOptions.fields, ...), e.g. rho, eta, sigma_d, stop_sigma.
A name added to the C++ registry is available here without any change.
"""

from . import _core

SETTINGS = ("time_steps", "iterations", "steps", "ode_steps", "learning_rate", "optimizer",
            "zeta", "t_max")


def _optimizer(value):
    """An Optimizer as given, or the library's optimizer of that name (make_optimizer)."""
    if value is None or isinstance(value, _core.Optimizer):
        return value
    if isinstance(value, str) and value in _core.optimizer_names():
        return _core.make_optimizer(value)
    names = ", ".join(f"'{name}'" for name in _core.optimizer_names())
    raise ValueError(f"optimizer = {value!r}; expected {names} or a mapinverse.Optimizer")


def _settings(options):
    """Pops the registry's settings out of `options` into a SolverSettings."""
    settings = _core.SolverSettings()
    for key in SETTINGS:
        if key in options:
            value = options.pop(key)
            setattr(settings, key, _optimizer(value) if key == "optimizer" else value)
    return settings


def _set_option(where, typed, key, value):
    fields = type(typed).fields
    if key not in fields:
        raise ValueError(
            f"{where}: unknown option '{key}'; expected one of "
            f"{', '.join(SETTINGS + tuple(f for f in fields if f not in SETTINGS))}"
        )
    current = getattr(typed, key)
    members = getattr(type(current), "__members__", None)
    if isinstance(value, str) and members is not None:  # an enumeration, by name
        if value not in members:
            raise ValueError(f"{where}: {key} = '{value}'; expected one of {', '.join(members)}")
        value = members[value]
    if key == "optimizer":
        value = _optimizer(value)
    setattr(typed, key, value)


# Registered names whose configuration is fixed (they read none of the settings).
PRESETS = ("map-ga-tuned",)


def solver_options(name, **options):
    """The typed options (MapGaOptions, MapGaPgdmOptions, PgdmOptions, DpsOptions) that the
    registered `name` stands for, with `options` applied. None for a solver class that has
    no Python options class (make_solver still builds it from the settings)."""
    where = f"solver_options('{name}')"
    remaining = dict(options)
    typed = _core.solver_options(name, _settings(remaining))
    if typed is None:
        if remaining:
            raise ValueError(
                f"{where}: options {sorted(remaining)} cannot be set from Python for this "
                f"solver; the settings {', '.join(SETTINGS)} can"
            )
        return None
    for key, value in remaining.items():
        _set_option(where, typed, key, value)
    return typed


def _as_denoiser(denoiser):
    if denoiser is None or isinstance(denoiser, _core.Denoiser):
        return denoiser
    return _core.Denoiser(denoiser)  # a torch.nn.Module or any callable D(x, sigma)


def _as_consistency(consistency):
    if consistency is None or isinstance(consistency, _core.ConsistencyModel):
        return consistency
    return _core.ConsistencyModel(consistency)  # any callable C(z, t)


def make_solver(name, denoiser=None, consistency=None, **options):
    """A solver by its registered name (mapinverse.solver_names()) or from typed options.

    denoiser / consistency: a mapinverse.Denoiser / ConsistencyModel, or any callable
    D(x, sigma) / C(z, t) (sigma and t: [B] tensors), wrapped as one. Options: see the
    module's docstring; unknown ones raise ValueError listing the valid ones.
    """
    denoiser = _as_denoiser(denoiser)
    consistency = _as_consistency(consistency)
    if not isinstance(name, str):  # typed options given directly
        where = f"make_solver({type(name).__name__})"
        for key, value in options.items():
            _set_option(where, name, key, value)
        return _core.make_solver(name, denoiser, consistency)
    if name in PRESETS and options:
        raise ValueError(
            f"make_solver('{name}'): the preset has a fixed budget and step size; "
            f"leave out {sorted(options)} or choose another solver"
        )
    remaining = dict(options)
    settings = _settings(remaining)
    typed = _core.solver_options(name, settings)
    if typed is None:
        if remaining:
            raise ValueError(
                f"make_solver('{name}'): options {sorted(remaining)} cannot be set from "
                f"Python for this solver; the settings {', '.join(SETTINGS)} can"
            )
        return _core.make_solver_by_name(name, settings, denoiser, consistency)
    for key, value in remaining.items():
        _set_option(f"make_solver('{name}')", typed, key, value)
    return _core.make_solver(typed, denoiser, consistency)


def solve(name, problem, denoiser=None, consistency=None, callbacks=None, **options):
    """make_solver(name, denoiser, consistency, **options).solve(problem, callbacks)."""
    return make_solver(name, denoiser, consistency, **options).solve(problem, callbacks)
