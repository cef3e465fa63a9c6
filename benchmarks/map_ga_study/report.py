#!/usr/bin/env python3
"""Tables and the quality-against-calls plot of benchmark_map_ga_study results.

    report.py RESULTS.jsonl [...] [--markdown FILE] [--plot FILE] [--images 0:50]

Each configuration becomes a row (mean PSNR in dB per mask and noise level, network
calls per image); --plot draws PSNR against calls per image, one panel per
(mask, sigma_y), one marker per configuration, coloured by family (the configuration
name's prefix up to the first '-': e.g. "pgdm-50" is in family "pgdm").
"""

import argparse
import collections
import json
import sys


def read_cells(paths, images):
    cells = {}
    for path in paths:
        with open(path, encoding="utf-8") as stream:
            for line in stream:
                if not line.strip():
                    continue
                cell = json.loads(line)
                if images and cell["images"] != images:
                    continue
                cells[(cell["config"], cell["mask"], cell["sigma_y"])] = cell
    return cells


def markdown_table(cells):
    columns = sorted({(mask, sigma) for _, mask, sigma in cells}, key=lambda c: (c[1], c[0]))
    configs = list(dict.fromkeys(name for name, _, _ in cells))
    header = "| configuration | NFE / image | " + " | ".join(
        f"{mask} σ={sigma:g}" for mask, sigma in columns) + " |"
    lines = [header, "|---|---:|" + "---:|" * len(columns)]
    for name in configs:
        row = [cells.get((name, mask, sigma)) for mask, sigma in columns]
        calls = max(cell["nfe_per_image"] for cell in row if cell)
        values = [f"{cell['psnr_db']:.2f}" if cell else "–" for cell in row]
        lines.append(f"| {name} | {calls:.0f} | " + " | ".join(values) + " |")
    return "\n".join(lines) + "\n"


def matched_budget_table(cells, preset, baseline):
    """Per (mask, sigma_y): the preset against the baseline family's best step count."""
    columns = sorted({(mask, sigma) for _, mask, sigma in cells}, key=lambda c: (c[1], c[0]))
    lines = [f"| mask | σ_y | {preset} dB (NFE) | best {baseline} dB (NFE) | NFE ratio | "
             f"{preset} ≥ best {baseline} at ≤ 2× its NFE |",
             "|---|---:|---:|---:|---:|---|"]
    for mask, sigma in columns:
        ours = cells.get((preset, mask, sigma))
        rivals = [cell for (name, m, s), cell in cells.items()
                  if name.startswith(baseline + "-") and (m, s) == (mask, sigma)]
        if not ours or not rivals:
            continue
        best = max(rivals, key=lambda cell: cell["psnr_db"])
        ratio = ours["nfe_per_image"] / best["nfe_per_image"]
        verdict = "yes" if ours["psnr_db"] >= best["psnr_db"] and ratio <= 2.0 else "no"
        lines.append(f"| {mask} | {sigma:g} | {ours['psnr_db']:.2f} ({ours['nfe_per_image']:.0f}) | "
                     f"{best['psnr_db']:.2f} ({best['nfe_per_image']:.0f}, {best['config']}) | "
                     f"{ratio:.2f} | {verdict} |")
    return "\n".join(lines) + "\n"


def plot(cells, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    panels = sorted({(mask, sigma) for _, mask, sigma in cells}, key=lambda c: (c[1], c[0]))
    columns = min(3, len(panels))
    rows = (len(panels) + columns - 1) // columns
    figure, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 3.4 * rows), squeeze=False)
    families = sorted({name.split("-")[0] for name, _, _ in cells})
    colours = {family: plt.cm.tab10(i % 10) for i, family in enumerate(families)}
    for index, (mask, sigma) in enumerate(panels):
        axis = axes[index // columns][index % columns]
        series = collections.defaultdict(list)
        for (name, cell_mask, cell_sigma), cell in cells.items():
            if (cell_mask, cell_sigma) == (mask, sigma):
                series[name.split("-")[0]].append((cell["nfe_per_image"], cell["psnr_db"]))
        for family, points in sorted(series.items()):
            best = {}
            for calls, value in points:
                best[calls] = max(value, best.get(calls, value))
            points = sorted(best.items())
            axis.plot([p[0] for p in points], [p[1] for p in points], "o-", ms=4,
                      color=colours[family], label=family)
        axis.set_xscale("log")
        axis.xaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
        axis.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        axis.set_title(f"{mask}, σ_y = {sigma:g}")
        axis.set_xlabel("network calls per image")
        axis.set_ylabel("PSNR (dB)")
        axis.grid(True, which="both", alpha=0.3)
    for index in range(len(panels), rows * columns):
        axes[index // columns][index % columns].axis("off")
    axes[0][0].legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="+")
    parser.add_argument("--markdown", help="write the table here (default: print it)")
    parser.add_argument("--plot", help="write the plot (PNG) here")
    parser.add_argument("--images", help="only cells of this image range, e.g. 0:50")
    parser.add_argument("--matched", nargs=2, metavar=("PRESET", "BASELINE"),
                        help="also print PRESET against the best of the configurations "
                             "named BASELINE-* (e.g. tuned pgdm)")
    arguments = parser.parse_args()
    cells = read_cells(arguments.results, arguments.images)
    if not cells:
        sys.exit("report.py: no results in " + ", ".join(arguments.results))
    table = markdown_table(cells)
    if arguments.markdown:
        with open(arguments.markdown, "w", encoding="utf-8") as stream:
            stream.write(table)
    else:
        print(table, end="")
    if arguments.matched:
        print(matched_budget_table(cells, *arguments.matched), end="")
    if arguments.plot:
        plot(cells, arguments.plot)


if __name__ == "__main__":
    main()
