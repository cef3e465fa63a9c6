#!/usr/bin/python3
"""The loops of benchmarks/speed in plain PyTorch, timed the same way, checked against
the C++ estimates and set side by side with the C++ timings.

Usage (repository root, after `benchmark_speed --json cpp.json --save-estimates DIR`
with the same --threads, --batches, --repeats):

    /usr/bin/python3 benchmarks/python_reference/speed.py --cpp-json cpp.json \
        --cpp-estimates DIR [--threads 1] [--repeats 3] [--json python.json]

Prints per solver and batch: Python seconds, C++ seconds, their ratio (> 1: C++ faster),
and the largest difference between the two estimates.
"""

import argparse
import gzip
import json
import os
import statistics
import sys
import time


def _threads_from_arguments():
    for i, argument in enumerate(sys.argv):
        if argument == "--threads" and i + 1 < len(sys.argv):
            return sys.argv[i + 1]
        if argument.startswith("--threads="):
            return argument.split("=", 1)[1]
    return "1"


# OpenBLAS sizes its thread pool when torch loads it: cap it as the C++ side's
# set_thread_count() does, or its idle threads spin on the other cores.
os.environ.setdefault("OPENBLAS_NUM_THREADS", _threads_from_arguments())
import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mapinverse_reference as R  # noqa: E402

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
DATA = "/usr/share/datasets/fashion-mnist"


def test_images(count):
    with gzip.open(os.path.join(DATA, "t10k-images-idx3-ubyte.gz")) as f:
        raw = f.read()
    images = torch.frombuffer(bytearray(raw[16:]), dtype=torch.uint8).reshape(-1, 1, 28, 28)
    return images[:count].to(torch.float32).div_(127.5).sub_(1.0)


def make_problem(solver, batch):
    """benchmarks/speed/main.cpp make_problem()."""
    mask = R.paper_mask("box50", 28, 28)
    op = R.Inpainting(mask)
    sigma_y = 0.1 if solver == "map-ga-pgdm" else 0.0
    generator = R.make_generator(99)
    clean = op.apply(test_images(batch))
    measurement = clean + sigma_y * R.randn_like(clean, generator) * mask
    return R.Problem(measurement=measurement, operator=op, sigma_y=sigma_y,
                     image_shape=(1, 28, 28), seed=7)


def run(solver, problem, denoiser, consistency):
    """benchmarks/speed/main.cpp make_solver() budgets."""
    if solver == "map-ga":
        return R.map_ga(problem, denoiser=denoiser, consistency=consistency,
                        num_time_steps=10, num_iter=5)
    if solver == "map-ga-pgdm":
        return R.map_ga_pgdm(problem, denoiser=denoiser, consistency=consistency,
                             num_time_steps=10, num_iter=5)
    if solver == "pgdm":
        return R.pgdm(problem, denoiser=denoiser, num_steps=50)
    return R.dps(problem, denoiser=denoiser, num_steps=50)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cpp-json", required=True)
    parser.add_argument("--cpp-estimates", required=True)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", default="")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    denoiser = R.edm_denoiser(R.load_unet(os.path.join(ROOT, "models/fmnist_edm_denoiser.pt")))
    consistency = R.boundary_consistency(R.load_unet(os.path.join(ROOT, "models/fmnist_consistency.pt")))
    with open(args.cpp_json) as f:
        cpp_rows = json.load(f)

    print(f"{args.threads} thread(s), median of {args.repeats} solves\n")
    print("| solver | batch | Python s | C++ s | Python / C++ | max |Δ estimate| | NFE equal |")
    print("|---|---:|---:|---:|---:|---:|---|")
    rows = []
    for cpp in cpp_rows:
        solver, batch = cpp["solver"], cpp["batch"]
        problem = make_problem(solver, batch)
        run(solver, problem, denoiser, consistency)  # warm-up, as on the C++ side
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            estimate, forwards, vjps = run(solver, problem, denoiser, consistency)
            times.append(time.perf_counter() - start)
        seconds = statistics.median(times)
        reference = torch.load(os.path.join(args.cpp_estimates, f"{solver}_batch{batch}.pt"))
        difference = (estimate - reference).abs().max().item()
        same_calls = forwards == cpp["network_forwards"] and vjps == cpp["network_vjps"]
        ratio = seconds / cpp["seconds"]
        rows.append({"solver": solver, "batch": batch, "python_seconds": seconds,
                     "cpp_seconds": cpp["seconds"], "python_over_cpp": ratio,
                     "max_abs_difference": difference, "same_network_calls": same_calls})
        print(f"| {cpp['name']} | {batch} | {seconds:.3f} | {cpp['seconds']:.3f} | {ratio:.2f} | "
              f"{difference:.2e} | {'yes' if same_calls else 'NO'} |", flush=True)
    if args.json:
        with open(args.json + ".partial", "w") as f:
            json.dump(rows, f, indent=2)
        os.replace(args.json + ".partial", args.json)


if __name__ == "__main__":
    main()
