#!/usr/bin/python3
"""The loops of benchmarks/speed in plain PyTorch, timed in rounds that alternate with
the C++ benchmark, checked against the C++ estimates.

Usage (repository root, after building benchmark_speed):

    /usr/bin/python3 benchmarks/python_reference/speed.py \
        --cpp-binary build/benchmarks/benchmark_speed [--batches 1 8 64] \
        [--solvers map-ga map-ga-pgdm pgdm dps] [--threads 1] [--repeats 3] \
        [--rounds 3] [--json FILE]

For each solver and batch size, each round runs the C++ configuration (one child
process of benchmark_speed: warm-up solve, median of --repeats solves, its bare-network
overhead ratio and peak RSS) and then the same loops here (warm-up, median of --repeats),
so that both sides see the same state of the machine; the Python / C++ ratio of a
configuration is the median of its per-round ratios. Prints per solver and batch: C++
s/image, images/s, network calls, overhead, peak RSS, Python s/image, the ratio (> 1:
C++ faster) and the largest difference between the two estimates.
"""

import argparse
import gzip
import json
import os
import statistics
import subprocess
import sys
import tempfile
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


def run_cpp(binary, solver, batch, args, estimates):
    """One benchmark_speed configuration in its own process; its RESULT line as a dict."""
    command = [binary, "--single", solver, "--single-batch", str(batch),
               "--threads", str(args.threads), "--repeats", str(args.repeats),
               "--save-estimates", estimates]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    line = [text for text in output.splitlines() if text.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT "):])


def run_python(solver, batch, args, denoiser, consistency):
    """The same configuration here: warm-up, then the median of --repeats solves."""
    problem = make_problem(solver, batch)
    run(solver, problem, denoiser, consistency)  # warm-up, as on the C++ side
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        estimate, forwards, vjps = run(solver, problem, denoiser, consistency)
        times.append(time.perf_counter() - start)
    return statistics.median(times), estimate, forwards, vjps


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cpp-binary", required=True, help="build/benchmarks/benchmark_speed")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8, 64])
    parser.add_argument("--solvers", nargs="+", default=["map-ga", "map-ga-pgdm", "pgdm", "dps"],
                        choices=["map-ga", "map-ga-pgdm", "pgdm", "dps"])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", default="")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    denoiser = R.edm_denoiser(R.load_unet(os.path.join(ROOT, "models/fmnist_edm_denoiser.pt")))
    consistency = R.boundary_consistency(R.load_unet(os.path.join(ROOT, "models/fmnist_consistency.pt")))

    print(f"{args.threads} thread(s); per configuration {args.rounds} alternating rounds of "
          f"C++ then Python, each the median of {args.repeats} solves\n")
    print("| solver | batch | C++ s/image | images/s | forwards | VJPs | overhead | peak RSS MiB "
          "| Python s/image | Python ÷ C++ (rounds) | max abs Δ estimate |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|")
    rows = []
    with tempfile.TemporaryDirectory() as estimates:
        for solver in args.solvers:
            for batch in args.batches:
                rounds = []
                for _ in range(args.rounds):
                    cpp = run_cpp(args.cpp_binary, solver, batch, args, estimates)
                    seconds, estimate, forwards, vjps = run_python(solver, batch, args,
                                                                   denoiser, consistency)
                    reference = torch.load(os.path.join(estimates, f"{solver}_batch{batch}.pt"))
                    if (forwards, vjps) != (cpp["network_forwards"], cpp["network_vjps"]):
                        raise SystemExit(f"{solver} batch {batch}: network calls differ: Python "
                                         f"{forwards}/{vjps}, C++ {cpp['network_forwards']}/"
                                         f"{cpp['network_vjps']}")
                    rounds.append({"cpp": cpp, "python_seconds": seconds,
                                   "ratio": seconds / cpp["seconds"],
                                   "max_abs_difference": (estimate - reference).abs().max().item()})
                rows.append(summarise(solver, batch, rounds))
                print_row(rows[-1])
    if args.json:
        with open(args.json + ".partial", "w") as f:
            json.dump(rows, f, indent=2)
        os.replace(args.json + ".partial", args.json)


def summarise(solver, batch, rounds):
    """Medians over the rounds (per-round values kept)."""
    def median(key):
        return statistics.median(r["cpp"][key] for r in rounds)
    cpp_seconds = median("seconds")
    python_seconds = statistics.median(r["python_seconds"] for r in rounds)
    return {"solver": solver, "name": rounds[0]["cpp"]["name"], "batch": batch,
            "threads": rounds[0]["cpp"]["threads"],
            "cpp_seconds_per_image": cpp_seconds / batch,
            "images_per_second": batch / cpp_seconds,
            "network_forwards": rounds[0]["cpp"]["network_forwards"],
            "network_vjps": rounds[0]["cpp"]["network_vjps"],
            "overhead_ratio": median("overhead_ratio"),
            "peak_rss_mib": median("peak_rss_mib"),
            "python_seconds_per_image": python_seconds / batch,
            "python_over_cpp": statistics.median(r["ratio"] for r in rounds),
            "python_over_cpp_rounds": [r["ratio"] for r in rounds],
            "max_abs_difference": max(r["max_abs_difference"] for r in rounds),
            "rounds": rounds}


def print_row(row):
    per_round = ", ".join(f"{ratio:.2f}" for ratio in row["python_over_cpp_rounds"])
    print(f"| {row['name']} | {row['batch']} | {row['cpp_seconds_per_image']:.4f} | "
          f"{row['images_per_second']:.2f} | {row['network_forwards']} | {row['network_vjps']} | "
          f"{row['overhead_ratio']:.3f} | {row['peak_rss_mib']:.0f} | "
          f"{row['python_seconds_per_image']:.4f} | **{row['python_over_cpp']:.2f}** ({per_round}) | "
          f"{row['max_abs_difference']:.1e} |", flush=True)


if __name__ == "__main__":
    main()
