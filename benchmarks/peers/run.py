"""The peer benchmark: MapInverse's solvers next to deepinv's samplers of the same name on
the same shipped Fashion-MNIST denoiser, the same problems and the same step budgets.

    scripts/run-peers.sh            # builds benchmark_peers, installs deepinv, runs this

1. writes the problems (Fashion-MNIST test images, the paper's six masks, y = M x + noise)
   as raw float32 with a manifest, so both libraries restore the very same y;
2. restores them with `benchmark_peers solve` (MapInverse) and with deepinv in this
   process, at the quality batch (all images of a cell at once), then for speed at batch
   1 and batch 64;
3. scores every restoration with `benchmark_peers score` (the library's PSNR, SSIM and
   Frechet distance, identical for both sides);
4. writes results.json, tables.md and quality_per_call.png into --out.
"""

import argparse
import gzip
import json
import os
import platform
import subprocess
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
import deepinv_side  # noqa: E402
import report  # noqa: E402
from deepinv_side import R  # noqa: E402

MASKS = ["box50", "half", "expand", "box25", "sr2x", "alllines"]
# Same-named solvers run at the same budget in both libraries (steps of the reverse
# process); MAP-GA at 10 time steps x 5 iterations, DAPS at 25 levels x 2 ODE steps. The
# budgets are cut (DPS's own is 1000 steps) so that the run fits a shared 2-core machine.
SHARED = [("dps", 50), ("pgdm", 50), ("ddrm", 20), ("diffpir", 50)]
OWN = ["map-ga:10x5", "map-ga-pgdm:10x5", "daps:25"]
# Speed at batch 1 and 64 on small budgets (time per network call is what is compared).
SPEED_SHARED = [("dps", 10), ("pgdm", 10), ("ddrm", 10), ("diffpir", 10)]
SPEED_OWN = ["map-ga:2x5"]


def read_test_images(count):
    path = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"
    with gzip.open(path, "rb") as f:
        data = np.frombuffer(f.read(), dtype=np.uint8, offset=16)
    images = torch.from_numpy(data[: count * 784].astype(np.float32)).reshape(count, 1, 28, 28)
    return images / 127.5 - 1.0


def write_floats(path, tensor):
    tensor.detach().to(torch.float32).contiguous().numpy().tofile(path)


def read_floats(path, shape):
    return torch.from_numpy(np.fromfile(path, dtype=np.float32).reshape(shape))


def write_problems(folder, images, sigmas, masks):
    """manifest.json + truth, masks and measurements; per-image solver seeds 1000 + i."""
    os.makedirs(folder, exist_ok=True)
    write_floats(os.path.join(folder, "truth.f32"), images)
    cells = []
    for m, mask_name in enumerate(masks):
        mask = R.paper_mask(mask_name)
        write_floats(os.path.join(folder, f"mask_{mask_name}.f32"), mask)
        for s, sigma_y in enumerate(sigmas):
            generator = torch.Generator().manual_seed(7000 + 10 * m + s)
            noise = torch.randn(images.shape, generator=generator)
            y = mask * (images + sigma_y * noise)
            name = f"{mask_name}/{sigma_y:g}"
            file = f"y_{mask_name}_{sigma_y:g}.f32"
            write_floats(os.path.join(folder, file), y)
            cells.append({"name": name, "mask": f"mask_{mask_name}.f32", "measurement": file,
                          "sigma_y": sigma_y, "seeds": [1000 + i for i in range(len(images))]})
    manifest = {"truth": "truth.f32", "shape": list(images.shape), "cells": cells}
    path = os.path.join(folder, "manifest.json")
    with open(path, "w") as f:
        json.dump(manifest, f, indent=1)
    return path, manifest


def run_mapinverse(tool, manifest_path, solvers, out, batch=0, images=0, tag="full",
                   warm_up=False):
    command = [tool, "--threads", "1", "solve", "--manifest", manifest_path, "--out", out,
               "--batch", str(batch), "--images", str(images), "--tag", tag]
    if warm_up:
        command.append("--warm-up")
    for solver in solvers:
        command += ["--solver", solver]
    subprocess.run(command, check=True)
    with open(out) as f:
        return json.load(f)


def run_deepinv(denoiser, manifest_path, manifest, budgets, batch=0, images=0, tag="full",
                warm_up=False):
    folder = os.path.dirname(manifest_path)
    shape = manifest["shape"]
    count = images or shape[0]
    entries = []
    for name, steps in budgets:
        for index, cell in enumerate(manifest["cells"]):
            y = read_floats(os.path.join(folder, cell["measurement"]), shape)[:count]
            mask = read_floats(os.path.join(folder, cell["mask"]), [1, 1, shape[2], shape[3]])
            estimate, seconds, forwards, vjps = deepinv_side.solve(
                name, steps, denoiser, y, mask, cell["sigma_y"], 1000 + 100 * index,
                batch or count, warm_up)
            file = f"deepinv_{name}_{cell['name'].replace('/', '_')}_{tag}.f32"
            write_floats(os.path.join(folder, file), estimate)
            # The adapter counts calls on whole batches: per image, times batch / count.
            per_image = (batch or count) / count
            entry = {"library": "deepinv", "solver": name, "cell": cell["name"],
                     "sigma_y": cell["sigma_y"], "batch": batch or count, "images": count,
                     "forwards_per_image": forwards * per_image,
                     "vjps_per_image": vjps * per_image,
                     "seconds_per_image": seconds / count, "estimate": file}
            print(f"deepinv    {name:<14} {cell['name']:<12} batch {batch or count:>3}: "
                  f"{seconds / count:.3f} s/image, "
                  f"{(forwards + vjps) * per_image:.0f} network calls/image", flush=True)
            entries.append(entry)
    return entries


def kept_quality_run(folder):
    """(images per cell, noise levels, masks) of the quality run kept in `folder`; exits
    with a message naming what is missing when there is none."""
    needed = ["manifest.json", "mapinverse.json", "deepinv.json"]
    missing = [name for name in needed if not os.path.exists(os.path.join(folder, name))]
    if missing:
        sys.exit(f"run.py --speed-only: no quality run to keep in {folder} "
                 f"(missing {', '.join(missing)}); run without --speed-only first")
    with open(os.path.join(folder, "manifest.json")) as f:
        manifest = json.load(f)
    sigmas, masks = [], []
    for cell in manifest["cells"]:
        mask = cell["name"].split("/")[0]
        if mask not in masks:
            masks.append(mask)
        if cell["sigma_y"] not in sigmas:
            sigmas.append(cell["sigma_y"])
    return manifest["shape"][0], sigmas, masks


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tool", default=os.path.join(ROOT, "build", "benchmarks",
                                                       "benchmark_peers"))
    parser.add_argument("--out", default=os.path.join(ROOT, "docs", "results", "peers"))
    parser.add_argument("--work", default=os.path.join(ROOT, "build", "peers"))
    parser.add_argument("--images", type=int, default=20, help="test images per cell")
    parser.add_argument("--sigmas", type=float, nargs="+", default=[0.0, 0.05, 0.1])
    parser.add_argument("--masks", nargs="+", default=MASKS)
    parser.add_argument("--speed-images", type=int, default=64,
                        help="images of the batch-64 speed cell (box50, sigma_y 0.1)")
    parser.add_argument("--speed-single", type=int, default=8,
                        help="images solved one at a time for the batch-1 speed")
    parser.add_argument("--speed-only", action="store_true",
                        help="re-measure speed only; keep the quality restorations of the "
                             "last full run in --work (its problems, images and noise levels)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)
    started = time.perf_counter()
    denoiser = deepinv_side.ShippedDenoiser(os.path.join(ROOT, "models",
                                                          "fmnist_edm_denoiser.pt"))
    solvers = [f"{n}:{s}" for n, s in SHARED] + OWN

    results = os.path.join(args.work, "quality")
    if args.speed_only:
        quality_manifest = os.path.join(results, "manifest.json")
        args.images, args.sigmas, args.masks = kept_quality_run(results)
    else:
        quality_manifest, manifest = write_problems(results, read_test_images(args.images),
                                                    args.sigmas, args.masks)
        run_mapinverse(args.tool, quality_manifest, solvers,
                       os.path.join(results, "mapinverse.json"))
        theirs = run_deepinv(denoiser, quality_manifest, manifest, SHARED)
        with open(os.path.join(results, "deepinv.json"), "w") as f:
            json.dump(theirs, f, indent=1)

    speed_manifest, speed = write_problems(os.path.join(args.work, "speed"),
                                           read_test_images(args.speed_images), [0.1], ["box50"])
    speed_folder = os.path.join(args.work, "speed")
    speed_entries = []
    # Speed: the same-named solvers and MAP-GA (DAPS and MAP-GA-PGDM have no peer).
    speed_solvers = [f"{n}:{s}" for n, s in SPEED_SHARED] + SPEED_OWN
    for batch, count, tag in [(1, args.speed_single, "b1"), (args.speed_images, 0, "b64")]:
        speed_entries += run_mapinverse(args.tool, speed_manifest, speed_solvers,
                                        os.path.join(speed_folder, f"mapinverse_{tag}.json"),
                                        batch=batch, images=count, tag=tag, warm_up=True)
        speed_entries += run_deepinv(denoiser, speed_manifest, speed, SPEED_SHARED, batch=batch,
                                     images=count, tag=tag, warm_up=True)
    with open(os.path.join(speed_folder, "all.json"), "w") as f:
        json.dump(speed_entries, f, indent=1)

    scores = os.path.join(results, "scores.json")
    subprocess.run([args.tool, "--threads", "1", "score", "--manifest", quality_manifest,
                    "--results", os.path.join(results, "mapinverse.json"),
                    os.path.join(results, "deepinv.json"), "--out", scores], check=True)
    with open(scores) as f:
        scored = json.load(f)
    import deepinv
    run = {"images_per_cell": args.images, "sigmas": args.sigmas, "masks": args.masks,
           "threads": 1, "deepinv": deepinv.__version__, "torch": torch.__version__,
           "machine": platform.processor() or platform.machine(),
           "seconds": time.perf_counter() - started, "speed_only": args.speed_only,
           "speed_single": args.speed_single, "shared_budgets": dict(SHARED),
           "own_budgets": OWN, "speed_budgets": dict(SPEED_SHARED), "speed_own": SPEED_OWN}
    report.write(args.out, run, scored, speed_entries)
    print(f"peer benchmark: {run['seconds']:.0f} s; results in {args.out}")


if __name__ == "__main__":
    main()
