#!/usr/bin/env bash
# Builds MapInverse with a sanitizer and runs tests under it.
# Usage: scripts/sanitize.sh [MODE] [BUILD]
#   address (default, in build-asan): AddressSanitizer with LeakSanitizer, and
#     UndefinedBehaviorSanitizer; the whole test suite.
#   thread (in build-tsan): ThreadSanitizer; the tests that share one object between
#     threads (Catch2 tag [threads]) in the core, operators, models and solvers tests.
# MAPINVERSE_SANITIZE_TARGETS (e.g. "solvers_tests mapinverse_cli") builds only those
# targets, and MAPINVERSE_SANITIZE_TESTS (a CTest regular expression) runs only the
# matching tests: sanitized builds are slow, a quick run builds what it runs.
#
# Settings, and why:
# - Leak detection is on. LibTorch allocates process-lifetime state (operator registry,
#   thread pools, per-thread autograd and allocator state) that it never frees, but it is
#   still reachable at exit and has not been reported. A suppression in
#   scripts/sanitizers/lsan.supp may name such an allocation only by frames inside
#   LibTorch's libraries, with the reason; a leak whose allocation comes from
#   MapInverse's own code is reported and fails the test.
# - ThreadSanitizer sees the locks of uninstrumented LibTorch (its pthread calls are
#   intercepted) but not OpenMP's barriers, so the threaded tests run with one intra-op
#   thread (OMP_NUM_THREADS=1). scripts/sanitizers/tsan.supp says why each suppression
#   is there (none so far).
# - The installed-package test is left out: it configures and builds a second project,
#   which adds nothing under the sanitizers.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=address
case ${1:-} in
  address | thread) mode=$1; shift ;;
esac
supp=$PWD/scripts/sanitizers

scripts/install-deps.sh
if [ "$mode" = thread ]; then
  build=${1:-build-tsan}
  flags="-fsanitize=thread -fno-omit-frame-pointer -g1 -O1"
  link=-fsanitize=thread
  targets=${MAPINVERSE_SANITIZE_TARGETS:-core_tests operators_tests models_tests solvers_tests}
else
  build=${1:-build-asan}
  flags="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined -g -O1"
  link=-fsanitize=address,undefined
  targets=${MAPINVERSE_SANITIZE_TARGETS:-all}
fi
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS=$flags" \
  "-DCMAKE_EXE_LINKER_FLAGS=$link" -DMAPINVERSE_BUILD_BENCHMARKS=OFF "${launcher[@]}" >/dev/null
# The sanitizers' settings hold for the build too: it runs the test programs to list
# their tests (catch_discover_tests), and a leak report there would fail the build.
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$supp/tsan.supp"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export LSAN_OPTIONS="suppressions=$supp/lsan.supp:print_suppressions=1"
# shellcheck disable=SC2086
cmake --build "$build" -j2 --target $targets

if [ "$mode" = thread ]; then
  export OMP_NUM_THREADS=1
  status=0
  for target in $targets; do
    echo "== $target [threads] under ThreadSanitizer"
    "$build/tests/$target" "[threads]" || status=1
  done
  exit $status
fi
ctest --test-dir "$build" -j2 --output-on-failure -E "^package:" \
  ${MAPINVERSE_SANITIZE_TESTS:+-R "$MAPINVERSE_SANITIZE_TESTS"}
