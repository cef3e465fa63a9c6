#!/usr/bin/env bash
# Builds the library, the tool and the tests with AddressSanitizer and
# UndefinedBehaviorSanitizer and runs the test suite under them.
# Usage: scripts/sanitize.sh [build-folder]   (default: build-asan)
#
# Settings, and why:
# - detect_leaks=0: LibTorch allocates process-lifetime state in static initialisers
#   and never frees it; leak reports would be about LibTorch, not this code.
# - The installed-package test is left out: it configures and builds a second project,
#   which adds nothing under the sanitizers.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-asan}

scripts/install-deps.sh
flags="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined -g -O1"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS=$flags" \
  "-DCMAKE_EXE_LINKER_FLAGS=-fsanitize=address,undefined" -DMAPINVERSE_BUILD_BENCHMARKS=OFF \
  >/dev/null
cmake --build "$build" -j2
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir "$build" -j2 --output-on-failure -E "^package:"
