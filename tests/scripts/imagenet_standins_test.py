#!/usr/bin/env python3
"""The seed paper's ImageNet-64 route end to end on stand-in networks
(tests/scripts/imagenet_standins.py): scripts/wrap_torchscript.py wraps an EDM-like
denoiser (one-hot labels), an OpenAI-like consistency model and an OpenAI-like
EDM-trained denoiser (250 ln t, index labels); the C++ loader, reading the form each
file records, reproduces each convention's formula computed here in PyTorch; then
`mapinverse restore` restores a 64x64 RGB image with MAP-GA, MAP-GA-PGDM, PGDM and DPS
(a few steps each) and a labelled folder in the batch form.

usage: imagenet_standins_test.py SOURCE_DIR MODELS_TESTS MAPINVERSE_CLI WORK_DIR
Exit code 77 (skipped) when Python has no torch."""

import json
import math
import os
import shutil
import struct
import subprocess
import sys
import zlib

try:
    import torch
except ImportError:
    print("python3-torch is not installed: skipped")
    sys.exit(77)

source_dir, models_tests, cli, work_dir = sys.argv[1:5]
sys.path[:0] = [os.path.join(source_dir, "scripts"), os.path.join(source_dir, "tests", "scripts")]
import imagenet_standins as standins  # noqa: E402
import wrap_torchscript  # noqa: E402

shutil.rmtree(work_dir, ignore_errors=True)
os.makedirs(work_dir)
failures = []


def expect(condition, message):
    if not condition:
        print("FAILED:", message)
        failures.append(message)


def wrap(factory, *arguments):
    """Runs the wrapper in this process; returns its SystemExit message or None."""
    try:
        wrap_torchscript.main(["--factory", f"imagenet_standins:{factory}", "--shape", "3,64,64",
                               "--num-classes", "1000", *arguments])
    except SystemExit as error:
        return str(error)
    return None


def path(name):
    return os.path.join(work_dir, name)


# --- Wrapping: the recipes of docs/paper.md, and what they refuse. ---
edm, cm, openai_edm = path("edm_denoiser.pt"), path("cm_consistency.pt"), path("openai_edm.pt")
message = wrap("edm_precond", "--form", "ready", "--call", "x,sigma,class_labels",
               "--out", path("refused.pt"))
expect(message is not None and "1000" in message,
       f"EDMPrecond with index labels should fail in its reshape: {message}")
message = wrap("edm_precond", "--form", "ready", "--call", "x,sigma,class_labels",
               "--labels", "one-hot", "--no-trace-fixes", "--out", path("refused.pt"))
expect(message is not None and "conv2d" in message,
       f"without the trace fixes, the shape-computed padding should fail: {message}")
message = wrap("consistency_unet_flash", "--form", "openai", "--call", "x,timesteps,y",
               "--out", path("refused.pt"))
expect(message is not None and "attention_type='legacy'" in message,
       f"flash attention should be refused with what to change: {message}")
expect(not os.path.exists(path("refused.pt")), "a refused wrap left a file behind")
for factory, form, call, labels, out in [
        ("edm_precond", "ready", "x,sigma,class_labels", "one-hot", edm),
        ("consistency_unet", "openai", "x,timesteps,y", "index", cm),
        ("openai_edm_unet", "openai", "x,timesteps,y", "index", openai_edm)]:
    message = wrap(factory, "--form", form, "--call", call, "--labels", labels, "--out", out)
    expect(message is None, f"wrapping {factory}: {message}")
if failures:
    sys.exit(1)

# --- The three conventions: C++ (form from the file's record) against the formulas. ---
SD, EPS = 0.5, 0.002
x = torch.linspace(-1.0, 1.0, 2 * 3 * 64 * 64).view(2, 3, 64, 64)
sigma = torch.tensor([0.05, 3.0])
labels = torch.tensor([7, 981])


def edm_scalings(s):
    return SD ** 2 / (s ** 2 + SD ** 2), s * SD / (s ** 2 + SD ** 2).sqrt(), \
        1 / (s ** 2 + SD ** 2).sqrt()


def boundary_scalings(t):
    return SD ** 2 / ((t - EPS) ** 2 + SD ** 2), (t - EPS) * SD / (t ** 2 + SD ** 2).sqrt(), \
        1 / (t ** 2 + SD ** 2).sqrt()


def preconditioned(network, scalings, noise_input):
    s = sigma.view(-1, 1, 1, 1)
    c_skip, c_out, c_in = scalings(s)
    return c_skip * x + c_out * network(c_in * x, noise_input, labels)


with torch.no_grad():
    one_hot = torch.nn.functional.one_hot(labels, 1000).float()
    cases = {
        # EDMPrecond as it is: D(x, sigma, one-hot labels).
        "denoiser " + edm: standins.edm_precond()(x, sigma, one_hot),
        # Consistency model: boundary scalings, 250 ln t (consistency_models' denoise).
        "consistency " + cm: preconditioned(standins.consistency_unet(), boundary_scalings,
                                             250.0 * sigma.log()),
        # OpenAI's EDM-trained denoiser: EDM scalings, 250 ln sigma.
        "denoiser " + openai_edm: preconditioned(standins.openai_edm_unet(), edm_scalings,
                                                 250.0 * sigma.log()),
    }
for case, expected in cases.items():
    role, model = case.split(" ", 1)
    with open(path("inputs.txt"), "w") as out:
        out.write(" ".join(f"{v:.9g}" for v in sigma.tolist()) + "\n")
        out.write(" ".join(str(v) for v in labels.tolist()) + "\n")
    with open(path("expected.txt"), "w") as out:
        out.write(" ".join(f"{v:.9g}" for v in expected.flatten().tolist()))
    run = subprocess.run([models_tests, "[.wrapped]"], capture_output=True, text=True,
                         env=dict(os.environ, MAPINVERSE_WRAPPED_MODEL=model,
                                  MAPINVERSE_WRAPPED_ROLE=role,
                                  MAPINVERSE_WRAPPED_INPUTS=path("inputs.txt"),
                                  MAPINVERSE_WRAPPED_EXPECTED=path("expected.txt")))
    expect(run.returncode == 0, f"C++ {role} {os.path.basename(model)} disagrees with the "
                                f"formula:\n{run.stdout[-2000:]}\n{run.stderr[-2000:]}")
print(f"conventions: {len(cases)} files match their formulas in C++")


# --- The tool, 64x64 RGB end to end. ---
def write_png(file, pixels, width, height):
    """8-bit RGB PNG from rows of (r, g, b) bytes."""
    raw = b"".join(b"\0" + bytes(row) for row in pixels)

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data +
                struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    with open(file, "wb") as out:
        out.write(b"\x89PNG\r\n\x1a\n" +
                  chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)) +
                  chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def test_image(file, phase):
    pixels = [[int(127.5 + 120 * math.sin(0.1 * (i + 2 * j + 30 * c) + phase))
               for j in range(64) for c in range(3)] for i in range(64)]
    write_png(file, pixels, 64, 64)


image = path("image.png")
test_image(image, 0.0)
PRIOR = ["--prior", "torchscript", "--denoiser", edm, "--consistency", cm, "--quiet"]
BUDGET = ["--time-steps", "2", "--iterations", "2", "--steps", "3"]


def restore(*arguments):
    return subprocess.run([cli, "restore", *arguments], capture_output=True, text=True)


# map-ga-d: the denoiser both without autograd (the prior term) and with it (as C).
for solver, sigma_y in [("map-ga", "0"), ("map-ga-d", "0"), ("map-ga-pgdm", "0.05"),
                        ("pgdm", "0.05"), ("dps", "0.05")]:
    report = path(f"{solver}.json")
    run = restore(*PRIOR, *BUDGET, "--input", image, "--class-label", "3", "--solver", solver,
                  "--sigma-y", sigma_y, "--mask", "box50", "-o", path(f"{solver}.png"),
                  "--report", report)
    expect(run.returncode == 0, f"restore --solver {solver}: {run.stderr[-2000:]}")
    if run.returncode == 0:
        facts = json.load(open(report))
        calls = facts["network_forwards"] + facts["network_vjps"]
        expect(calls > 0 and math.isfinite(facts["psnr_db"]),
               f"{solver}: {calls} network calls, PSNR {facts['psnr_db']}")
        expect(facts["class_labels"] == [3], f"{solver}: report labels {facts['class_labels']}")
        print(f"restore --solver {solver}: {calls} network calls, "
              f"PSNR {facts['psnr_db']:.2f} dB, {facts['seconds']:.2f} s")

# One file per form: OpenAI's EDM-trained denoiser with PGDM.
run = restore("--prior", "torchscript", "--denoiser", openai_edm, "--quiet", *BUDGET, "--input",
              image, "--class-label", "3", "--solver", "pgdm", "--sigma-y", "0.05",
              "-o", path("openai_edm.png"))
expect(run.returncode == 0, f"PGDM with the OpenAI EDM-trained stand-in: {run.stderr[-2000:]}")

# The batch form: a folder of PNGs and a labels file.
folder = path("images")
os.makedirs(folder)
for index, phase in enumerate([0.3, 1.1, 2.0]):
    test_image(os.path.join(folder, f"val_{index:05d}.png"), phase)
with open(path("labels.txt"), "w") as out:
    out.write("# NAME LABEL\nval_00000.png 1\nval_00001.png,500\nval_00002 999\n")
run = restore(*PRIOR, *BUDGET, "--input-dir", folder, "--labels", path("labels.txt"),
              "--solver", "map-ga", "--batch", "2", "--output-dir", path("restored"))
expect(run.returncode == 0, f"restore --input-dir --labels: {run.stderr[-2000:]}")
if run.returncode == 0:
    entries = json.load(open(path("restored/report.json")))["per_image"]
    expect([e["class_label"] for e in entries] == [1, 500, 999],
           f"labels in the batch report: {entries}")

# Refusals: no label for a class-conditional prior, a label out of range, a missing name.
for arguments, words in [
        (["--input", image, "-o", path("x.png")], "class-conditional (1000 classes)"),
        (["--input", image, "--class-label", "1000", "-o", path("x.png")], "[0, 1000)"),
]:
    run = restore(*PRIOR, *BUDGET, "--solver", "map-ga", *arguments)
    expect(run.returncode != 0 and words in run.stderr,
           f"expected an error naming {words!r}: {run.stderr[-1000:]}")
with open(path("partial_labels.txt"), "w") as out:
    out.write("val_00000.png 1\n")
run = restore(*PRIOR, *BUDGET, "--input-dir", folder, "--labels", path("partial_labels.txt"),
              "--solver", "map-ga", "--output-dir", path("never"))
expect(run.returncode != 0 and "no label for the image val_00001" in run.stderr,
       f"a labels file without every image: {run.stderr[-1000:]}")
expect(not os.path.exists(path("x.png")) and not os.path.exists(path("never")),
       "a refused run left output behind")

# bench on the labelled folder: Tables 1 and 3 on one mask, FID-style Frechet distance
# and LPIPS from stand-in TorchScript networks of the user's.
class MeanColourFeatures(torch.nn.Module):
    def forward(self, x):
        return torch.cat([x.mean(dim=(2, 3)), x.std(dim=(2, 3))], dim=1)


class MeanSquaredDistance(torch.nn.Module):
    def forward(self, x, y):
        return (x - y).square().mean(dim=(1, 2, 3))


torch.jit.save(torch.jit.script(MeanColourFeatures()), path("features.pt"))
torch.jit.save(torch.jit.script(MeanSquaredDistance()), path("lpips.pt"))
bench_out = path("bench")
run = subprocess.run([cli, "bench", *PRIOR, "--input-dir", folder, "--labels", path("labels.txt"),
                      "--features", path("features.pt"), "--lpips", path("lpips.pt"),
                      "--images", "2", "--time-steps", "2", "--iterations", "1",
                      "--pgdm-steps", "3", "--tables", "1", "3", "--sigmas", "0.1",
                      "--masks", "box50", "--out", bench_out], capture_output=True, text=True)
expect(run.returncode == 0, f"bench --input-dir: {run.stderr[-2000:]}")
if run.returncode == 0:
    results = json.load(open(os.path.join(bench_out, "results.json")))
    cells = [row["masks"]["box50"] for table in results["tables"] for row in table["rows"]]
    expect(len(cells) == 8 and all(cell["lpips"] is not None and cell["frechet_distance"]
                                   is not None for cell in cells),
           f"bench cells: {cells}")
    for figure in ["figure_noiseless.png", "figure_noisy_sigma0.1.png"]:
        expect(os.path.getsize(os.path.join(bench_out, figure)) > 0, f"no {figure}")
    print(f"bench --input-dir: {len(cells)} cells, e.g. {results['tables'][0]['rows'][-1]}")

if failures:
    sys.exit(1)
print("ImageNet-64 stand-ins end to end: passed")
