"""Every registered solver from Python against the command-line tool of the same build:
the same images, operator, noise and seed give the same estimate (the tool's PNG, pixel
for pixel, and its per-image PSNR to the last digit) and the same network-call counts."""

import json
import subprocess

import pytest
import torch

import mapinverse as mi

SIGMA_Y = 0.05  # > 0: MAP-GA-PGDM needs a noisy problem; the others take it too
BUDGET = {"time_steps": 2, "iterations": 2, "steps": 3}
PRESETS = {"map-ga-tuned"}  # fixed budgets: the tool refuses budget flags next to them


def budget_of(name):
    return {} if name in PRESETS else BUDGET


def tool_restore(tool, folder, name, seed):
    output, report = folder / f"{name}.png", folder / f"{name}.json"
    command = [tool, "--threads", "1", "restore", "--fmnist-test", "0", "1", "--mask", "box50",
               "--sigma-y", str(SIGMA_Y), "--solver", name, "--seed", str(seed),
               "--device", "cpu", "--quiet", "-o", str(output), "--report", str(report)]
    budget = budget_of(name)
    if budget:
        command += ["--time-steps", str(budget["time_steps"]),
                    "--iterations", str(budget["iterations"]), "--steps", str(budget["steps"])]
    subprocess.run(command, check=True, capture_output=True, text=True)
    return mi.read_png(str(output)), json.loads(report.read_text())


def python_restore(prior, images, name, seed):
    """The tool's recipe (apps/mapinverse/restore.cpp) through the Python package."""
    op = mi.Inpainting(mi.paper_mask("box50", 28, 28))
    clean = op.apply(images)
    measurement = clean + SIGMA_Y * mi.randn_like(clean, seed)
    problem = mi.Problem(measurement, op, sigma_y=SIGMA_Y, image_shape=[1, 28, 28], seed=seed)
    return mi.make_solver(name, **prior, **budget_of(name)).solve(problem)


@pytest.mark.parametrize("name", mi.solver_names())
def test_solver_matches_tool(name, prior, test_images, tool, tmp_path):
    seed = 11 + mi.solver_names().index(name)
    picture, report = tool_restore(tool, tmp_path, name, seed)
    summary = python_restore(prior, test_images, name, seed)

    assert summary.solver_name == report["solver"]
    assert summary.network_forwards == report["network_forwards"]
    assert summary.network_vjps == report["network_vjps"]
    psnr = mi.psnr(summary.estimate.clamp(-1.0, 1.0), test_images)
    assert psnr.tolist() == pytest.approx(report["psnr_db_per_image"], rel=0, abs=1e-12)

    mine = tmp_path / "python.png"
    mi.write_png(str(mine), mi.make_grid(mi.to_unit_range(summary.estimate), 2))
    assert torch.equal(mi.read_png(str(mine)), picture)
