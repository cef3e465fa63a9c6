#!/usr/bin/python3
"""The loops of benchmarks/speed in plain PyTorch, timed solve by solve in alternation
with the C++ benchmark, and checked against the C++ estimates.

Usage (repository root, after building benchmark_speed):

    /usr/bin/python3 benchmarks/python_reference/speed.py \
        --cpp-binary build/benchmarks/benchmark_speed [--batches 1 8 64] \
        [--solvers map-ga map-ga-pgdm pgdm dps] [--threads 1] [--pairs 9] [--json FILE]

For each solver and batch size, one C++ child process (`benchmark_speed --single ...
--paired`) and this process each do a warm-up solve; then --pairs times, one C++ solve
and one Python solve run back to back (the order alternating), so that both see the same
state of a machine whose speed drifts. The Python / C++ ratio of a configuration is the
median of its per-pair ratios. After each of its solves the child times the same number
of bare network calls (its overhead ratio is the median of solve ÷ calls) before it
answers, so the two sides never run at once; it also reports its peak RSS. Prints per solver and batch: C++ s/image, images/s,
network calls, overhead, peak RSS, Python s/image, the ratio (> 1: C++ faster) with its
interquartile range, and the largest difference between the two estimates.
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


# The C++ children get the environment this script started with (set_thread_count()
# caps their OpenBLAS itself); here, OpenBLAS sizes its thread pool when torch loads it:
# cap it likewise, or its idle threads spin on the other cores.
CHILD_ENVIRONMENT = dict(os.environ)
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


def expect_line(child, prefix):
    """The next stdout line of `child` that starts with `prefix`, without the prefix."""
    for line in child.stdout:
        if line.startswith(prefix):
            return line[len(prefix):].strip()
    raise SystemExit(f"benchmark_speed ended without a {prefix.strip()} line "
                     f"(exit status {child.wait()})")


def measure(binary, solver, batch, args, estimates, denoiser, consistency):
    """Alternating C++ and Python solves of one configuration; per-pair times."""
    command = [binary, "--single", solver, "--single-batch", str(batch),
               "--threads", str(args.threads), "--paired", "--save-estimates", estimates]
    child = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                             env=CHILD_ENVIRONMENT)
    expect_line(child, "READY")
    problem = make_problem(solver, batch)
    run(solver, problem, denoiser, consistency)  # warm-up, as on the C++ side

    def python_solve():
        start = time.perf_counter()
        result = run(solver, problem, denoiser, consistency)
        return time.perf_counter() - start, result

    def cpp_solve():
        child.stdin.write("solve\n")
        child.stdin.flush()
        return float(expect_line(child, "TIME "))

    pairs = []
    for k in range(args.pairs):
        if k % 2:
            python_seconds, result = python_solve()
            cpp_seconds = cpp_solve()
        else:
            cpp_seconds = cpp_solve()
            python_seconds, result = python_solve()
        pairs.append((cpp_seconds, python_seconds))
    child.stdin.write("done\n")
    child.stdin.close()
    cpp = json.loads(expect_line(child, "RESULT "))
    if child.wait() != 0:
        raise SystemExit(f"{' '.join(command)} failed")
    estimate, forwards, vjps = result
    if (forwards, vjps) != (cpp["network_forwards"], cpp["network_vjps"]):
        raise SystemExit(f"{solver} batch {batch}: network calls differ: Python {forwards}/{vjps}, "
                         f"C++ {cpp['network_forwards']}/{cpp['network_vjps']}")
    reference = torch.load(os.path.join(estimates, f"{solver}_batch{batch}.pt"))
    return cpp, pairs, (estimate - reference).abs().max().item()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cpp-binary", required=True, help="build/benchmarks/benchmark_speed")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8, 64])
    parser.add_argument("--solvers", nargs="+", default=["map-ga", "map-ga-pgdm", "pgdm", "dps"],
                        choices=["map-ga", "map-ga-pgdm", "pgdm", "dps"])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--pairs", type=int, default=9, help="C++/Python solve pairs per configuration")
    parser.add_argument("--json", default="")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    denoiser = R.edm_denoiser(R.load_unet(os.path.join(ROOT, "models/fmnist_edm_denoiser.pt")))
    consistency = R.boundary_consistency(R.load_unet(os.path.join(ROOT, "models/fmnist_consistency.pt")))

    print(f"{args.threads} thread(s); per configuration {args.pairs} C++/Python solve pairs "
          f"(medians)\n")
    print("| solver | batch | C++ s/image | images/s | forwards | VJPs | overhead | peak RSS MiB "
          "| Python s/image | Python ÷ C++ [quartiles] | max abs Δ estimate |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|")
    rows = []
    with tempfile.TemporaryDirectory() as estimates:
        for solver in args.solvers:
            for batch in args.batches:
                cpp, pairs, difference = measure(args.cpp_binary, solver, batch, args, estimates,
                                                 denoiser, consistency)
                rows.append(summarise(solver, batch, cpp, pairs, difference))
                print_row(rows[-1])
    if args.json:
        with open(args.json + ".partial", "w") as f:
            json.dump(rows, f, indent=2)
        os.replace(args.json + ".partial", args.json)


def summarise(solver, batch, cpp, pairs, difference):
    """Medians over the pairs; the pairs themselves are kept."""
    ratios = sorted(python / cpp_seconds for cpp_seconds, python in pairs)
    quartiles = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else [ratios[0]] * 3
    return {"solver": solver, "name": cpp["name"], "batch": batch, "threads": cpp["threads"],
            "cpp_seconds_per_image": cpp["seconds"] / batch,
            "images_per_second": batch / cpp["seconds"],
            "network_forwards": cpp["network_forwards"], "network_vjps": cpp["network_vjps"],
            "overhead_ratio": cpp["overhead_ratio"],
            "overhead_ratios": cpp["overhead_ratios"],
            "peak_rss_mib": cpp["peak_rss_mib"],
            "python_seconds_per_image": statistics.median(p for _, p in pairs) / batch,
            "python_over_cpp": statistics.median(ratios),
            "python_over_cpp_quartiles": [quartiles[0], quartiles[2]],
            "pairs_seconds_cpp_python": pairs,
            "max_abs_difference": difference}


def print_row(row):
    low, high = row["python_over_cpp_quartiles"]
    print(f"| {row['name']} | {row['batch']} | {row['cpp_seconds_per_image']:.4f} | "
          f"{row['images_per_second']:.2f} | {row['network_forwards']} | {row['network_vjps']} | "
          f"{row['overhead_ratio']:.3f} | {row['peak_rss_mib']:.0f} | "
          f"{row['python_seconds_per_image']:.4f} | **{row['python_over_cpp']:.2f}** "
          f"[{low:.2f}, {high:.2f}] | {row['max_abs_difference']:.1e} |", flush=True)


if __name__ == "__main__":
    main()
