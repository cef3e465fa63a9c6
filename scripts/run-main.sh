#!/usr/bin/env bash
# Installs the dependencies, builds MapInverse, and runs the main demonstration:
# Fashion-MNIST test images restored under the paper's six masks, a PSNR/SSIM table,
# and a figure grid in out/.
# Usage: scripts/run-main.sh [build-folder]   (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}

scripts/install-deps.sh
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release "${launcher[@]}" >/dev/null
cmake --build "$build" -j2 --target inpaint_demo
"$build/examples/inpaint_demo" --images 4 --out out
