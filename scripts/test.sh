#!/usr/bin/env bash
# Installs the dependencies, builds MapInverse with its tests, and runs them with CTest.
# Usage: scripts/test.sh [build-folder]   (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}

scripts/install-deps.sh
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release "${launcher[@]}"
cmake --build "$build" -j2
OMP_NUM_THREADS=1 ctest --test-dir "$build" --output-on-failure -j2
