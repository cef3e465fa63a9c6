#!/usr/bin/env python3
"""Paired per-image test of a configuration against a baseline family's best step count.

    paired_test.py [RESULTS.jsonl] [--preset tuned] [--baseline pgdm] [--threshold 2]

For every (mask, sigma_y) cell the baseline is the family's configuration with the
highest mean PSNR in that cell (as in report.py --matched). Over the images of the cell,
d_i = PSNR_i(preset) - PSNR_i(baseline) on the same image, seed and measurement; the
table gives the mean of d, its standard error s_d / sqrt(n) and t = mean / standard
error. A cell is "ahead" where t > threshold, "behind" where t < -threshold and "tie"
otherwise. Standard library only.
"""

import argparse
import json
import math
import os
import sys

DEFAULT_RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                               "docs", "results", "map_ga_study", "report.jsonl")


def read_cells(path):
    cells = {}
    with open(path, encoding="utf-8") as stream:
        for line in stream:
            if line.strip():
                cell = json.loads(line)
                cells[(cell["config"], cell["mask"], cell["sigma_y"])] = cell
    return cells


def paired(ours, theirs):
    """Mean per-image difference, its standard error and t."""
    if ours["images"] != theirs["images"]:
        sys.exit(f"cells over different images: {ours['images']} and {theirs['images']}")
    a, b = ours["psnr_per_image"], theirs["psnr_per_image"]
    if len(a) != len(b) or len(a) < 2:
        sys.exit(f"{ours['config']} and {theirs['config']}: {len(a)} and {len(b)} images")
    d = [x - y for x, y in zip(a, b)]
    n = len(d)
    mean = sum(d) / n
    sd = math.sqrt(sum((x - mean) ** 2 for x in d) / (n - 1))
    se = sd / math.sqrt(n)
    t = mean / se if se > 0 else math.copysign(math.inf, mean) if mean else 0.0
    return mean, se, t, n


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="?", default=DEFAULT_RESULTS)
    parser.add_argument("--preset", default="tuned")
    parser.add_argument("--baseline", default="pgdm", help="configuration family (name prefix before '-')")
    parser.add_argument("--threshold", type=float, default=2.0)
    arguments = parser.parse_args()

    cells = read_cells(arguments.results)
    columns = sorted({(m, s) for name, m, s in cells if name == arguments.preset},
                     key=lambda c: (c[1], c[0]))
    print(f"| mask | σ_y | {arguments.preset} dB | best {arguments.baseline} dB (config) | "
          "mean difference dB | standard error | t | verdict |")
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    counts = {"ahead": 0, "tie": 0, "behind": 0}
    images = set()
    for mask, sigma in columns:
        ours = cells[(arguments.preset, mask, sigma)]
        rivals = [cell for (name, m, s), cell in cells.items()
                  if name.startswith(arguments.baseline + "-") and (m, s) == (mask, sigma)]
        if not rivals:
            continue
        best = max(rivals, key=lambda cell: cell["psnr_db"])
        mean, se, t, n = paired(ours, best)
        images.add(n)
        verdict = ("ahead" if t > arguments.threshold
                   else "behind" if t < -arguments.threshold else "tie")
        counts[verdict] += 1
        print(f"| {mask} | {sigma:g} | {ours['psnr_db']:.2f} | {best['psnr_db']:.2f} "
              f"({best['config']}) | {mean:+.2f} | {se:.2f} | {t:+.2f} | {verdict} |")
    total = sum(counts.values())
    print()
    print(f"{arguments.preset} against the best {arguments.baseline} per cell, paired t over "
          f"{'/'.join(str(n) for n in sorted(images))} images, |t| > {arguments.threshold:g}: "
          f"ahead in {counts['ahead']} of {total} cells, tie in {counts['tie']}, "
          f"behind in {counts['behind']}")


if __name__ == "__main__":
    main()
