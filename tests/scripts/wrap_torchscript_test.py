#!/usr/bin/env python3
"""Round trip of scripts/wrap_torchscript.py: wrap toy networks, reload them in Python,
then load them through the C++ TorchScript backend (the models tests' hidden
[.wrapped] case) and compare with the original network's output.

usage: wrap_torchscript_test.py SOURCE_DIR MODELS_TESTS_EXECUTABLE WORK_DIR
Exit code 77 (skipped) when Python has no torch."""

import os
import shutil
import subprocess
import sys

try:
    import torch
except ImportError:
    print("python3-torch is not installed: skipped")
    sys.exit(77)

source_dir, models_tests, work_dir = sys.argv[1:4]
tool = os.path.join(source_dir, "scripts", "wrap_torchscript.py")
shutil.rmtree(work_dir, ignore_errors=True)
os.makedirs(work_dir)
environment = dict(os.environ, PYTHONPATH=os.path.join(source_dir, "tests", "scripts"))


def wrap(*arguments):
    return subprocess.run([sys.executable, tool, *arguments], env=environment, cwd=work_dir,
                          capture_output=True, text=True)


def expect(condition, message):
    if not condition:
        print("FAILED:", message)
        sys.exit(1)


edm = os.path.join(work_dir, "edm.pt")
result = wrap("--factory", "toy_networks:edm_style", "--form", "ready", "--call", "x,sigma,class_labels",
              "--num-classes", "10", "--shape", "1,8,8", "--out", edm)
expect(result.returncode == 0, f"wrapping the EDM-style network: {result.stderr}")
print(result.stdout.strip())
schema = torch.jit.load(edm).forward.schema
expect(len(schema.arguments) == 4, f"expected forward(self, x, sigma, labels), got {schema}")

openai = os.path.join(work_dir, "openai.pt")
result = wrap("--factory", "toy_networks:openai_style", "--form", "openai", "--call", "x,timesteps",
              "--shape", "1,8,8", "--out", openai)
expect(result.returncode == 0, f"wrapping the OpenAI-style network: {result.stderr}")
expect(len(torch.jit.load(openai).forward.schema.arguments) == 3, "expected forward(self, x, sigma)")

# Refusals: an existing output without --force, a factory that is not a module.
result = wrap("--factory", "toy_networks:openai_style", "--form", "openai", "--out", openai)
expect(result.returncode != 0 and "exists" in result.stderr, "overwrote without --force")
result = wrap("--factory", "toy_networks:not_a_module", "--form", "edm",
              "--out", os.path.join(work_dir, "x.pt"))
expect(result.returncode != 0 and "not a torch.nn.Module" in result.stderr,
       f"accepted a factory returning an int: {result.stderr}")
expect(not os.path.exists(os.path.join(work_dir, "x.pt")), "left a file behind after an error")

# The C++ side: the same inputs the hidden Catch case builds.
x = torch.linspace(-1.0, 1.0, 2 * 64).view(2, 1, 8, 8)
sigma = torch.tensor([0.5, 2.0])
labels = torch.tensor([1, 7])
with torch.no_grad():
    expected = __import__("toy_networks").edm_style()(x, sigma, labels)
expected_file = os.path.join(work_dir, "expected.txt")
with open(expected_file, "w") as out:
    out.write(" ".join(f"{value:.9g}" for value in expected.flatten().tolist()))
inputs_file = os.path.join(work_dir, "inputs.txt")
with open(inputs_file, "w") as out:
    out.write("0.5 2.0\n1 7\n")
# The file records form=ready: the C++ side loads it without being told.
run = subprocess.run([models_tests, "[.wrapped]"], capture_output=True, text=True,
                     env=dict(os.environ, MAPINVERSE_WRAPPED_MODEL=edm,
                              MAPINVERSE_WRAPPED_ROLE="denoiser",
                              MAPINVERSE_WRAPPED_INPUTS=inputs_file,
                              MAPINVERSE_WRAPPED_EXPECTED=expected_file))
print(run.stdout.strip().splitlines()[-1] if run.stdout.strip() else run.stderr)
expect(run.returncode == 0, f"the C++ loader disagrees:\n{run.stdout}\n{run.stderr}")
print("wrap_torchscript round trip: passed")
