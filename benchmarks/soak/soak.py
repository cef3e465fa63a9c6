#!/usr/bin/env python3
"""Soak benchmark: memory over a long batch run of the mapinverse tool.

Runs one `mapinverse restore --fmnist-range 0:N --output-dir ...` over the Fashion-MNIST
test images in batches, samples the process's resident memory (VmRSS in
/proc/<pid>/status) once a second together with the number of restored images written
so far, and fits the slope of RSS against images after a warm-up. A flat line (slope
near 0) means that memory does not grow with the number of images. It then checks that
the run's report is intact: one entry per image, every PNG present, every PSNR finite.

  benchmarks/soak/soak.py --tool build/apps/mapinverse --results docs/results

Writes soak_rss.csv (the samples) and soak.json (the figures and settings) into
--results, and prints the figures. Only the standard library is used.
"""

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tool", required=True, help="the mapinverse executable")
    parser.add_argument("--images", type=int, default=10000, help="test images 0..N-1")
    parser.add_argument("--batch", type=int, default=100, help="images solved together")
    parser.add_argument("--solver", default="map-ga")
    parser.add_argument("--time-steps", type=int, default=1)
    parser.add_argument("--iterations", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1, help="LibTorch intra-op threads")
    parser.add_argument("--warm-up", type=float, default=0.1,
                        help="fraction of the images left out of the fit")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between samples")
    parser.add_argument("--work", default=None, help="scratch folder (default: a new one)")
    parser.add_argument("--results", required=True, help="folder for soak_rss.csv, soak.json")
    return parser.parse_args()


def status_kib(pid, field):
    """A memory field (VmRSS, VmHWM) of /proc/<pid>/status in KiB, or None once gone."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def count_pngs(folder):
    try:
        return sum(1 for entry in os.scandir(folder) if entry.name.endswith(".png"))
    except OSError:
        return None


def least_squares(xs, ys):
    """Slope and intercept of the least-squares line through (xs, ys)."""
    n = len(xs)
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mean_x) ** 2 for x in xs)
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys))
    slope = sxy / sxx
    return slope, mean_y - slope * mean_x


def run(arguments, output):
    command = [arguments.tool, "--threads", str(arguments.threads), "restore", "--quiet",
               "--fmnist-range", f"0:{arguments.images}", "--batch", str(arguments.batch),
               "--solver", arguments.solver, "--time-steps", str(arguments.time_steps),
               "--iterations", str(arguments.iterations), "--output-dir", output]
    environment = dict(os.environ, OMP_NUM_THREADS=str(arguments.threads))
    staging = output + ".partial"  # the tool writes here, then renames (io/atomic_write.hpp)
    samples, peak = [], 0
    start = time.monotonic()
    process = subprocess.Popen(command, env=environment, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    images = 0
    while process.poll() is None:
        rss = status_kib(process.pid, "VmRSS")
        peak = max(peak, status_kib(process.pid, "VmHWM") or 0)
        written = count_pngs(staging)
        if written is not None:
            images = written
        if rss is not None:
            samples.append((time.monotonic() - start, images, rss))
        time.sleep(arguments.interval)
    stdout, stderr = process.communicate()
    return command, process.returncode, stdout, stderr, samples, peak, time.monotonic() - start


def check_report(output, count):
    """The report of the run: one entry per image, every PNG there, every PSNR finite."""
    with open(os.path.join(output, "report.json")) as file:
        report = json.load(file)
    entries = report["per_image"]
    problems = []
    if report["images"] != count or len(entries) != count:
        problems.append(f"{len(entries)} entries for {count} images")
    missing = [e["file"] for e in entries if not os.path.isfile(os.path.join(output, e["file"]))]
    if missing:
        problems.append(f"{len(missing)} PNG files missing, e.g. {missing[0]}")
    names = {e["name"] for e in entries}
    if len(names) != len(entries):
        problems.append("repeated names")
    if not all(math.isfinite(e["psnr_db"]) for e in entries):
        problems.append("a PSNR that is not finite")
    return report, problems


def main():
    arguments = parse_arguments()
    work = arguments.work or tempfile.mkdtemp(prefix="mapinverse_soak_")
    output = os.path.join(work, "restored")
    shutil.rmtree(output, ignore_errors=True)
    command, status, stdout, stderr, samples, peak, seconds = run(arguments, output)
    if status != 0:
        sys.exit(f"the tool failed (exit {status}):\n{stderr}")
    report, problems = check_report(output, arguments.images)

    warm_up = arguments.warm_up * arguments.images
    fitted = [(images, rss) for _, images, rss in samples if images >= warm_up]
    slope_kib, intercept_kib = least_squares([x for x, _ in fitted], [y for _, y in fitted])
    after = [rss for _, rss in fitted]
    figures = {
        "command": " ".join(command),
        "omp_num_threads": arguments.threads,
        "images": arguments.images,
        "batch": arguments.batch,
        "seconds": round(seconds, 1),
        "samples": len(samples),
        "samples_fitted": len(fitted),
        "warm_up_images": int(warm_up),
        "rss_slope_kib_per_1000_images": round(1000 * slope_kib, 2),
        "rss_at_warm_up_mib": round(intercept_kib / 1024 + slope_kib * warm_up / 1024, 2),
        "rss_min_after_warm_up_mib": round(min(after) / 1024, 2),
        "rss_max_after_warm_up_mib": round(max(after) / 1024, 2),
        "peak_rss_mib": round(peak / 1024, 2),
        "report_intact": not problems,
        "report_problems": problems,
        "psnr_db": report.get("psnr_db"),
        "tool_output": stdout.strip(),
    }
    os.makedirs(arguments.results, exist_ok=True)
    with open(os.path.join(arguments.results, "soak_rss.csv"), "w") as file:
        file.write("seconds,images,rss_kib\n")
        for t, images, rss in samples:
            file.write(f"{t:.1f},{images},{rss}\n")
    with open(os.path.join(arguments.results, "soak.json"), "w") as file:
        json.dump(figures, file, indent=2)
        file.write("\n")
    print(json.dumps(figures, indent=2))
    if not arguments.work:
        shutil.rmtree(work, ignore_errors=True)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
