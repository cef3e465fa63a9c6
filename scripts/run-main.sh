#!/usr/bin/env bash
# Installs the dependencies, builds the mapinverse tool, and runs the main job: four
# Fashion-MNIST test images restored under each of the paper's six masks by MAP-GA, its
# three variants and PGDM with the shipped models; prints the table (PSNR / SSIM /
# Frechet distance) and writes out/main/figure_noiseless.png (rows: masks; columns:
# original, masked, then the solvers) with results.json and tables.md.
# Usage: scripts/run-main.sh [build-folder]   (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}

scripts/install-deps.sh
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
# The compiler of scripts/test.sh's first suite, so that both scripts share the folder.
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release "-DCMAKE_CXX_COMPILER=${MAPINVERSE_CXX:-clang++}" \
  "${launcher[@]}" >/dev/null
cmake --build "$build" -j2 --target mapinverse_cli
"$build/apps/mapinverse" --threads 2 bench --tables 1 --images 4 --time-steps 10 \
  --iterations 5 --pgdm-steps 50 --out out/main
