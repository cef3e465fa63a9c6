#!/usr/bin/python3
"""Tiny cross-check of mapinverse_reference against the C++ `mapinverse restore` CLI.

Runs a handful of very small solves (2 Fashion-MNIST test images, 2-3 steps) with the
C++ binary and with the Python reference, using the CLI's own recipe for the problem
(apps/mapinverse/restore.cpp: y = A(x) + sigma_y * xi with xi drawn from
make_generator(seed), Problem.seed = seed), and compares NFE counts and the per-image
PSNR the CLI reports (computed from the float estimate, clamped to [-1, 1], in float64).

Usage (from the repository root, after building the `mapinverse` CLI):
    /usr/bin/python3 benchmarks/python_reference/check_against_cli.py \
        [--binary build/apps/mapinverse] [--data /usr/share/datasets/fashion-mnist]
"""

import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mapinverse_reference as R  # noqa: E402

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

# (name, CLI arguments, python runner)
CASES = [
    ("pgdm", ["--solver", "pgdm", "--steps", "3", "--seed", "5"], {}),
    ("map-ga", ["--solver", "map-ga", "--time-steps", "2", "--iterations", "2", "--seed", "3"], {}),
    ("map-ga-d-np", ["--solver", "map-ga-d-np", "--time-steps", "2", "--iterations", "2",
                     "--seed", "4", "--mask", "half", "--sigma-y", "0.05"], {}),
    ("dps", ["--solver", "dps", "--steps", "3", "--seed", "6"], {}),
    ("map-ga-pgdm", ["--solver", "map-ga-pgdm", "--time-steps", "2", "--iterations", "2",
                     "--steps", "2", "--sigma-y", "0.1", "--seed", "7"], {}),
    ("pgdm-noisy", ["--solver", "pgdm", "--steps", "2", "--seed", "8", "--sigma-y", "0.1",
                    "--mask", "sr2x"], {}),
]


def option(args, name, default):
    return args[args.index(name) + 1] if name in args else default


def test_images(data, indices):
    with gzip.open(os.path.join(data, "t10k-images-idx3-ubyte.gz")) as f:
        raw = f.read()
    images = torch.frombuffer(bytearray(raw[16:]), dtype=torch.uint8).reshape(-1, 1, 28, 28)
    return images[indices].to(torch.float32).div_(127.5).sub_(1.0)  # src/io/idx.cpp


def psnr(estimate, reference):
    """metrics/image_quality.hpp psnr() with data_range 2."""
    mse = (estimate.to(torch.float64) - reference.to(torch.float64)).pow(2)
    mse = mse.reshape(estimate.size(0), -1).mean(1)
    return 10.0 * torch.log10(R._rdiv(4.0, mse.clamp_min(1e-20)))


def python_solve(args, originals, denoiser, consistency):
    solver = option(args, "--solver", "map-ga")
    seed = int(option(args, "--seed", "0"))
    sigma_y = float(option(args, "--sigma-y", "0"))
    op = R.Inpainting(R.paper_mask(option(args, "--mask", "box50"), 28, 28))
    generator = R.make_generator(seed)
    measurement = op.apply(originals) + sigma_y * R.randn_like(op.apply(originals), generator)
    problem = R.Problem(measurement, op, sigma_y, (1, 28, 28), seed)
    steps = option(args, "--steps", None)
    mapga = dict(num_time_steps=int(option(args, "--time-steps", "20")),
                 num_iter=int(option(args, "--iterations", "50")))
    if solver.startswith("map-ga-pgdm"):
        return R.map_ga_pgdm(problem, denoiser=denoiser, consistency=consistency,
                             consistency_source="denoiser" if solver.endswith("-d")
                             else "consistency",
                             pgdm_steps=int(steps or 20), **mapga)
    if solver.startswith("map-ga"):
        return R.map_ga(problem, denoiser=denoiser, consistency=consistency,
                        use_prior=solver in ("map-ga", "map-ga-d"),
                        consistency_source="denoiser" if solver in ("map-ga-d", "map-ga-d-np")
                        else "consistency", **mapga)
    if solver == "pgdm":
        return R.pgdm(problem, denoiser=denoiser, num_steps=int(steps or 100))
    return R.dps(problem, denoiser=denoiser, num_steps=int(steps or 1000),
                 zeta=float(option(args, "--zeta", "1")))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default=os.path.join(ROOT, "build", "examples", "mapinverse"))
    parser.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    parser.add_argument("--models", default=os.path.join(ROOT, "models"))
    arguments = parser.parse_args()
    torch.set_num_threads(1)

    denoiser = R.edm_denoiser(R.load_unet(os.path.join(arguments.models, "fmnist_edm_denoiser.pt")))
    consistency = R.boundary_consistency(
        R.load_unet(os.path.join(arguments.models, "fmnist_consistency.pt")))
    originals = test_images(arguments.data, [0, 1])
    environment = dict(os.environ, MAPINVERSE_MODELS=arguments.models)
    worst = 0.0
    with tempfile.TemporaryDirectory() as folder:
        for name, args, _ in CASES:
            report = os.path.join(folder, name + ".json")
            subprocess.run([arguments.binary, "--threads", "1", "restore", "--fmnist-test", "0",
                            "1", "--device", "cpu", "--quiet", "-o",
                            os.path.join(folder, name + ".png"), "--report", report,
                            "--data", arguments.data] + args,
                           check=True, env=environment, stdout=subprocess.DEVNULL)
            with open(report) as f:
                cpp = json.load(f)
            estimate, forwards, vjps = python_solve(args, originals, denoiser, consistency)
            values = psnr(estimate.clamp(-1.0, 1.0), originals).tolist()
            difference = max(abs(a - b) for a, b in zip(values, cpp["psnr_db_per_image"]))
            worst = max(worst, difference)
            same_nfe = (forwards, vjps) == (cpp["network_forwards"], cpp["network_vjps"])
            print(f"{name:12s} NFE python {forwards}+{vjps} C++ {cpp['network_forwards']}+"
                  f"{cpp['network_vjps']} {'ok' if same_nfe else 'MISMATCH'};  PSNR python "
                  f"{[round(v, 10) for v in values]} C++ "
                  f"{[round(v, 10) for v in cpp['psnr_db_per_image']]}  |diff| {difference:.2e}")
            if not same_nfe:
                worst = float("inf")
    print(f"largest PSNR difference: {worst:.3e} dB")
    return 0 if worst < 1e-3 else 1


if __name__ == "__main__":
    sys.exit(main())
