#!/usr/bin/env bash
# Installs the dependencies, builds benchmark_problem_matrix and runs the solver x problem
# matrix on 20 Fashion-MNIST test images (300-319: outside the tuning images 9000-9031 and
# the report sets 0-49 and 100-111), writing docs/results/problem_matrix/ (results.jsonl,
# tables.md). It resumes: cells already in results.jsonl are kept, so a stopped run
# continues where it stopped. Extra arguments go to the program (e.g. --solvers ddrm pgdm).
# Usage: scripts/run-problem-matrix.sh [build-folder] [-- program arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
build=build
if [ $# -gt 0 ] && [ "$1" != "--" ]; then build=$1; shift; fi
[ "${1:-}" = "--" ] && shift

scripts/install-deps.sh
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release "-DCMAKE_CXX_COMPILER=${MAPINVERSE_CXX:-clang++}" \
  "${launcher[@]}" >/dev/null
cmake --build "$build" -j2 --target benchmark_problem_matrix
start=$(date +%s)
OMP_NUM_THREADS=2 "$build/benchmarks/benchmark_problem_matrix" --threads 2 \
  --out docs/results/problem_matrix "$@"
echo "problem matrix: $(( $(date +%s) - start )) s"
