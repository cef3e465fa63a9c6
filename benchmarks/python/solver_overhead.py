#!/usr/bin/env python3
"""The Python package's overhead over the command-line tool, on the same problem.

Solves Fashion-MNIST test images (box50 inpainting, noiseless) with the shipped networks
once through the command-line tool (`--report`: the solve's own seconds, model loading
excluded) and three ways through the Python package, all with one LibTorch thread:

  python        mapinverse.make_solver(...).solve(problem): the C++ loop and networks,
                called from Python (GIL released for the solve); its first solve is
                reported apart: each run of the tool is a first solve in a new process;
  callables     the same networks wrapped as Python callables (mapinverse.Denoiser(f),
                mapinverse.ConsistencyModel(f)): every network call crosses into Python;
  callback      as `python`, plus a Python callback after every outer step.

Each repeat runs the tool and the three variants back to back (the machine's speed
drifts); prints each one's best time, its ratio to the tool, the extra time per network
call of the `callables` variant, and whether each estimate equals the `python` one (the
callables read sigma from a float32 tensor, so theirs differs in the last bits).

Usage: PYTHONPATH=build-torch2/python /opt/mapinverse/venv/bin/python \\
           benchmarks/python/solver_overhead.py --tool build-torch2/apps/mapinverse
"""

import argparse
import json
import os
import subprocess
import tempfile
import time

import torch

import mapinverse as mi


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tool", required=True, help="the mapinverse command-line tool")
    parser.add_argument("--solver", default="map-ga")
    parser.add_argument("--images", type=int, default=4, help="Fashion-MNIST test images 0..N-1")
    parser.add_argument("--time-steps", type=int, default=5)
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    return parser.parse_args()


def budget(arguments):
    return {"time_steps": arguments.time_steps, "iterations": arguments.iterations,
            "steps": arguments.steps}


def tool_seconds(arguments, folder, repeat):
    """One run of the tool: its own solve time (its report's `seconds`)."""
    report = os.path.join(folder, f"r{repeat}.json")
    command = [arguments.tool, "--threads", "1", "restore", "--fmnist-test",
               *map(str, range(arguments.images)), "--mask", "box50", "--solver",
               arguments.solver, "--seed", str(arguments.seed), "--device", "cpu", "--quiet",
               "--data", arguments.data, "-o", os.path.join(folder, f"r{repeat}.png"),
               "--report", report]
    for key, value in budget(arguments).items():
        command += [f"--{key.replace('_', '-')}", str(value)]
    subprocess.run(command, check=True, capture_output=True)
    with open(report) as file:
        return json.load(file)["seconds"]


def python_seconds(solver, problem, callbacks=None):
    start = time.perf_counter()
    summary = solver.solve(problem, callbacks)
    return time.perf_counter() - start, summary


def main():
    arguments = parse_arguments()
    mi.set_thread_count(1)
    torch.set_num_threads(1)
    prior = mi.shipped_prior()
    images, _ = mi.read_fashion_mnist(arguments.data, "test")
    images = images[: arguments.images].clone()
    op = mi.Inpainting(mi.paper_mask("box50", 28, 28))
    problem = mi.Problem(op.apply(images), op, sigma_y=0.0, seed=arguments.seed)

    denoiser, consistency = prior["denoiser"], prior["consistency"]
    # The number-time route of the networks, as the solvers use them: only the crossing
    # into Python (and reading sigma) is added.
    callables = {
        "denoiser": mi.Denoiser(lambda x, sigma: denoiser.denoise(x, float(sigma[0]))),
        "consistency": mi.ConsistencyModel(lambda z, t: consistency.origin(z, float(t[0]))),
    }
    settings = budget(arguments)
    variants = {
        "python": (mi.make_solver(arguments.solver, **prior, **settings), None),
        "callables": (mi.make_solver(arguments.solver, **callables, **settings), None),
        "callback": (mi.make_solver(arguments.solver, **prior, **settings), [lambda s: None]),
    }
    # The machine's speed drifts: each repeat runs the tool and every variant back to back,
    # and each keeps its best time.
    tool_best, runs = float("inf"), {name: (float("inf"), None) for name in variants}
    cold = None  # the first solve of this process, like each run of the tool
    with tempfile.TemporaryDirectory() as folder:
        for repeat in range(arguments.repeats):
            tool_best = min(tool_best, tool_seconds(arguments, folder, repeat))
            for name, (solver, callbacks) in variants.items():
                seconds, summary = python_seconds(solver, problem, callbacks)
                cold = seconds if cold is None else cold
                runs[name] = (min(seconds, runs[name][0]), summary)
    tool_seconds_best = tool_best

    first = runs["python"][1]
    calls = first.network_evaluations
    print(f"torch {torch.__version__}, mapinverse {mi.__version__}, LibTorch threads 1 "
          f"(OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')})")
    print(f"{arguments.solver}, {arguments.images} Fashion-MNIST test images, box50, budget "
          f"{settings}: {first.network_forwards} forwards + {first.network_vjps} VJPs, "
          f"{len(first.history)} outer steps; best of {arguments.repeats}")
    print(f"{'run':<10} {'seconds':>9} {'/ tool':>8}  estimate equal to 'python'")
    print(f"{'tool':<10} {tool_seconds_best:>9.3f} {1.0:>8.3f}")
    for name, (seconds, summary) in runs.items():
        same = torch.equal(summary.estimate, first.estimate)
        print(f"{name:<10} {seconds:>9.3f} {seconds / tool_seconds_best:>8.3f}  {same}")
    print(f"{'python, first solve of the process (cold, as every tool run)':<10}: "
          f"{cold:.3f} s, {cold / tool_seconds_best:.3f} x the tool")
    extra = (runs["callables"][0] - runs["python"][0]) / calls
    print(f"callables: {1e6 * extra:.1f} us more per network call ({calls} calls)")


if __name__ == "__main__":
    main()
