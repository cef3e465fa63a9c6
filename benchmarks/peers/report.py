"""Tables (markdown) and the quality-per-network-call figure of the peer benchmark."""

import json
import os
from collections import defaultdict

NAMES = {"dps": "DPS", "pgdm": "PGDM", "ddrm": "DDRM", "diffpir": "DiffPIR",
         "map-ga": "MAP-GA", "map-ga-pgdm": "MAP-GA-PGDM", "daps": "DAPS"}
LIBRARIES = {"mapinverse": "MapInverse", "deepinv": "deepinv"}


def label(entry):
    return f"{LIBRARIES[entry['library']]} {NAMES[entry['solver']]}"


def mean(values):
    values = list(values)
    return sum(values) / len(values)


def quality_tables(scored, masks, sigmas):
    entries = scored["entries"]
    lines = []
    for sigma in sigmas:
        lines.append(f"\n### sigma_y = {sigma:g}: PSNR (dB) per mask, mean ± std over the images\n")
        lines.append("| solver | " + " | ".join(masks) +
                     " | mean PSNR | mean SSIM | FD | calls/image | s/image |")
        lines.append("|---" * (len(masks) + 6) + "|")
        rows = defaultdict(dict)
        for e in entries:
            if e["sigma_y"] == sigma:
                rows[label(e)][e["cell"].split("/")[0]] = e
        order = sorted(rows, key=lambda k: -mean(e["psnr"] for e in rows[k].values()))
        for key in order:
            cells = rows[key]
            first = next(iter(cells.values()))
            fd_key = f"{first['library']}|{first['solver']}|{sigma:g}"
            fd = scored["frechet"].get(fd_key, float("nan"))
            psnrs = [f"{cells[m]['psnr']:.2f} ± {cells[m]['psnr_std']:.2f}" if m in cells else "–"
                     for m in masks]
            calls = mean(e["forwards_per_image"] + e["vjps_per_image"] for e in cells.values())
            lines.append(f"| {key} | " + " | ".join(psnrs) +
                         f" | {mean(e['psnr'] for e in cells.values()):.2f}"
                         f" | {mean(e['ssim'] for e in cells.values()):.3f} | {fd:.1f}"
                         f" | {calls:.0f} | {mean(e['seconds_per_image'] for e in cells.values()):.3f} |")
    return lines


def disagreement_table(scored):
    """Same-named solvers: PSNR difference per cell against the spread across images."""
    by_key = {(e["library"], e["solver"], e["cell"]): e for e in scored["entries"]}
    lines = ["\n### Same-named solvers: MapInverse minus deepinv, PSNR (dB) per cell\n",
             "A difference is flagged (**bold**) where it exceeds the larger of the two "
             "standard deviations across images.\n",
             "| solver | cell | MapInverse | deepinv | difference | spread |", "|---|---|---|---|---|---|"]
    for (library, solver, cell), ours in sorted(by_key.items()):
        if library != "mapinverse" or ("deepinv", solver, cell) not in by_key:
            continue
        theirs = by_key[("deepinv", solver, cell)]
        difference = ours["psnr"] - theirs["psnr"]
        spread = max(ours["psnr_std"], theirs["psnr_std"])
        text = f"**{difference:+.2f}**" if abs(difference) > spread else f"{difference:+.2f}"
        lines.append(f"| {NAMES[solver]} | {cell} | {ours['psnr']:.2f} | {theirs['psnr']:.2f} "
                     f"| {text} | {spread:.2f} |")
    return lines


def speed_table(speed_entries):
    lines = ["\n### Speed: seconds per image (box50, sigma_y = 0.1, one thread)\n",
             "| solver | batch | MapInverse s/image | deepinv s/image | deepinv / MapInverse "
             "| calls/image (MapInverse, deepinv) |", "|---|---|---|---|---|---|"]
    table = defaultdict(dict)
    for e in speed_entries:
        table[(e["solver"], e["batch"])][e["library"]] = e

    def seconds(e):
        return f"{e['seconds_per_image']:.3f}" if e else "–"

    def calls(e):
        return f"{e['forwards_per_image'] + e['vjps_per_image']:.0f}" if e else "–"

    for (solver, batch), sides in sorted(table.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        ours, theirs = sides.get("mapinverse"), sides.get("deepinv")
        ratio = (f"{theirs['seconds_per_image'] / ours['seconds_per_image']:.2f}"
                 if ours and theirs else "–")
        lines.append(f"| {NAMES[solver]} | {batch} | {seconds(ours)} | {seconds(theirs)} | "
                     f"{ratio} | {calls(ours)}, {calls(theirs)} |")
    return lines


def plot(path, scored, sigmas):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    figure, axes = plt.subplots(1, len(sigmas), figsize=(6 * len(sigmas), 4.5), squeeze=False)
    for axis, sigma in zip(axes[0], sigmas):
        points = defaultdict(list)
        for e in scored["entries"]:
            if e["sigma_y"] == sigma:
                points[(e["library"], e["solver"])].append(e)
        for (library, solver), entries in sorted(points.items()):
            calls = mean(e["forwards_per_image"] + e["vjps_per_image"] for e in entries)
            psnr = mean(e["psnr"] for e in entries)
            marker = "o" if library == "mapinverse" else "s"
            colour = "tab:blue" if library == "mapinverse" else "tab:orange"
            axis.scatter([calls], [psnr], marker=marker, color=colour)
            axis.annotate(NAMES[solver], (calls, psnr), textcoords="offset points",
                          xytext=(4, 3), fontsize=8, color=colour)
        axis.set_xscale("log")
        axis.set_xlabel("network calls per image (forwards + VJPs)")
        axis.set_ylabel("PSNR (dB), mean over the masks")
        axis.set_title(f"sigma_y = {sigma:g} (circles: MapInverse, squares: deepinv)")
        axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def write(folder, run, scored, speed_entries):
    with open(os.path.join(folder, "results.json"), "w") as f:
        json.dump({"run": run, "quality": scored, "speed": speed_entries}, f, indent=1)
    lines = [f"# Peer benchmark: MapInverse and deepinv {run['deepinv']}\n",
             f"{run['images_per_cell']} Fashion-MNIST test images per cell, masks "
             f"{', '.join(run['masks'])}, sigma_y in {run['sigmas']}; torch {run['torch']}, "
             f"1 thread; {run['seconds']:.0f} s in this run"
             + (" (speed re-measured alone, the quality restorations kept from the full run)"
                if run.get("speed_only") else "")
             + ". Budgets (network evaluations of "
             f"the reverse process) for both libraries: "
             + ", ".join(f"{NAMES[k]} {v}" for k, v in run["shared_budgets"].items())
             + f"; MapInverse only: {', '.join(run['own_budgets'])}."]
    lines += quality_tables(scored, run["masks"], run["sigmas"])
    lines += disagreement_table(scored)
    lines += speed_table(speed_entries)
    with open(os.path.join(folder, "tables.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    plot(os.path.join(folder, "quality_per_call.png"), scored, run["sigmas"])
